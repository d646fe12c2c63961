"""Following visitors: which visitor each tracked person is, across track ids and cameras.

A camera's tracker gives each person a track id of its own; the presence model already joins a
track that the tracker lost and found again on the same spot (`follows_track_id`). The
`Follower` goes further, with two clues and nothing else:

- **where and when**: a visitor who left one camera's view can appear next in that camera again
  (within `return_window_s`) or in an adjacent one (`SiteMap.adjacent`) within the time a slow
  walk takes between the two views (`walk_m / slow_walk_m_s + transit_slack_s`, at most
  `max_transit_s`); never in a camera far away, never in two views at once;
- **appearance**: the colours of their box (`console.behaviour.appearance`), which must be at
  least `handover_min_similarity` alike (`return_min_similarity` for the same camera, where a
  lookalike is more likely to be someone else coming by), and each part (upper and lower body)
  at least `min_part_similarity` alike: the same coat over other trousers is someone else, however
  alike the coats (without it, visitors who shared one colour of clothes were joined into one
  across cameras, and their visits added up to "came back 4 times").

Each new track is matched to the best candidate (similarity, less a little for a long gap); each
candidate takes at most one track. A track that matches nobody is a new visitor; for its first
`relink_s` seconds it may still turn out to be a known one once its box is seen whole (a person
walking into the view shows half a box at first), and is then merged into them.

A person with no appearance (a box too small to measure) is matched on place and time alone,
and only when exactly one visitor could be them. Visitors are forgotten `forget_after_s` after
they were last seen; their appearance goes with them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from console.behaviour.appearance import Vector, part_similarities_many
from console.behaviour.site_map import SiteMap
from console.behaviour.visitors import Visitor
from console.presence import CameraPresence

log = logging.getLogger(__name__)

__all__ = ["FollowTuning", "Follower", "HandOver"]


@dataclass(frozen=True, slots=True)
class FollowTuning:
    handover_min_similarity: float = 0.6
    min_part_similarity: float = 0.4  # each of upper and lower body (one alike part is not enough)
    return_min_similarity: float = 0.85
    return_window_s: float = 120.0
    slow_walk_m_s: float = 0.5
    transit_slack_s: float = 15.0
    max_transit_s: float = 120.0
    unknown_walk_s: float = 60.0
    relink_s: float = 3.0
    gap_penalty: float = 0.15
    visible_elsewhere_s: float = 1.0
    max_visitors: int = 5000


@dataclass(frozen=True, slots=True)
class HandOver:
    """A track joined to a visitor seen before (for the benchmark and the log)."""

    camera_id: str
    track_id: int
    visitor_id: str
    from_camera: str | None
    gap_s: float
    similarity: float | None


@dataclass(slots=True)
class _Born:
    camera_id: str
    track_id: int
    at_s: float


@dataclass(frozen=True, slots=True)
class _Gate:
    """A visitor who could be a new track: where they were last seen, how long ago, the time
    window they had to get here and the similarity their look must then reach."""

    came_from: str
    gap: float
    window: float
    least: float
    same_view: bool


@dataclass
class Follower:
    plan: SiteMap
    tuning: FollowTuning = field(default_factory=FollowTuning)
    visitors: dict[str, Visitor] = field(default_factory=dict)
    _tracks: dict[str, dict[int, str]] = field(default_factory=dict)  # camera -> track -> id
    _born: dict[str, _Born] = field(default_factory=dict)  # visitors a new track made
    _count: int = 0
    handovers: list[HandOver] = field(default_factory=list)  # the latest, for the benchmark
    keep_handovers: int = 0  # how many to keep (0: none)

    def visitor_of(self, camera_id: str, track_id: int) -> Visitor | None:
        visitor_id = self._tracks.get(camera_id, {}).get(track_id)
        return self.visitors.get(visitor_id) if visitor_id is not None else None

    def link(
        self, camera: CameraPresence, now_s: float, looks: Mapping[int, Vector | None]
    ) -> dict[int, Visitor]:
        """Which visitor each visible person of this camera's look is (a new one when nobody
        fits). `looks`: the appearance of each track id at this look."""
        cam = camera.camera_id
        known = self._tracks.setdefault(cam, {})
        for track_id in [t for t in known if t not in camera.tracks]:
            del known[track_id]  # the presence model dropped it: its visitor goes on
        out: dict[int, Visitor] = {}
        fresh: list[tuple[int, str | None]] = []  # (track, provisional visitor or None)
        for track in camera.visitors:
            tid = track.track_id
            visitor_id = known.get(tid)
            if visitor_id is None and track.follows_track_id is not None:
                visitor_id = known.get(track.follows_track_id)
            visitor = self.visitors.get(visitor_id) if visitor_id is not None else None
            if visitor is None:
                fresh.append((tid, None))
                continue
            known[tid] = visitor.visitor_id
            out[tid] = visitor
            born = self._born.get(visitor.visitor_id)
            if (
                born is not None
                and born.track_id == tid
                and now_s - born.at_s <= self.tuning.relink_s
            ):
                fresh.append((tid, visitor.visitor_id))
        if fresh:
            self._match(cam, now_s, fresh, looks, out)
        return out

    def _match(
        self,
        cam: str,
        now_s: float,
        fresh: list[tuple[int, str | None]],
        looks: Mapping[int, Vector | None],
        out: dict[int, Visitor],
    ) -> None:
        here = {v.visitor_id for t, v in out.items() if t not in {f[0] for f in fresh}}
        provisional = {p for _, p in fresh if p is not None}
        candidates = [
            v
            for v in self.visitors.values()
            if v.visitor_id not in here and v.visitor_id not in provisional
        ]
        pairs: list[tuple[float, int, str, float, float | None, str | None]] = []
        # who could have walked here in time: the same for every fresh track of this camera
        reachable = [
            (visitor, gate)
            for visitor in candidates
            if (gate := self._gate(visitor, cam, now_s)) is not None
        ]
        for tid, _ in fresh:
            look = looks.get(tid)
            blind: list[tuple[float, str, float, str | None]] = []
            alike = part_similarities_many([v.appearance for v, _ in reachable], look)
            for (visitor, gate), parts in zip(reachable, alike, strict=True):
                fit = self._fit(gate, parts)
                if fit is None:
                    continue
                score, gap, sim, came_from = fit
                if sim is None:
                    blind.append((score, visitor.visitor_id, gap, came_from))
                else:
                    pairs.append((score, tid, visitor.visitor_id, gap, sim, came_from))
            if look is None and len(blind) == 1:
                score, visitor_id, gap, came_from = blind[0]
                pairs.append((score, tid, visitor_id, gap, None, came_from))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        taken_tracks: set[int] = set()
        taken_visitors: set[str] = set()
        prov_of = dict(fresh)
        known = self._tracks.setdefault(cam, {})
        for score, tid, visitor_id, gap, sim, came_from in pairs:
            if tid in taken_tracks or visitor_id in taken_visitors:
                continue
            taken_tracks.add(tid)
            taken_visitors.add(visitor_id)
            visitor = self.visitors[visitor_id]
            mine = prov_of.get(tid)
            if mine is not None and mine in self.visitors:
                self._merge(self.visitors[mine], visitor)
            known[tid] = visitor_id
            out[tid] = visitor
            log.debug(
                "camera %s track %d is %s (from %s, %.1f s, similarity %s, score %.2f)",
                cam,
                tid,
                visitor.label,
                came_from,
                gap,
                f"{sim:.2f}" if sim is not None else "unknown",
                score,
            )
            if self.keep_handovers:
                self.handovers.append(HandOver(cam, tid, visitor_id, came_from, gap, sim))
                del self.handovers[: -self.keep_handovers]
        for tid, mine in fresh:
            if tid in taken_tracks or mine is not None:
                continue
            visitor = self._new_visitor(now_s)
            self._born[visitor.visitor_id] = _Born(cam, tid, now_s)
            known[tid] = visitor.visitor_id
            out[tid] = visitor

    def _gate(self, visitor: Visitor, cam: str, now_s: float) -> _Gate | None:
        """Whether `visitor` could have walked onto `cam` by now, and what their look must
        then match; None when they cannot be here."""
        tuning = self.tuning
        came_from = visitor.last_camera
        if came_from is None:
            return None
        gap = now_s - visitor.last_s
        if gap < 0:
            return None
        if came_from != cam and gap <= tuning.visible_elsewhere_s:
            return None  # seen in another view right now: not here too
        if came_from == cam:
            window, least = tuning.return_window_s, tuning.return_min_similarity
        elif self.plan.adjacent(came_from, cam):
            walk = self.plan.walk_m(came_from, cam)
            window = (
                tuning.unknown_walk_s
                if walk is None
                else walk / tuning.slow_walk_m_s + tuning.transit_slack_s
            )
            window = min(tuning.max_transit_s, window)
            least = tuning.handover_min_similarity
        else:
            return None
        if gap > window:
            return None
        return _Gate(came_from, gap, window, least, same_view=came_from == cam)

    def _fit(
        self, gate: _Gate, parts: tuple[float, ...] | None
    ) -> tuple[float, float, float | None, str | None] | None:
        """(score, gap, similarity, camera they came from) when a reachable visitor whose look
        matches the new track's by `parts` could be that track; None when they cannot."""
        penalty = self.tuning.gap_penalty * gate.gap / max(gate.window, 1e-6)
        if parts is None:
            if gate.same_view:
                return None  # back in the same view, unseen: too likely someone else
            return 0.5 - penalty, gate.gap, None, gate.came_from
        sim = min(1.0, sum(parts) / len(parts))
        if sim < gate.least or min(parts) < self.tuning.min_part_similarity:
            return None
        return sim - penalty, gate.gap, sim, gate.came_from

    def _merge(self, provisional: Visitor, into: Visitor) -> None:
        into.absorb(provisional)
        for known in self._tracks.values():
            for tid, visitor_id in known.items():
                if visitor_id == provisional.visitor_id:
                    known[tid] = into.visitor_id
        del self.visitors[provisional.visitor_id]
        self._born.pop(provisional.visitor_id, None)

    def _new_visitor(self, now_s: float) -> Visitor:
        self._count += 1
        visitor = Visitor(f"visitor-{self._count}", self._count, now_s, now_s)
        self.visitors[visitor.visitor_id] = visitor
        if len(self.visitors) > self.tuning.max_visitors:
            oldest = min(self.visitors.values(), key=lambda v: v.last_s)
            log.warning("more than %d visitors in memory: %s forgotten early",
                        self.tuning.max_visitors, oldest.label)  # fmt: skip
            self.forget(oldest.visitor_id)
        return visitor

    def forget(self, visitor_id: str) -> Visitor | None:
        visitor = self.visitors.pop(visitor_id, None)
        self._born.pop(visitor_id, None)
        for known in self._tracks.values():
            for tid in [t for t, v in known.items() if v == visitor_id]:
                del known[tid]
        return visitor

    def expired(self, now_s: float, forget_after_s: float) -> list[Visitor]:
        """Forget visitors not seen for `forget_after_s`; returns them."""
        gone = [v for v in self.visitors.values() if now_s - v.last_s > forget_after_s]
        for visitor in gone:
            self.forget(visitor.visitor_id)
        for visitor_id in [b for b, born in self._born.items() if now_s - born.at_s > 60.0]:
            del self._born[visitor_id]
        return gone

    def clear(self) -> None:
        self.visitors.clear()
        self._tracks.clear()
        self._born.clear()
        self.handovers.clear()

    def forget_camera(self, camera_id: str) -> None:
        self._tracks.pop(camera_id, None)
