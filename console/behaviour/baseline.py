"""What normal looks like in this museum: per room, per protected object and per camera view, by
hour of the week, in bounded memory, stored so that it survives restarts.

    baseline = Baseline.of_site(site)
    baseline.learn("zone", "g1-dutch", "dwell_s", 94.0, at)      # a visitor stayed 94 s
    usual = baseline.usual("zone", "g1-dutch", "dwell_s", at, min_samples=50)
    usual.histogram.quantile(0.95) if usual else None           # None: not judged yet

Each place has 168 cells (one per hour of the week, in the site's time zone) and one cell for
all hours. A sample is learned into both. A question is answered from the hour's cell when it
holds at least `min_samples` of that measure, else from the all-hours cell, else not at all
(the warm-up: nothing is judged before the place has been seen often enough). So a new museum
judges from its first days by its all-hours habits and becomes hour-specific as weeks pass.

What is learned, per kind of place (`METRICS`):

| place | measure | from |
| --- | --- | --- |
| zone (room) | `dwell_s` | how long each visitor stayed in the room |
| zone | `occupancy` | people in the room, sampled every few seconds |
| zone | `speed_m_s` | walking speed, sampled along each visitor's way |
| object | `near_s` | how long each visit near the object lasted |
| object | `closest_m` | the closest each visitor came (calibrated cameras: metres) |
| object | `visits` | separate visits of one visitor to the object |
| camera (view) | `direction` | the way each visitor crossed the view (8 sectors) |
| site | `high_value_rooms` | rooms in which one visitor lingered near a high-value work |

Memory is bounded by the site: at most (places x 169) cells of fixed-size histograms, whatever
the number of visitors; cells of places an edit deleted are dropped, cells not updated for
`keep_days` are forgotten. Only these weights are kept and stored: never a track, a position
or an appearance.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from console.behaviour.statistics import (
    CLOSEST_M,
    COUNT,
    DIRECTION,
    DWELL_S,
    SPEED_M_S,
    Histogram,
    Scale,
)
from console.site_file import Site
from console.store.behaviour import CellRow

log = logging.getLogger(__name__)

__all__ = [
    "ALL_HOURS",
    "METRICS",
    "SITE_PLACE",
    "Baseline",
    "CellRow",
    "PlaceKind",
    "Usual",
    "hour_of_week",
    "places_of",
]

PlaceKind = Literal["zone", "object", "camera", "site"]
ALL_HOURS = -1
HOURS_PER_WEEK = 168
SITE_PLACE = "*"

METRICS: Mapping[PlaceKind, Mapping[str, Scale]] = {
    "zone": {"dwell_s": DWELL_S, "occupancy": COUNT, "speed_m_s": SPEED_M_S},
    "object": {"near_s": DWELL_S, "closest_m": CLOSEST_M, "visits": COUNT},
    "camera": {"direction": DIRECTION},
    "site": {"high_value_rooms": COUNT},
}


def hour_of_week(at: datetime, tz: ZoneInfo) -> int:
    """0 (Monday 00:00-01:00 local time) to 167 (Sunday 23:00-24:00)."""
    local = at.astimezone(tz)
    return local.weekday() * 24 + local.hour


@dataclass(frozen=True, slots=True)
class Usual:
    """The histogram a question was answered from, and how specific it is."""

    histogram: Histogram
    level: Literal["this hour", "all hours"]

    @property
    def samples(self) -> float:
        return self.histogram.total


_Key = tuple[str, str, int]


@dataclass(slots=True)
class _Cell:
    histograms: dict[str, Histogram]
    updated_at: datetime


class Baseline:
    """The learned normal of one site (the core thread's alone)."""

    def __init__(
        self,
        places: Mapping[PlaceKind, Iterable[str]],
        tz: ZoneInfo,
        *,
        learning_since: datetime | None = None,
    ) -> None:
        self.tz = tz
        self.places: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in places.items()}
        self.learning_since = learning_since
        self._cells: dict[_Key, _Cell] = {}
        self._dirty: set[_Key] = set()
        self.samples_learned = 0.0

    @classmethod
    def of_site(cls, site: Site, *, learning_since: datetime | None = None) -> Baseline:
        return cls(places_of(site), site.tz, learning_since=learning_since)

    # -- size --------------------------------------------------------------------------------

    @property
    def cell_count(self) -> int:
        return len(self._cells)

    @property
    def max_cells(self) -> int:
        """The bound: every place's 168 hours and its all-hours cell."""
        return sum(len(ids) for ids in self.places.values()) * (HOURS_PER_WEEK + 1)

    @property
    def nbytes(self) -> int:
        """The weights held (the bulk of the memory; bounded by `max_cells`)."""
        return sum(h.nbytes for c in self._cells.values() for h in c.histograms.values())

    # -- learning ----------------------------------------------------------------------------

    def knows(self, kind: str, place_id: str) -> bool:
        return place_id in self.places.get(kind, frozenset())

    def learn(
        self,
        kind: PlaceKind,
        place_id: str,
        metric: str,
        value: float,
        at: datetime,
        weight: float = 1.0,
    ) -> None:
        """One sample of `metric` at a place, at site time `at` (an aware datetime)."""
        if not self.knows(kind, place_id) or not math.isfinite(value):
            return
        scale = METRICS[kind].get(metric)
        if scale is None:
            raise KeyError(f"no measure {metric!r} for a {kind} (known: {sorted(METRICS[kind])})")
        if self.learning_since is None:
            self.learning_since = at
        for hour in (hour_of_week(at, self.tz), ALL_HOURS):
            key = (kind, place_id, hour)
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = _Cell({}, at)
            histogram = cell.histograms.get(metric)
            if histogram is None:
                histogram = cell.histograms[metric] = Histogram.of(scale)
            histogram.add(value, weight)
            cell.updated_at = max(cell.updated_at, at)
            self._dirty.add(key)
        self.samples_learned += weight

    # -- asking ------------------------------------------------------------------------------

    def usual(
        self, kind: str, place_id: str, metric: str, at: datetime, *, min_samples: float
    ) -> Usual | None:
        """The distribution of `metric` at this place for this hour of the week, else for all
        hours, once it holds `min_samples`; None before (not judged yet)."""
        for hour, level in ((hour_of_week(at, self.tz), "this hour"), (ALL_HOURS, "all hours")):
            cell = self._cells.get((kind, place_id, hour))
            histogram = cell.histograms.get(metric) if cell is not None else None
            if histogram is not None and histogram.total >= min_samples:
                return Usual(histogram, level)  # type: ignore[arg-type]
        return None

    def learned_for(self, at: datetime) -> timedelta:
        """How long this baseline has been learning (site time), zero before its first sample."""
        if self.learning_since is None:
            return timedelta(0)
        return max(timedelta(0), at - self.learning_since)

    # -- the site changes, time passes -------------------------------------------------------

    def use_places(self, places: Mapping[PlaceKind, Iterable[str]]) -> list[_Key]:
        """Keep learning for these places; cells of places no longer there are dropped (they
        are also deleted from the store at the next save); returns the dropped keys."""
        self.places = {k: frozenset(v) for k, v in places.items()}
        dropped = [key for key in self._cells if not self.knows(key[0], key[1])]
        for key in dropped:
            del self._cells[key]
            self._dirty.add(key)
        return dropped

    def forget_older_than(self, horizon: datetime) -> list[_Key]:
        """Drop cells not updated since `horizon` (retention of the baseline)."""
        old = [key for key, cell in self._cells.items() if cell.updated_at < horizon]
        for key in old:
            del self._cells[key]
            self._dirty.add(key)
        return old

    def clear(self) -> None:
        for key in self._cells:
            self._dirty.add(key)
        self._cells.clear()
        self.learning_since = None
        self.samples_learned = 0.0

    # -- storing -----------------------------------------------------------------------------

    def take_changes(self) -> tuple[list[CellRow], list[tuple[str, str, int]]]:
        """The cells changed since the last call (to write) and the keys of those dropped (to
        delete); the next call starts afresh."""
        rows: list[CellRow] = []
        gone: list[tuple[str, str, int]] = []
        for key in sorted(self._dirty):
            cell = self._cells.get(key)
            if cell is None:
                gone.append(key)
            else:
                rows.append(_row(key, cell))
        self._dirty.clear()
        return rows, gone

    def rows(self) -> Iterator[CellRow]:
        for key in sorted(self._cells):
            yield _row(key, self._cells[key])

    def load(self, rows: Iterable[CellRow]) -> int:
        """Take stored cells (of places this site has; others are skipped, a damaged one is
        reported and skipped); returns how many were taken."""
        taken = 0
        for row in rows:
            if not self.knows(row.kind, row.place_id):
                continue
            if not (row.hour == ALL_HOURS or 0 <= row.hour < HOURS_PER_WEEK):
                log.warning("behaviour baseline: cell %s/%s hour %d skipped", *_name(row))
                continue
            try:
                data = json.loads(row.data)
                scales = METRICS[row.kind]  # type: ignore[index]
                histograms = {
                    metric: Histogram.from_json(scales[metric], weights)
                    for metric, weights in data.items()
                }
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning(
                    "behaviour baseline: stored cell %s/%s hour %d is damaged, skipped: %s",
                    row.kind,
                    row.place_id,
                    row.hour,
                    exc,
                )
                continue
            self._cells[(row.kind, row.place_id, row.hour)] = _Cell(histograms, row.updated_at)
            taken += 1
        return taken


def places_of(site: Site) -> dict[PlaceKind, tuple[str, ...]]:
    """The places a site's baseline learns about."""
    return {
        "zone": tuple(z.id for z in site.zones),
        "object": tuple(o.id for o in site.protected_objects),
        "camera": tuple(c.id for c in site.cameras),
        "site": (SITE_PLACE,),
    }


def _row(key: _Key, cell: _Cell) -> CellRow:
    data = json.dumps(
        {metric: h.to_json() for metric, h in sorted(cell.histograms.items())},
        separators=(",", ":"),
    )
    return CellRow(key[0], key[1], key[2], data, cell.updated_at)


def _name(row: CellRow) -> tuple[str, str, int]:
    return row.kind, row.place_id, row.hour
