"""Online statistics in bounded memory: histograms whose size never grows with what they see.

    dwell = Histogram.of(DWELL)          # 40 log-spaced bins from 1 s to 8 h
    dwell.add(94.0)                      # one visitor stayed 94 s
    dwell.quantile(0.95)                 # "usual is under ..." (interpolated within its bin)
    dwell.to_json() / Histogram.from_json(DWELL, data)

A histogram is a fixed array of weights over fixed bins (`Scale`): linear bins for counts
(people in a room, returns to an object), log-spaced bins for durations, distances and speeds
(what matters is "twice as long", not "ten seconds more"), circular bins for directions. Adding
a sample adds its weight to one bin. When the total weight passes `Scale.max_weight`, every bin is
halved: memory stays the same, and what the museum did lately counts more than what it did a
year ago (an exponential forgetting in steps). A sample outside the scale lands in its first or
last bin, so a quantile never claims more than the scale can say.

Nothing here knows of people: only aggregated weights are kept (and stored), never a track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CLOSEST_M",
    "COUNT",
    "DIRECTION",
    "DIRECTION_WORDS",
    "DWELL_S",
    "SPEED_M_S",
    "Histogram",
    "Scale",
    "direction_bin",
]

Kind = Literal["log", "linear", "circular"]


@dataclass(frozen=True, slots=True)
class Scale:
    """The bins of one kind of measure: `bins` of them from `low` to `high` (log-spaced,
    linear, or equal sectors of a circle, where low and high are ignored)."""

    name: str
    kind: Kind
    bins: int
    low: float = 0.0
    high: float = 1.0
    max_weight: float = 5000.0

    def __post_init__(self) -> None:
        if self.bins < 2:
            raise ValueError(f"scale {self.name}: needs at least 2 bins (got {self.bins})")
        if self.kind == "log" and not 0 < self.low < self.high:
            raise ValueError(f"scale {self.name}: log bins need 0 < low < high")
        if self.kind == "linear" and not self.low < self.high:
            raise ValueError(f"scale {self.name}: linear bins need low < high")

    def index(self, value: float) -> int:
        """The bin a value falls in (values beyond the scale: the first or last bin)."""
        if self.kind == "circular":  # an angle in radians; each sector centred on its angle
            turn = (value / (2 * math.pi) + 0.5 / self.bins) % 1.0
            return int(turn * self.bins) % self.bins
        if self.kind == "log":
            if value <= self.low:
                return 0
            place = math.log(value / self.low) / math.log(self.high / self.low)
        else:
            place = (value - self.low) / (self.high - self.low)
        return min(self.bins - 1, max(0, int(place * self.bins)))

    def edge(self, place: float) -> float:
        """The value at `place` (0: the scale's low end, 1: its high end)."""
        if self.kind == "log":
            return self.low * (self.high / self.low) ** place
        return self.low + (self.high - self.low) * place


DWELL_S = Scale("dwell_s", "log", 40, 1.0, 8 * 3600.0)
CLOSEST_M = Scale("closest_m", "log", 30, 0.1, 30.0)
SPEED_M_S = Scale("speed_m_s", "log", 30, 0.05, 10.0)
COUNT = Scale("count", "linear", 32, 0.0, 32.0)  # bin k holds the count k
DIRECTION = Scale("direction", "circular", 8)  # 8 sectors of 45 degrees, 0: east


def direction_bin(dx: float, dy: float) -> int:
    """The sector (of `DIRECTION`) a motion (dx, dy) points to, each sector centred on its
    direction; image and plan y grow down, so sector 0 is east (rightwards, +-22.5 degrees),
    2 south (down), 4 west, 6 north."""
    return DIRECTION.index(math.atan2(dy, dx))


DIRECTION_WORDS = (
    "east",
    "south-east",
    "south",
    "south-west",
    "west",
    "north-west",
    "north",
    "north-east",
)


class Histogram:
    """Weights over a `Scale`'s bins; fixed size, halved when the total passes max_weight."""

    __slots__ = ("scale", "weights")

    def __init__(self, scale: Scale, weights: NDArray[np.float64] | None = None) -> None:
        self.scale = scale
        if weights is None:
            weights = np.zeros(scale.bins, dtype=np.float64)
        elif weights.shape != (scale.bins,) or not np.all(np.isfinite(weights)):
            raise ValueError(f"histogram {scale.name}: needs {scale.bins} finite weights")
        self.weights = np.maximum(weights.astype(np.float64), 0.0)

    @classmethod
    def of(cls, scale: Scale) -> Histogram:
        return cls(scale)

    @property
    def total(self) -> float:
        return float(self.weights.sum())

    @property
    def nbytes(self) -> int:
        return int(self.weights.nbytes)

    def add(self, value: float, weight: float = 1.0) -> None:
        if not (math.isfinite(value) and math.isfinite(weight) and weight > 0):
            return
        self.weights[self.scale.index(value)] += weight
        if self.weights.sum() > self.scale.max_weight:
            self.weights *= 0.5

    def merge(self, other: Histogram) -> None:
        if other.scale != self.scale:
            raise ValueError(f"cannot merge {other.scale.name} into {self.scale.name}")
        self.weights += other.weights
        while self.weights.sum() > self.scale.max_weight:
            self.weights *= 0.5

    def quantile(self, q: float) -> float | None:
        """The value below which a share `q` of the weight lies (None when empty);
        interpolated within its bin (log-interpolated on a log scale). Circular scales have no
        quantile."""
        total = self.total
        if total <= 0 or self.scale.kind == "circular":
            return None
        q = min(1.0, max(0.0, q))
        cumulative = np.cumsum(self.weights)
        target = q * total
        index = int(np.searchsorted(cumulative, target, side="left"))
        index = min(index, self.scale.bins - 1)
        before = float(cumulative[index - 1]) if index > 0 else 0.0
        inside = float(self.weights[index])
        within = (target - before) / inside if inside > 0 else 0.0
        if self.scale.kind == "linear":  # counts: bin k holds exactly k
            width = (self.scale.high - self.scale.low) / self.scale.bins
            return self.scale.low + index * width + min(within, 1.0) * width * 0.999
        return self.scale.edge((index + min(max(within, 0.0), 1.0)) / self.scale.bins)

    def share(self, index: int, spread: int = 0) -> float | None:
        """The share of the weight in bin `index` and its `spread` neighbours on each side (on
        a circular scale, around the circle); None when empty."""
        total = self.total
        if total <= 0:
            return None
        bins = self.scale.bins
        if self.scale.kind == "circular":
            picked = [(index + k) % bins for k in range(-spread, spread + 1)]
        else:
            picked = [k for k in range(index - spread, index + spread + 1) if 0 <= k < bins]
        return float(self.weights[picked].sum()) / total

    def to_json(self) -> list[float]:
        return [round(float(w), 4) for w in self.weights]

    @classmethod
    def from_json(cls, scale: Scale, data: object) -> Histogram:
        if not isinstance(data, list) or len(data) != scale.bins:
            raise ValueError(f"histogram {scale.name}: expected a list of {scale.bins} weights")
        return cls(scale, np.asarray([float(v) for v in data], dtype=np.float64))

    def __repr__(self) -> str:
        return f"Histogram({self.scale.name}, total={self.total:.1f})"
