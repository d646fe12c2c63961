"""How unusual a visitor is against the learned normal, with the reasons in plain words.

    assessment = assess(visitor, baseline, site, plan, now, settings)
    assessment.score        # 0: nothing unusual; >= the site's threshold: an advisory
    assessment.line         # "stayed 9 min near The Milkmaid (copy); usual is under 40 s"

Each reason has a strength (0 to 2; 1 is "clearly unusual on its own"); the score is the sum of
the strengths, so two half-unusual things together count as one clear one. A reason is weighed
only where the place is warm (enough visitors learned there: `BehaviourSettings.warm_up_visits`,
this hour of the week or else all hours); before the whole baseline has learned for
`warm_up_h`, nobody is judged at all. A reason an operator dismissed as normal for this visitor
is not weighed again for them.

The reasons (strength 1 at):

- `dwell_room`: the stay in a room goes beyond its usual (95th percentile); 1 at three times
  the usual, and at least 60 s more.
- `dwell_object`: the current visit to an artwork goes beyond its usual; likewise.
- `returns`: separate visits to one artwork; 1 at max(4, the usual 99th percentile + 2).
- `high_value_rooms`: lingering (15 s) near high-value works in several rooms; 1 at max(3, the
  usual 99th percentile + 1) rooms, nothing at or below the usual.
- `against_flow`: walking at least 3 m through a view in a direction near which (within one
  sector of 45 degrees either side) at most 5 % of the view's visitors walk; 1 to 1.5 (the fewer,
  the stronger). The neighbouring sectors count because a way still under way (in from the
  east, turning to a painting) bends away from the whole way a visitor is learned by.
- `closing_room`: still in a room within the hour after it closed (unarmed rooms: in armed ones
  the after-hours rule raises an alarm), 1; or in its last 15 minutes when it is usually empty
  by then (this hour's occupancy), 0.7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.behaviour.baseline import SITE_PLACE, Baseline
from console.behaviour.site_map import SiteMap
from console.behaviour.statistics import DIRECTION_WORDS, direction_bin
from console.behaviour.visitors import Visitor, VisitTuning
from console.site_file import Arming, BehaviourSettings, Site

__all__ = ["Assessment", "ClosingTimes", "Reason", "ScoreTuning", "assess", "duration_words"]


@dataclass(frozen=True, slots=True)
class ScoreTuning:
    dwell_quantile: float = 0.95
    dwell_factor: float = 3.0
    dwell_min_extra_s: float = 60.0
    dwell_floor_s: float = 20.0  # a usual below this is taken as this (a room crossed quickly)
    returns_min: int = 4
    rooms_min: int = 3
    count_quantile: float = 0.99
    against_share: float = 0.05
    against_min_move_m: float = 3.0
    against_spread: int = 1  # sectors either side that count as the same way
    closing_window_s: float = 900.0
    closed_within_s: float = 3600.0
    closing_empty_below: float = 1.0  # usually fewer people than this in the room as it closes
    closing_strength: float = 0.7
    max_strength: float = 2.0
    show_from: float = 0.3  # reasons weaker than this are not said


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str
    subject_id: str  # the room, artwork or camera it is about
    strength: float
    words: str

    @property
    def key(self) -> str:
        """What a dismissal as normal remembers (this kind of thing about this subject)."""
        return f"{self.kind}:{self.subject_id}"


@dataclass(frozen=True, slots=True)
class Assessment:
    visitor_id: str
    score: float
    reasons: tuple[Reason, ...]  # strongest first
    judged: bool  # False: still warming up (nothing was weighed)

    @property
    def line(self) -> str:
        """The advisory in one line: the strongest reason, and how many more."""
        if not self.reasons:
            return ""
        more = len(self.reasons) - 1
        return self.reasons[0].words + (f" (+{more} more)" if more else "")


def assess(
    visitor: Visitor,
    baseline: Baseline,
    site: Site,
    plan: SiteMap,
    now: datetime,
    settings: BehaviourSettings,
    tuning: ScoreTuning | None = None,
    visit_tuning: VisitTuning | None = None,
    closing: ClosingTimes | None = None,
) -> Assessment:
    """The visitor's anomaly score now, with its reasons. `closing`: the site's closing times
    (kept by the caller between calls: it remembers what it worked out)."""
    tuning = tuning or ScoreTuning()
    visit_tuning = visit_tuning or VisitTuning()
    closing = closing or ClosingTimes(site, tuning.closing_window_s, tuning.closed_within_s)
    if baseline.learned_for(now) < timedelta(hours=float(settings.warm_up_h)):
        return Assessment(visitor.visitor_id, 0.0, (), judged=False)
    now_s = now.timestamp()
    least = float(settings.warm_up_visits)
    reasons: list[Reason] = []
    reasons += _dwell_rooms(visitor, baseline, site, now, now_s, least, tuning)
    reasons += _dwell_objects(visitor, baseline, site, now, now_s, least, tuning, visit_tuning)
    reasons += _returns(visitor, baseline, site, now, least, tuning)
    reasons += _high_value_rooms(visitor, baseline, site, now, least, tuning)
    reasons += _against_flow(visitor, baseline, site, now, now_s, least, tuning)
    reasons += _closing_rooms(visitor, baseline, site, closing, now, now_s, least, tuning)
    kept = sorted(
        (r for r in reasons if r.key not in visitor.dismissed and r.strength >= tuning.show_from),
        key=lambda r: (-r.strength, r.kind, r.subject_id),
    )
    return Assessment(
        visitor.visitor_id, round(sum(r.strength for r in kept), 3), tuple(kept), True
    )


# --------------------------------------------------------------------------- the reasons


def _ratio_strength(value: float, usual: float, tuning: ScoreTuning) -> float:
    if value - usual < tuning.dwell_min_extra_s:
        return 0.0
    ratio = value / max(usual, 1e-6)
    return _cap((ratio - 1.0) / (tuning.dwell_factor - 1.0), tuning)


def _cap(strength: float, tuning: ScoreTuning) -> float:
    return max(0.0, min(tuning.max_strength, strength))


def _dwell_rooms(
    visitor: Visitor,
    baseline: Baseline,
    site: Site,
    now: datetime,
    now_s: float,
    least: float,
    tuning: ScoreTuning,
) -> list[Reason]:
    out = []
    for zone_id, stay in visitor.stays.items():
        if now_s - stay.last_s > 2.0:
            continue  # not in the room now
        usual = baseline.usual("zone", zone_id, "dwell_s", now, min_samples=least)
        if usual is None:
            continue
        typical = max(tuning.dwell_floor_s, usual.histogram.quantile(tuning.dwell_quantile) or 0)
        strength = _ratio_strength(stay.dwell_s, typical, tuning)
        if strength > 0:
            name = _name(site, zone_id)
            out.append(
                Reason(
                    "dwell_room",
                    zone_id,
                    strength,
                    f"stayed {duration_words(stay.dwell_s)} in {name}; usual is under "
                    f"{duration_words(typical, up=True)}",
                )
            )
    return out


def _dwell_objects(
    visitor: Visitor,
    baseline: Baseline,
    site: Site,
    now: datetime,
    now_s: float,
    least: float,
    tuning: ScoreTuning,
    visit_tuning: VisitTuning,
) -> list[Reason]:
    out = []
    for object_id, visit in visitor.objects.items():
        near_s = visit.near_for_s(now_s, visit_tuning.return_gap_s)
        if near_s <= 0:
            continue
        usual = baseline.usual("object", object_id, "near_s", now, min_samples=least)
        if usual is None:
            continue
        typical = max(tuning.dwell_floor_s, usual.histogram.quantile(tuning.dwell_quantile) or 0)
        strength = _ratio_strength(near_s, typical, tuning)
        if strength > 0:
            out.append(
                Reason(
                    "dwell_object",
                    object_id,
                    strength,
                    f"stayed {duration_words(near_s)} near {_name(site, object_id)}; usual is "
                    f"under {duration_words(typical, up=True)}",
                )
            )
    return out


def _returns(
    visitor: Visitor, baseline: Baseline, site: Site, now: datetime, least: float, t: ScoreTuning
) -> list[Reason]:
    out = []
    for object_id, visit in visitor.objects.items():
        if visit.visits < 2:
            continue
        usual = baseline.usual("object", object_id, "visits", now, min_samples=least)
        if usual is None:
            continue
        typical = math.floor(usual.histogram.quantile(t.count_quantile) or 1.0)
        limit = max(t.returns_min, typical + 2)
        strength = _cap(visit.visits / limit, t) if visit.visits >= limit - 1 else 0.0
        if strength > 0:
            out.append(
                Reason(
                    "returns",
                    object_id,
                    strength,
                    f"came back to {_name(site, object_id)} {visit.visits} times; usual is "
                    f"{_times(max(1, typical))}",
                )
            )
    return out


def _high_value_rooms(
    visitor: Visitor, baseline: Baseline, site: Site, now: datetime, least: float, t: ScoreTuning
) -> list[Reason]:
    rooms = sorted(set(visitor.high_value.values()))
    if len(rooms) < 2:
        return []
    usual = baseline.usual("site", SITE_PLACE, "high_value_rooms", now, min_samples=least)
    if usual is None:
        return []
    typical = math.floor(usual.histogram.quantile(t.count_quantile) or 0.0)
    limit = max(t.rooms_min, typical + 1)
    # half-unusual one room short of the limit, but never at or below the usual: a visitor who
    # lingered in as many rooms as this museum's visitors do is not a half of anything (it
    # added 0.67 to every lookalike's returns and made ordinary visitors advisories)
    beyond = len(rooms) > typical and len(rooms) >= limit - 1
    strength = _cap(len(rooms) / limit, t) if beyond else 0.0
    if strength <= 0:
        return []
    works = ", ".join(_name(site, o) for o in sorted(visitor.high_value))
    return [
        Reason(
            "high_value_rooms",
            SITE_PLACE,
            strength,
            f"lingered near high-value works in {len(rooms)} rooms ({works}); usual is "
            f"{'at most ' + str(typical) if typical else 'none'}",
        )
    ]


def _against_flow(
    visitor: Visitor,
    baseline: Baseline,
    site: Site,
    now: datetime,
    now_s: float,
    least: float,
    t: ScoreTuning,
) -> list[Reason]:
    out = []
    for camera_id, passage in visitor.passages.items():
        if now_s - passage.last_s > 2.0 or passage.distance_m < t.against_min_move_m:
            continue
        usual = baseline.usual("camera", camera_id, "direction", now, min_samples=least)
        if usual is None:
            continue
        dx, dy = passage.moved_m
        sector = direction_bin(dx, dy)
        share = usual.histogram.share(sector, spread=t.against_spread) or 0.0
        if share > t.against_share:
            continue
        strength = _cap(1.0 + 0.5 * (t.against_share - share) / t.against_share, t)
        where = "on the plan" if passage.on_plan else "in the picture"
        out.append(
            Reason(
                "against_flow",
                camera_id,
                strength,
                f"walked {DIRECTION_WORDS[sector]} ({where}) through {_name(site, camera_id)}, "
                f"against the flow; {share:.0%} of visitors go about that way",
            )
        )
    return out


def _closing_rooms(
    visitor: Visitor,
    baseline: Baseline,
    site: Site,
    closing: ClosingTimes,
    now: datetime,
    now_s: float,
    least: float,
    t: ScoreTuning,
) -> list[Reason]:
    out = []
    minute = now.replace(second=0, microsecond=0)
    for zone_id, stay in visitor.stays.items():
        if now_s - stay.last_s > 2.0:
            continue
        state = closing.state(zone_id, minute)
        if state is None:
            continue
        kind, at = state
        name = _name(site, zone_id)
        local = at.astimezone(site.tz)
        if kind == "closed":
            if Arming.of(site.zone(zone_id).armed) is not Arming.NEVER:
                continue  # an armed room: the after-hours rule raises a real alarm
            out.append(
                Reason(
                    "closing_room", zone_id, 1.0, f"still in {name}, which closed at {local:%H:%M}"
                )
            )
            continue
        usual = baseline.usual("zone", zone_id, "occupancy", now, min_samples=least)
        if usual is None or usual.level != "this hour":
            continue  # "usually empty by now" needs this hour's habits
        busy = usual.histogram.quantile(0.9) or 0.0
        if busy < t.closing_empty_below:
            out.append(
                Reason(
                    "closing_room",
                    zone_id,
                    t.closing_strength,
                    f"in {name} as it closes at {local:%H:%M}; it is usually empty by now",
                )
            )
    return out


class ClosingTimes:
    """When rooms close, asked minute by minute and remembered (a bounded cache per site)."""

    def __init__(self, site: Site, window_s: float, within_s: float) -> None:
        self.site = site
        self.window_s = window_s
        self.within_s = within_s
        self._known: dict[tuple[str, datetime], tuple[str, datetime] | None] = {}

    def state(self, zone_id: str, minute: datetime) -> tuple[str, datetime] | None:
        """("closing", when) while the room closes within `window_s`; ("closed", when) when
        it closed at most `within_s` ago; None otherwise."""
        key = (zone_id, minute)
        if key not in self._known:
            if len(self._known) > 4096:
                self._known.clear()
            self._known[key] = self._work_out(zone_id, minute)
        return self._known[key]

    def _work_out(self, zone_id: str, minute: datetime) -> tuple[str, datetime] | None:
        is_open = self.site.zone_is_open
        step = timedelta(minutes=1)
        if is_open(zone_id, minute):
            for k in range(1, int(self.window_s // 60) + 1):
                if not is_open(zone_id, minute + k * step):
                    return "closing", minute + k * step
            return None
        for k in range(1, int(self.within_s // 60) + 1):
            if is_open(zone_id, minute - k * step):
                return "closed", minute - (k - 1) * step
        return None


# --------------------------------------------------------------------------- words


def _name(site: Site, subject_id: str) -> str:
    for lookup in (site.protected_object, site.zone, site.camera):
        try:
            return str(lookup(subject_id).name)
        except KeyError:
            continue
    return subject_id


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def duration_words(seconds: float, *, up: bool = False) -> str:
    """'40 s', '9 min', '1 h 20 min'; `up` rounds up (for "under ...")."""
    rounding = math.ceil if up else round
    if seconds < 90:
        return f"{max(1, rounding(seconds))} s"
    minutes = rounding(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
