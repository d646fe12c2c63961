"""What each rule says about its finding, as a type: the views read fields, never parse a dict.

Every detail has the person's `box` in the image (when a person is concerned) and the
`distance_m` to the protected object on the plan (when the camera is calibrated and an object is
concerned); each rule adds what is its own. `as_json()` is what the store keeps with the alarm's
`raise` event (plain JSON, no None values).

    finding.detail.distance_m        # 0.42, or None
    alarm.detail.condition           # "covered" for a camera's own alarm, else None
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = [
    "AfterHoursDetail",
    "Box",
    "CameraHealthDetail",
    "LoiteringDetail",
    "ObjectChangeDetail",
    "ProximityDetail",
    "RestrictedDetail",
    "RuleDetail",
]

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels


@dataclass(frozen=True, slots=True)
class RuleDetail:
    """What every finding may carry; a rule's own detail adds its fields."""

    box: Box | None = None
    distance_m: float | None = None

    @property
    def condition(self) -> str | None:
        """A camera's own condition (video_loss, frozen, covered, moved); None for people."""
        return None

    def as_json(self) -> dict[str, object]:
        """The detail as plain JSON values, without the fields it does not have."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in _fields(self) if v is not None
        }


def _fields(detail: RuleDetail) -> list[tuple[str, object]]:
    return list(asdict(detail).items())


@dataclass(frozen=True, slots=True)
class ProximityDetail(RuleDetail):
    """Too close to a protected object: on the plan (`mode` "plan") or reaching into its outline
    in the image ("image")."""

    mode: Literal["plan", "image"] = "plan"
    min_distance_m: float = 0.0
    dwell_s: float = 0.0
    overlap: float | None = None  # the box's share inside the object's image outline


@dataclass(frozen=True, slots=True)
class AfterHoursDetail(RuleDetail):
    """A person in an armed zone while it is closed (`zone` None: placed in no zone)."""

    zone: str | None = None
    local_time: str = ""
    seen_s: float = 0.0


@dataclass(frozen=True, slots=True)
class LoiteringDetail(RuleDetail):
    """Staying in a zone, or near one object, longer than allowed."""

    kind: Literal["zone", "object"] = "zone"
    dwell_s: float = 0.0
    loiter_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RestrictedDetail(RuleDetail):
    """Inside a staff-only zone (`located_by`: plan or image)."""

    inside_s: float = 0.0
    located_by: str = ""


@dataclass(frozen=True, slots=True)
class ObjectChangeDetail(RuleDetail):
    """A protected object's image region changed while nobody stood in front of it."""

    change: float = 0.0
    changed_since_ts: float | None = None
    reference_ts: float | None = None


@dataclass(frozen=True, slots=True)
class CameraHealthDetail(RuleDetail):
    """A camera's own condition: video loss, frozen, covered or moved, with its figures."""

    what: Literal["video_loss", "frozen", "covered", "moved"] = "video_loss"
    status: str | None = None
    reason: str | None = None
    down_s: float | None = None
    frozen_s: float | None = None
    covered_s: float | None = None
    brightness: float | None = None
    contrast: float | None = None
    moved_s: float | None = None
    scene_change: float | None = None

    @property
    def condition(self) -> str | None:
        return self.what

    def as_json(self) -> dict[str, object]:
        values = RuleDetail.as_json(self)
        values["condition"] = values.pop("what")
        return values
