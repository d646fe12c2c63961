"""The behaviour model: learning normal, scoring visitors, the watch list and following.

    model = BehaviourModel(site, stored=store.read(behaviour_cells), audit=write_audit_row)
    advisories = model.observe(camera_presence, now, looks)   # each judged frame (core thread)
    model.tick(now)                                           # about once a second
    model.watch("cam-03", 12, "asked about the alarm wiring", "ana", now)
    model.view(now)   # what the window shows: watched visitors, their cameras, their paths

It runs on the core thread, after the presence model, for every judged frame: it links each
visible person to a visitor (`console.behaviour.follow`), updates the visitor's visit
(`console.behaviour.visitors`), learns what the visitor's visit teaches (unless an advisory about
them is open) into the baseline (`console.behaviour.baseline`), and scores them
(`console.behaviour.scoring`). A visitor whose score reaches the site's threshold goes on the
watch list (by the system, audited with the reason) and, on every frame that sees them while it
holds, is an `Advisory` that `console.rules.behaviour` turns into a low-severity finding.

Privacy: when the feature is off (the site file, or a supervisor at the console), nothing is
learned and no visitor is kept; switching it off forgets every visitor and the watch list at
once. Visitors (appearance, path, visit) are forgotten `forget_after_s` after they were last
seen, watch-list entries expire after `watch_for_s`, and the stored baseline holds histograms
only. Every addition to the watch list, removal, expiry and dismissal is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from console.behaviour.appearance import Vector
from console.behaviour.baseline import Baseline, places_of
from console.behaviour.follow import Follower, FollowTuning
from console.behaviour.scoring import Assessment, ClosingTimes, ScoreTuning, assess
from console.behaviour.site_map import SiteMap
from console.behaviour.visitors import PathPoint, Sample, Visitor, VisitTuning
from console.behaviour.watch_list import WatchEntry, WatchList
from console.presence import CameraPresence, TrackPresence
from console.site_file import Site
from console.store import SYSTEM_USER, CellRow

log = logging.getLogger(__name__)

__all__ = [
    "Advisory",
    "AuditSink",
    "BehaviourModel",
    "BehaviourRefused",
    "BehaviourView",
    "WatchedPerson",
]

AuditSink = Callable[[str, str, str, dict[str, object]], None]  # user, action, target, detail
ViewListener = Callable[["BehaviourView"], None]

FEEDBACK_WEIGHT = 3.0  # a visit dismissed as normal is learned this many times over
OCCUPANCY_EVERY_S = 10.0
ASSESS_EVERY_S = 1.0
WATCHED_LOOK_S = 5.0  # a room counts as watched while a camera of it looked this recently


class BehaviourRefused(ValueError):
    """The model cannot do what was asked; the message says why, in words."""


@dataclass(frozen=True, slots=True)
class Advisory:
    """A visitor above the threshold, seen on this frame: what the rule reports."""

    assessment: Assessment
    track: TrackPresence
    visitor_id: str
    label: str
    room_id: str | None


@dataclass(frozen=True, slots=True)
class WatchedPerson:
    visitor_id: str
    label: str
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    cameras_now: tuple[str, ...]
    tracks_now: tuple[tuple[str, int], ...]
    path: tuple[PathPoint, ...]
    advisory: str | None  # the open advisory's one line, when the system flagged them
    last_camera: str | None = None  # the camera that saw them last (None: not seen since added)
    last_room: str | None = None  # the room (zone id) they were last seen in, when known

    @property
    def path_age_s(self) -> float | None:
        """How far back (seconds before `last_seen_at`) the path drawn on the plan goes."""
        if not self.path:
            return None
        return max(0.0, self.path[-1].at_s - self.path[0].at_s)


@dataclass(frozen=True, slots=True)
class BehaviourView:
    """What the window shows of the behaviour model (a snapshot, from the core thread)."""

    at: datetime
    enabled: bool
    judging: bool
    status: str  # in words: "learning: 3 h of the 24 h warm-up", "off (site file)", ...
    watched: tuple[WatchedPerson, ...] = ()

    @property
    def watched_cameras(self) -> frozenset[str]:
        return frozenset(c for p in self.watched for c in p.cameras_now)

    def watched_tracks(self, camera_id: str) -> dict[int, str]:
        """Track id -> the visitor's label, for the watched visitors this camera sees now."""
        return {t: p.label for p in self.watched for c, t in p.tracks_now if c == camera_id}


@dataclass
class _Flag:
    line: str
    since: datetime


@dataclass
class BehaviourModel:
    site: Site
    stored: Iterable[CellRow] = ()
    switched_on: bool = True  # the supervisor's switch as stored (the site file may say off)
    audit: AuditSink | None = None
    follow_tuning: FollowTuning = field(default_factory=FollowTuning)
    visit_tuning: VisitTuning = field(default_factory=VisitTuning)
    score_tuning: ScoreTuning = field(default_factory=ScoreTuning)

    def __post_init__(self) -> None:
        self.plan = SiteMap.of(self.site)
        self.baseline = Baseline.of_site(self.site)
        rows = list(self.stored)
        self.stored = ()
        taken = self.baseline.load(rows)
        since = [r.updated_at for r in rows if r.kind == "meta"]
        if rows and taken:
            log.info("behaviour: %d stored cells of the learned normal taken", taken)
        self.baseline.learning_since = min(since) if since else None
        self.follower = Follower(self.plan, self.follow_tuning)
        self.watch_list = WatchList()
        self._closing = ClosingTimes(
            self.site, self.score_tuning.closing_window_s, self.score_tuning.closed_within_s
        )
        self._assessed: dict[str, tuple[float, Assessment]] = {}
        self._flags: dict[str, _Flag] = {}
        self._looked: dict[str, float] = {}  # camera -> site seconds of its last judged frame
        self._last_tick_s: float | None = None
        self._last_occupancy_s: float | None = None
        self._listeners: tuple[ViewListener, ...] = ()
        self._shown_cameras: frozenset[str] = frozenset()
        self.learned_samples = 0

    # -- the switch --------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return bool(self.site.behaviour.enabled) and self.switched_on

    @property
    def off_reason(self) -> str | None:
        if not self.site.behaviour.enabled:
            return "off in the site file (behaviour.enabled: false)"
        if not self.switched_on:
            return "switched off at the console"
        return None

    def switch(self, on: bool, user: str, now: datetime) -> int:
        """Switch the feature on or off (the caller stores and audits the switch); switching
        off forgets every visitor and the watch list now. Returns the visitors forgotten."""
        if on and not self.site.behaviour.enabled:
            raise BehaviourRefused(
                "behaviour learning is off in the site file (behaviour.enabled: false); "
                "change the site file to switch it on"
            )
        self.switched_on = on
        forgotten = 0
        if not on:
            forgotten = self._forget_everyone(user, now, "the feature was switched off")
        log.warning("behaviour features switched %s by %s", "on" if on else "off", user)
        self._notify(now)
        return forgotten

    def _forget_everyone(self, user: str, now: datetime, why: str) -> int:
        count = len(self.follower.visitors)
        for entry in self.watch_list.clear():
            self._audit(user, "behaviour.unwatch", entry, {"why": why})
        self.follower.clear()
        self._assessed.clear()
        self._flags.clear()
        return count

    # -- frames ------------------------------------------------------------------------------

    def observe(
        self, camera: CameraPresence, now: datetime, looks: Mapping[int, Vector | None]
    ) -> list[Advisory]:
        """One judged frame of one camera (after presence): who is who, what they teach, and
        the advisories about the visitors it sees."""
        if not self.enabled:
            return []
        now_s = now.timestamp()
        self._looked[camera.camera_id] = now_s
        linked = self.follower.link(camera, now_s, looks)
        high_value = self._high_value
        advisories: list[Advisory] = []
        for track in camera.visitors:
            visitor = linked.get(track.track_id)
            if visitor is None:
                continue
            samples = visitor.see(
                camera,
                track,
                now_s,
                looks.get(track.track_id),
                self.plan,
                high_value,
                self.visit_tuning,
            )
            self._learn(visitor, samples, now)
            assessment = self._assessment(visitor, now, now_s)
            if assessment.judged and assessment.score >= float(self.site.behaviour.threshold):
                self._flag(visitor, assessment, now)
                rooms = sorted(track.zones)
                advisories.append(
                    Advisory(
                        assessment,
                        track,
                        visitor.visitor_id,
                        visitor.label,
                        rooms[0] if rooms else None,
                    )
                )
        cameras = self._watched_cameras(now_s)
        if cameras != self._shown_cameras:
            self._notify(now)
        return advisories

    @property
    def _high_value(self) -> frozenset[str]:
        return frozenset(o.id for o in self.site.protected_objects if o.value == "high")

    def _assessment(self, visitor: Visitor, now: datetime, now_s: float) -> Assessment:
        known = self._assessed.get(visitor.visitor_id)
        if known is not None and now_s - known[0] < ASSESS_EVERY_S:
            return known[1]
        assessment = assess(
            visitor,
            self.baseline,
            self.site,
            self.plan,
            now,
            self.site.behaviour,
            self.score_tuning,
            self.visit_tuning,
            self._closing,
        )
        self._assessed[visitor.visitor_id] = (now_s, assessment)
        return assessment

    def _learn(self, visitor: Visitor, samples: list[Sample], now: datetime) -> None:
        if visitor.flagged or not samples:
            return  # an open advisory: this visit teaches nothing until called normal
        for sample in samples:
            self.baseline.learn(
                sample.kind,  # type: ignore[arg-type]
                sample.place_id,
                sample.metric,
                sample.value,
                now,
                visitor.teach_weight,
            )
            self.learned_samples += 1

    def _flag(self, visitor: Visitor, assessment: Assessment, now: datetime) -> None:
        flag = self._flags.get(visitor.visitor_id)
        if flag is not None:
            flag.line = assessment.line
            return
        visitor.flagged = True
        self._flags[visitor.visitor_id] = _Flag(assessment.line, now)
        log.warning(
            "behaviour: %s scores %.2f: %s", visitor.label, assessment.score, assessment.line
        )
        if visitor.visitor_id not in self.watch_list:
            self._add_to_watch_list(visitor, assessment.line, SYSTEM_USER, now, assessment)

    def _add_to_watch_list(
        self,
        visitor: Visitor,
        reason: str,
        user: str,
        now: datetime,
        assessment: Assessment | None = None,
        seen_on: tuple[str, int] | None = None,
    ) -> WatchEntry:
        entry = WatchEntry(
            visitor.visitor_id,
            reason,
            user,
            now,
            now + timedelta(seconds=float(self.site.behaviour.watch_for_s)),
        )
        self.watch_list.add(entry)
        detail: dict[str, object] = {"reason": reason, "visitor": visitor.label}
        if assessment is not None:
            detail["score"] = assessment.score
            detail["reasons"] = [r.words for r in assessment.reasons]
        if seen_on is not None:
            detail["camera_id"], detail["track_id"] = seen_on
        self._audit(user, "behaviour.watch", entry, detail)
        self._notify(now)
        return entry

    # -- time passes -------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """End what ended, forget who is gone, expire the watch list, sample occupancy; at
        most once a second of site time (replay calls it after every frame)."""
        if not self.enabled:
            return
        now_s = now.timestamp()
        if self._last_tick_s is not None and now_s - self._last_tick_s < 1.0:
            return
        self._last_tick_s = now_s
        for visitor in list(self.follower.visitors.values()):
            self._learn(visitor, visitor.close_idle(now_s, self.visit_tuning), now)
        forget_after_s = float(self.site.behaviour.forget_after_s)
        changed = False
        for visitor in self.follower.expired(now_s, forget_after_s):
            self._learn(visitor, visitor.finish(now_s), now)
            self._assessed.pop(visitor.visitor_id, None)
            self._flags.pop(visitor.visitor_id, None)
            entry = self.watch_list.remove(visitor.visitor_id)
            if entry is not None:
                self._audit(
                    SYSTEM_USER,
                    "behaviour.unwatch",
                    entry,
                    {"why": f"not seen for {forget_after_s:.0f} s: forgotten"},
                )
                changed = True
        for entry in self.watch_list.expired(now):
            self._audit(SYSTEM_USER, "behaviour.unwatch", entry, {"why": "the entry expired"})
            changed = True
        if self._last_occupancy_s is None or now_s - self._last_occupancy_s >= OCCUPANCY_EVERY_S:
            self._last_occupancy_s = now_s
            self._sample_occupancy(now, now_s)
        horizon = now - timedelta(days=float(self.site.behaviour.baseline_keep_days))
        self.baseline.forget_older_than(horizon)
        if changed or len(self.watch_list):
            self._notify(now)

    def _sample_occupancy(self, now: datetime, now_s: float) -> None:
        watched_rooms: set[str] = set()
        for camera_id, at in self._looked.items():
            if now_s - at <= WATCHED_LOOK_S:
                watched_rooms |= self.plan.rooms_of(camera_id)
        counts = dict.fromkeys(watched_rooms, 0)
        for visitor in self.follower.visitors.values():
            for zone_id, stay in visitor.stays.items():
                if zone_id in counts and now_s - stay.last_s <= 2.0:
                    counts[zone_id] += 1
        for zone_id, count in counts.items():
            self.baseline.learn("zone", zone_id, "occupancy", float(count), now)

    # -- what people ask ---------------------------------------------------------------------

    def watch(
        self, camera_id: str, track_id: int, reason: str, user: str, now: datetime
    ) -> WatchedPerson:
        """Put the person tracked as `track_id` on `camera_id` on the watch list (audited)."""
        if not self.enabled:
            raise BehaviourRefused(
                f"the watch list is not available: behaviour is {self.off_reason}"
            )
        reason = " ".join(reason.split())
        if not reason:
            raise BehaviourRefused("say why this person is to be watched (the reason is audited)")
        visitor = self.follower.visitor_of(camera_id, int(track_id))
        if visitor is None:
            raise BehaviourRefused(
                f"person #{track_id} on camera {camera_id} is not tracked any more; pick them "
                "again on a tile"
            )
        if visitor.visitor_id not in self.watch_list:
            self._add_to_watch_list(
                visitor, reason[:500], user, now, seen_on=(camera_id, int(track_id))
            )
        return self._watched(self.watch_list.get(visitor.visitor_id), now)  # type: ignore[arg-type]

    def unwatch(self, visitor_id: str, user: str, now: datetime, reason: str) -> WatchEntry:
        """Take a visitor off the watch list (audited with who and why); their path leaves
        the plan with the next view. Returns the entry taken off."""
        reason = " ".join(reason.split())
        if not reason:
            raise BehaviourRefused(
                "say why this person is no longer to be watched (the reason is audited)"
            )
        entry = self.watch_list.remove(visitor_id)
        if entry is None:
            raise BehaviourRefused(
                f"{_label(visitor_id)} is not on the watch list (any more): the entry may have "
                "expired or been taken off by someone else"
            )
        self._audit(
            user,
            "behaviour.unwatch",
            entry,
            {"why": "taken off by the operator", "unwatch_reason": reason[:500]},
        )
        self._notify(now)
        return entry

    def dismiss(self, visitor_id: str, user: str, now: datetime) -> tuple[str, ...]:
        """The operator calls this visitor's behaviour normal: the reasons are not held against
        them again, their visit is learned (with more weight) and they leave the watch list if
        the system put them there. Returns the reasons dismissed (empty when the visitor is no
        longer in memory). The caller audits it with the advisory."""
        visitor = self.follower.visitors.get(visitor_id)
        reasons: tuple[str, ...] = ()
        if visitor is not None:
            known = self._assessed.get(visitor_id)
            assessment = known[1] if known is not None else None
            if assessment is None or not assessment.reasons:
                assessment = assess(
                    visitor,
                    self.baseline,
                    self.site,
                    self.plan,
                    now,
                    self.site.behaviour,
                    self.score_tuning,
                    self.visit_tuning,
                    self._closing,
                )
            visitor.dismissed |= {r.key for r in assessment.reasons}
            reasons = tuple(r.words for r in assessment.reasons)
            visitor.flagged = False
            visitor.teach_weight = FEEDBACK_WEIGHT
            self._assessed.pop(visitor_id, None)
        self._flags.pop(visitor_id, None)
        entry = self.watch_list.get(visitor_id)
        if entry is not None and entry.by_system:
            self.watch_list.remove(visitor_id)
            self._audit(user, "behaviour.unwatch", entry, {"why": "dismissed as normal"})
        self._notify(now)
        return reasons

    # -- the site changes --------------------------------------------------------------------

    def use_site(self, site: Site, now: datetime) -> None:
        """An edited site: the map, the places learned and the settings follow it; visitors
        are kept (their cameras may have gone: they are forgotten in time)."""
        was_on = self.enabled
        self.site = site
        self.plan = SiteMap.of(site)
        self.follower.plan = self.plan
        self.baseline.use_places(places_of(site))
        self.baseline.tz = site.tz
        self._closing = ClosingTimes(
            site, self.score_tuning.closing_window_s, self.score_tuning.closed_within_s
        )
        camera_ids = {c.id for c in site.cameras}
        for camera_id in [c for c in self._looked if c not in camera_ids]:
            del self._looked[camera_id]
            self.follower.forget_camera(camera_id)
        if was_on and not self.enabled:
            self._forget_everyone(SYSTEM_USER, now, "switched off in the site file")
            self._notify(now)

    # -- storing -----------------------------------------------------------------------------

    def take_changes(self) -> tuple[list[CellRow], list[tuple[str, str, int]]]:
        """What to write to the store since the last call (the learned normal only)."""
        rows, gone = self.baseline.take_changes()
        since = self.baseline.learning_since
        if rows and since is not None:
            rows.append(CellRow("meta", "*", -1, "{}", since))
        return rows, gone

    # -- what the window shows ---------------------------------------------------------------

    def add_listener(self, listener: ViewListener) -> None:
        """Called with a new `BehaviourView` (on the core thread) when the watch list or the
        cameras that see a watched visitor change, and once a second while anyone is watched.
        Safe to call from any thread."""
        self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: ViewListener) -> None:
        self._listeners = tuple(x for x in self._listeners if x is not listener)

    def _notify(self, now: datetime) -> None:
        self._shown_cameras = self._watched_cameras(now.timestamp())
        if not self._listeners:
            return
        view = self.view(now)
        for listener in self._listeners:
            try:
                listener(view)
            except Exception:
                log.exception("behaviour view listener failed")

    def _watched_cameras(self, now_s: float) -> frozenset[str]:
        cameras: set[str] = set()
        for entry in self.watch_list:
            visitor = self.follower.visitors.get(entry.visitor_id)
            if visitor is not None:
                cameras.update(visitor.cameras_now(now_s))
        return frozenset(cameras)

    def watched_cameras(self, now: datetime) -> frozenset[str]:
        """The cameras that see a watched visitor now (the focus wall follows them)."""
        return self._watched_cameras(now.timestamp())

    def view(self, now: datetime) -> BehaviourView:
        watched = tuple(self._watched(entry, now) for entry in self.watch_list)
        return BehaviourView(now, self.enabled, self._judging(now), self._status(now), watched)

    def _watched(self, entry: WatchEntry, now: datetime) -> WatchedPerson:
        now_s = now.timestamp()
        visitor = self.follower.visitors.get(entry.visitor_id)
        path_s = float(self.site.behaviour.path_s)
        flag = self._flags.get(entry.visitor_id)
        if visitor is None:
            return WatchedPerson(
                entry.visitor_id,
                _label(entry.visitor_id),
                entry.reason,
                entry.added_by,
                entry.added_at,
                entry.expires_at,
                entry.added_at,
                (),
                (),
                (),
                flag.line if flag else None,
            )
        cameras = visitor.cameras_now(now_s)
        return WatchedPerson(
            visitor.visitor_id,
            visitor.label,
            entry.reason,
            entry.added_by,
            entry.added_at,
            entry.expires_at,
            datetime.fromtimestamp(visitor.last_s, tz=now.tzinfo),
            cameras,
            tuple((c, visitor.tracks_now[c]) for c in cameras if c in visitor.tracks_now),
            tuple(p for p in visitor.path if now_s - p.at_s <= path_s),
            flag.line if flag else None,
            visitor.last_camera,
            visitor.last_room,
        )

    def _judging(self, now: datetime) -> bool:
        warm_up = timedelta(hours=float(self.site.behaviour.warm_up_h))
        return self.enabled and self.baseline.learned_for(now) >= warm_up

    def _status(self, now: datetime) -> str:
        if not self.enabled:
            return f"off ({self.off_reason})"
        warm_up_h = float(self.site.behaviour.warm_up_h)
        learned_h = self.baseline.learned_for(now).total_seconds() / 3600.0
        if learned_h < warm_up_h:
            return f"learning: {learned_h:.1f} h of the {warm_up_h:g} h warm-up"
        return f"judging ({len(self.watch_list)} on the watch list)"

    # -- plumbing ----------------------------------------------------------------------------

    def _audit(self, user: str, action: str, entry: WatchEntry, detail: dict[str, object]) -> None:
        if self.audit is None:
            return
        facts: dict[str, object] = {
            "visitor": _label(entry.visitor_id),
            "reason": entry.reason,
            "added_by": entry.added_by,
        }
        facts.update(detail)
        try:
            self.audit(user, action, f"visitor:{entry.visitor_id}", facts)
        except Exception:
            log.exception("behaviour: audit row %s not handed to the store", action)


def _label(visitor_id: str) -> str:
    return visitor_id.replace("-", " ", 1)
