"""The site file: one human-readable YAML file that describes a museum to Nightwatch.

`load_site(path)` reads, validates and cross-checks a site file and the plan images it names,
and returns a frozen `Site`; on any problem it raises `SiteFileError` holding every problem found,
each as `FILE: path.to.field: what is wrong (got VALUE)`. Relative paths in the file resolve
against the file's folder. The format is documented in docs/site-file.md; its JSON Schema
(resources/site.schema.json) is regenerated with

    python -m console.site_file --schema > resources/site.schema.json

Plan coordinates are pixels of a floor's plan image, image coordinates pixels of a camera frame.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from console.floor_plan import (
    CalibrationError,
    CameraCalibration,
    fit_homography,
    polygon_area,
    polygon_self_intersects,
)
from inference.sources import split_start

__all__ = [
    "FORMAT_VERSION",
    "AlarmSettings",
    "AlertRoute",
    "Calibration",
    "Camera",
    "Floor",
    "Guard",
    "OpeningHours",
    "ProtectedObject",
    "RuleSettings",
    "Site",
    "SiteFileError",
    "SiteInfo",
    "Zone",
    "load_site",
    "mask_credentials",
    "parse_hours",
    "site_schema",
]

FORMAT_VERSION = 1
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
HOURS_PATTERN = r"^(closed|[0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2})$"
URL_SCHEMES = ("rtsp", "rtsps", "http", "https", "rtmp")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Severity: TypeAlias = Literal["high", "medium", "low"]
_Date: TypeAlias = date  # a field named `date` would shadow the type in its class


# --------------------------------------------------------------------------- field types


_NO_GOT = object()


def _custom(kind: str, message: str, got: Any = _NO_GOT) -> PydanticCustomError:
    """A validation error; `got` replaces the input as the value shown after the message."""
    ctx = None if got is _NO_GOT else {"got": got}
    return PydanticCustomError(kind, message, ctx)


def _check_id(value: str) -> str:
    if not re.match(ID_PATTERN, value):
        raise _custom("bad_id", "an id uses letters, digits, '-', '_' and '.' only", value)
    return value


def _check_point(value: Any) -> Any:
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )
    if not ok:
        raise _custom("bad_point", "a point is [x, y]: two numbers, in pixels")
    if not all(abs(float(v)) < float("inf") for v in value):
        raise _custom("bad_point", "a point needs finite numbers")
    return value


def _check_polygon(value: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    if len(value) < 3:
        raise _custom("too_few_points", "needs at least 3 points", len(value))
    if polygon_self_intersects(value):
        raise _custom("self_intersecting", "the polygon's edges cross each other")
    if polygon_area(value) <= 0.0:
        raise _custom("no_area", "the polygon has no area (its points lie on one line)")
    return value


def parse_hours(value: str) -> tuple[int, int] | None:
    """'closed' -> None; 'HH:MM-HH:MM' -> (opens, closes) in seconds after local midnight.

    Raises ValueError for anything else, or when the place would close before it opens.
    """
    text = value.strip()
    if text == "closed":
        return None
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})", text)
    if not match:
        raise ValueError("should be 'closed' or opening-closing times like '10:00-17:00'")
    oh, om, ch, cm = (int(g) for g in match.groups())
    for hour, minute in ((oh, om), (ch, cm)):
        if minute > 59 or hour > 24 or (hour == 24 and minute != 0):
            raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day")
    opens, closes = oh * 3600 + om * 60, ch * 3600 + cm * 60
    if closes <= opens:
        raise ValueError(
            "closes before it opens (hours past midnight are not supported; use '24:00')"
        )
    return opens, closes


def _check_hours(value: str) -> str:
    try:
        parse_hours(value)
    except ValueError as exc:
        raise _custom("bad_hours", str(exc)) from None
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _custom(
            "bad_timezone", "unknown time zone (use an IANA name such as Europe/Amsterdam)"
        ) from None
    return value


def mask_credentials(url: str) -> str:
    """The URL with any user name and password replaced by ***."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", r"\1***@", url)


def _check_source(value: str) -> str:
    text = value.strip()
    if not text:
        raise _custom("bad_source", "needs a URL, a video file or usb:N")
    if text.startswith("usb:"):
        if not re.fullmatch(r"usb:[0-9]+", text):
            raise _custom("bad_source", "a USB camera is written usb:N, N a device number", text)
        return text
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() not in URL_SCHEMES:
            raise _custom(
                "bad_source",
                "unsupported URL scheme (use " + ", ".join(URL_SCHEMES) + ", a file or usb:N)",
                mask_credentials(text),
            )
        if "@" in parts.netloc:
            raise _custom(
                "credentials_in_url",
                "credentials belong in the secrets store (name them in `credentials`), "
                "not in the URL",
                mask_credentials(text),
            )
        if not parts.hostname:
            raise _custom("bad_source", "the URL names no host", text)
    return text


def _check_substream(value: str | None) -> str | None:
    if value is None:
        return None
    text = _check_source(value)
    if text.startswith("usb:"):
        raise _custom("bad_source", "a sub-stream is a URL or a file, not a USB device", text)
    return text


Id = Annotated[
    str, Field(min_length=1, json_schema_extra={"pattern": ID_PATTERN}), AfterValidator(_check_id)
]
Name = Annotated[str, Field(min_length=1)]
Point = Annotated[tuple[float, float], BeforeValidator(_check_point)]
Polygon = Annotated[
    tuple[Point, ...],
    AfterValidator(_check_polygon),
    Field(json_schema_extra={"minItems": 3}),
]
Hours = Annotated[
    str, AfterValidator(_check_hours), Field(json_schema_extra={"pattern": HOURS_PATTERN})
]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def _field(title: str, description: str, **kwargs: Any) -> Any:
    return Field(title=title, description=description, **kwargs)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=False)


# --------------------------------------------------------------------------- models


class SiteInfo(_Strict):
    """The museum itself."""

    name: Name = _field("Site name", "The museum's name, shown in the console and in exports.")
    timezone: Annotated[str, AfterValidator(_check_timezone)] = _field(
        "Time zone",
        "IANA time zone of the site (e.g. Europe/Amsterdam); opening hours are in this zone.",
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class HoursException(_Strict):
    """Different hours on one date (a holiday, a late opening)."""

    date: _Date = _field("Date", "The date, YYYY-MM-DD, in the site's time zone.")
    hours: Hours = _field("Hours", "'closed' or 'HH:MM-HH:MM' for this date.")
    note: str | None = _field("Note", "Why the hours differ (free text).", default=None)


class OpeningHours(_Strict):
    """When the museum is open to the public; outside these hours armed zones raise alarms."""

    mon: Hours = _field("Monday", "'closed' or 'HH:MM-HH:MM' (local time; '24:00' allowed).")
    tue: Hours = _field("Tuesday", "'closed' or 'HH:MM-HH:MM'.")
    wed: Hours = _field("Wednesday", "'closed' or 'HH:MM-HH:MM'.")
    thu: Hours = _field("Thursday", "'closed' or 'HH:MM-HH:MM'.")
    fri: Hours = _field("Friday", "'closed' or 'HH:MM-HH:MM'.")
    sat: Hours = _field("Saturday", "'closed' or 'HH:MM-HH:MM'.")
    sun: Hours = _field("Sunday", "'closed' or 'HH:MM-HH:MM'.")
    exceptions: tuple[HoursException, ...] = _field(
        "Exceptions",
        "Dates whose hours differ from their weekday's; one entry per date.",
        default=(),
    )

    def hours_on(self, day: date) -> tuple[int, int] | None:
        """(opens, closes) in seconds after local midnight on that date, or None when closed."""
        for exception in self.exceptions:
            if exception.date == day:
                return parse_hours(exception.hours)
        return parse_hours(getattr(self, WEEKDAYS[day.weekday()]))


class Floor(_Strict):
    """One storey of the building, with its plan image."""

    id: Id = _field("Floor id", "Unique id, referenced by cameras, objects and zones.")
    name: Name = _field("Floor name", "Shown in the console.")
    plan: Annotated[str, Field(min_length=1)] = _field(
        "Plan image",
        "Path of the floor plan image (PNG or JPEG), relative to the site file's folder.",
    )
    metres_per_pixel: Number = _field(
        "Scale, metres per pixel", "How many metres one plan pixel spans.", gt=0
    )

    _plan_path: Path = PrivateAttr(default=Path())
    _plan_size_px: tuple[int, int] | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        self._plan_path = _base_dir(context) / self.plan

    @property
    def plan_path(self) -> Path:
        """The plan image's path, resolved against the site file's folder."""
        return self._plan_path

    @property
    def plan_size_px(self) -> tuple[int, int] | None:
        """(width, height) of the plan image, known once `load_site` has read it."""
        return self._plan_size_px


class Calibration(_Strict):
    """Point pairs that map the camera's image onto the floor plan (a homography)."""

    image: tuple[Point, ...] = _field(
        "Image points", "At least 4 [x, y] points in the camera image, in pixels, on the floor."
    )
    plan: tuple[Point, ...] = _field(
        "Plan points", "The same points on the floor plan, in plan pixels, in the same order."
    )

    @field_validator("image")
    @classmethod
    def _enough_image_points(cls, value: tuple[Point, ...]) -> tuple[Point, ...]:
        if len(value) < 4:
            raise _custom("too_few_points", "needs at least 4 points", len(value))
        return value

    @field_validator("plan")
    @classmethod
    def _matching_plan_points(
        cls, value: tuple[Point, ...], info: ValidationInfo
    ) -> tuple[Point, ...]:
        if len(value) < 4:
            raise _custom("too_few_points", "needs at least 4 points", len(value))
        image = info.data.get("image")
        if image is not None and len(image) != len(value):
            raise _custom(
                "point_count",
                f"needs one plan point per image point ({len(image)} image points)",
                len(value),
            )
        return value


class Camera(_Strict):
    """One camera: where its video comes from and where it stands on the plan."""

    id: Id = _field("Camera id", "Unique id, used in alarms, logs and image_regions.")
    name: Name = _field("Camera name", "Shown on its tile.")
    floor: Id = _field("Floor", "Id of the floor the camera watches.")
    source: Annotated[str, AfterValidator(_check_source)] = _field(
        "Source",
        "Main stream: an rtsp/rtsps/http/https/rtmp URL without credentials, a video file "
        "(relative to the site file's folder; `clip.mp4#t=12.5` starts 12.5 s in) or usb:N.",
    )
    substream: Annotated[str | None, AfterValidator(_check_substream)] = _field(
        "Sub-stream",
        "Lower-resolution stream for the grid and for detection (URL or file).",
        default=None,
    )
    credentials: Id | None = _field(
        "Credentials key",
        "Name of the entry in the secrets store holding user and password.",
        default=None,
    )
    plan_position: Point | None = _field(
        "Plan position",
        "[x, y] of the camera on its floor's plan, in plan pixels.",
        default=None,
    )
    calibration: Calibration | None = _field(
        "Calibration",
        "Image-to-plan point pairs; without it, proximity is judged in the image.",
        default=None,
    )
    still_figure_regions: tuple[Polygon, ...] = _field(
        "Still-figure regions",
        "Image regions (each >= 3 [x, y] image pixels) where artworks that look like people "
        "stand: statues, mannequins, painted figures. A 'person' there who never moves raises "
        "nothing; a visitor who moves still does.",
        default=(),
    )

    _source_path: Path | None = PrivateAttr(default=None)
    _source_start_s: float = PrivateAttr(default=0.0)
    _substream_path: Path | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        if self.source_kind == "file":
            path, start_s = split_start(self.source)
            self._source_path = _base_dir(context) / path
            self._source_start_s = start_s
        if self.substream is not None and "://" not in self.substream:
            self._substream_path = _base_dir(context) / self.substream

    @property
    def source_kind(self) -> Literal["url", "file", "usb"]:
        if self.source.startswith("usb:"):
            return "usb"
        return "url" if "://" in self.source else "file"

    @property
    def usb_index(self) -> int | None:
        return int(self.source[4:]) if self.source_kind == "usb" else None

    @property
    def source_path(self) -> Path | None:
        """A file source's path, resolved against the site file's folder; None otherwise."""
        return self._source_path

    @property
    def resolved_source(self) -> str:
        """What to open: the URL, the resolved file path, or usb:N."""
        if self._source_path is None:
            return self.source
        start = f"#t={self._source_start_s:g}" if self._source_start_s else ""
        return f"{self._source_path}{start}"

    @property
    def resolved_substream(self) -> str | None:
        """The sub-stream to open (URL or resolved file path), or None when there is none."""
        if self._substream_path is not None:
            return str(self._substream_path)
        return self.substream


class ProtectedObject(_Strict):
    """An artwork or case to keep visitors away from."""

    id: Id = _field("Object id", "Unique id; the subject of its alarms.")
    name: Name = _field("Object name", "Shown in alarms.")
    floor: Id = _field("Floor", "Id of the floor the object is on.")
    kind: Literal["painting", "sculpture", "case", "other"] = _field(
        "Kind", "painting | sculpture | case | other.", default="other"
    )
    value: Severity = _field(
        "Value tier", "high | medium | low; sets the severity of the object's alarms."
    )
    plan_polygon: Polygon | None = _field(
        "Plan polygon",
        "The object's outline on the floor plan, >= 3 [x, y] plan pixels.",
        default=None,
    )
    image_regions: dict[Id, Polygon] = _field(
        "Image regions",
        "Per camera id, the object's outline in that camera's image, >= 3 [x, y] image pixels.",
        default_factory=dict,
    )
    min_distance_m: Number = _field(
        "Minimum distance, metres",
        "A person closer than this to the object raises an alarm.",
        gt=0,
    )


class Zone(_Strict):
    """An area of the floor: a gallery, a restricted room, an exit or a corridor."""

    id: Id = _field("Zone id", "Unique id; the subject of its alarms.")
    name: Name = _field("Zone name", "Shown in alarms.")
    floor: Id = _field("Floor", "Id of the floor the zone is on.")
    kind: Literal["gallery", "restricted", "exit", "corridor"] = _field(
        "Kind", "gallery | restricted (staff only: entering it is an alarm) | exit | corridor."
    )
    plan_polygon: Polygon = _field("Plan polygon", "The zone's outline, >= 3 [x, y] plan pixels.")
    loiter_s: Number | None = _field(
        "Loiter time, seconds",
        "A person staying longer than this raises a loitering alarm; "
        "omitted: no loitering alarm in this zone.",
        default=None,
        gt=0,
    )
    armed: StrictBool = _field(
        "Armed after hours",
        "Whether a person in this zone outside opening hours is an alarm.",
        default=True,
    )


class ProximityRule(_Strict):
    """A person closer than an object's min_distance_m."""

    enabled: StrictBool = _field("Enabled", "Whether the rule runs.", default=True)
    dwell_s: Number = _field(
        "Dwell, seconds",
        "How long a person must stay too close before the alarm (no blips).",
        default=0.5,
        ge=0,
    )


class AfterHoursRule(_Strict):
    """A person in an armed zone while the museum is closed."""

    enabled: StrictBool = _field("Enabled", "Whether the rule runs.", default=True)
    dwell_s: Number = _field(
        "Dwell, seconds", "How long a person must be seen before the alarm.", default=1.0, ge=0
    )


class LoiteringRule(_Strict):
    """A person staying in a zone longer than its loiter_s."""

    enabled: StrictBool = _field("Enabled", "Whether the rule runs.", default=True)


class RestrictedRule(_Strict):
    """A person entering a restricted zone."""

    enabled: StrictBool = _field("Enabled", "Whether the rule runs.", default=True)
    dwell_s: Number = _field(
        "Dwell, seconds", "How long a person must be inside before the alarm.", default=0.5, ge=0
    )


class ObjectMissingRule(_Strict):
    """A protected object's image region changed while nobody stands in front of it."""

    enabled: StrictBool = _field("Enabled", "Whether the rule runs.", default=True)
    check_every_s: Number = _field(
        "Check interval, seconds", "How often each object's region is compared.", default=30, gt=0
    )


class CameraHealthRule(_Strict):
    """Video loss, frozen image, camera covered or moved."""

    enabled: StrictBool = _field("Enabled", "Whether the rule runs.", default=True)
    video_loss_s: Number = _field(
        "Video loss, seconds", "No frame for this long is a video-loss alarm.", default=10, gt=0
    )
    frozen_s: Number = _field(
        "Frozen image, seconds",
        "An unchanged image for this long is a frozen-camera alarm.",
        default=30,
        gt=0,
    )


class RuleSettings(_Strict):
    """Switches and thresholds of the risk rules; omitted rules run with their defaults."""

    proximity: ProximityRule = _field(
        "Proximity", "Too close to a protected object.", default_factory=ProximityRule
    )
    after_hours: AfterHoursRule = _field(
        "After hours", "Presence in armed zones while closed.", default_factory=AfterHoursRule
    )
    loitering: LoiteringRule = _field(
        "Loitering", "Staying in a zone too long.", default_factory=LoiteringRule
    )
    restricted: RestrictedRule = _field(
        "Restricted", "Entering a restricted zone.", default_factory=RestrictedRule
    )
    object_missing: ObjectMissingRule = _field(
        "Object missing", "An object moved or removed.", default_factory=ObjectMissingRule
    )
    camera_health: CameraHealthRule = _field(
        "Camera health", "Video loss, frozen, covered, moved.", default_factory=CameraHealthRule
    )


class EscalationTimes(_Strict):
    """Seconds an alarm may stay unacknowledged, per severity, before it escalates."""

    high: Number = _field("High, seconds", "Escalation time of high-severity alarms.", gt=0)
    medium: Number = _field("Medium, seconds", "Escalation time of medium alarms.", gt=0)
    low: Number = _field("Low, seconds", "Escalation time of low alarms.", gt=0)


class AlarmSettings(_Strict):
    """How alarms escalate."""

    escalate_after_s: EscalationTimes = _field(
        "Escalate after, seconds",
        "Per severity, the time to acknowledge before escalation.",
        default_factory=lambda: EscalationTimes(high=30, medium=60, low=300),
    )


class RouteMatch(_Strict):
    """Which alarms a route applies to."""

    severity: tuple[Severity, ...] = _field(
        "Severities", "high, medium and/or low.", default=("high", "medium", "low"), min_length=1
    )
    zones: tuple[Id, ...] | None = _field(
        "Zones", "Zone ids the alarm's place must be in; omitted: every zone.", default=None
    )


class AlertRoute(_Strict):
    """Where matching alarms are announced."""

    match: RouteMatch = _field(
        "Match", "Which alarms take this route; omitted: all.", default_factory=RouteMatch
    )
    to: tuple[Literal["control_room", "gallery"], ...] = _field(
        "Destinations",
        "control_room (screen and sound) and/or gallery (speaker, strobe, radio).",
        min_length=1,
    )


class Guard(_Strict):
    """A guard who can be dispatched."""

    id: Id = _field("Guard id", "Unique id, stored with dispatches.")
    name: Name = _field("Guard name", "Shown in the dispatch dialog.")
    post: Name = _field("Post", "Where the guard is normally stationed.")


def _default_routes() -> tuple[AlertRoute, ...]:
    return (AlertRoute(to=("control_room",)),)


class Site(_Strict):
    """A museum: its floors, cameras, protected objects, zones, hours, rules, routes and guards."""

    version: Annotated[int, Strict()] = _field(
        "Format version", f"Version of the site-file format; this console reads {FORMAT_VERSION}."
    )
    site: SiteInfo = _field("Site", "The museum's name and time zone.")
    opening_hours: OpeningHours = _field("Opening hours", "Public hours, per weekday and date.")
    floors: tuple[Floor, ...] = _field("Floors", "At least one floor.", min_length=1)
    cameras: tuple[Camera, ...] = _field("Cameras", "At least one camera.", min_length=1)
    protected_objects: tuple[ProtectedObject, ...] = _field(
        "Protected objects", "Artworks and cases to guard.", default=()
    )
    zones: tuple[Zone, ...] = _field("Zones", "Areas of the floors.", default=())
    rules: RuleSettings = _field(
        "Rules", "Rule switches and thresholds.", default_factory=RuleSettings
    )
    alarms: AlarmSettings = _field("Alarms", "Alarm escalation.", default_factory=AlarmSettings)
    alert_routes: tuple[AlertRoute, ...] = _field(
        "Alert routes",
        "Where alarms are announced; every route that matches is used. Default: all alarms "
        "to the control room.",
        default_factory=_default_routes,
    )
    guards: tuple[Guard, ...] = _field("Guards", "Guards who can be dispatched.", default=())

    _base_dir: Path = PrivateAttr(default=Path())
    _calibrations: dict[str, CameraCalibration | None] = PrivateAttr(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: int) -> int:
        if value != FORMAT_VERSION:
            raise _custom(
                "bad_version", f"unsupported format version, this console reads {FORMAT_VERSION}"
            )
        return value

    @model_validator(mode="after")
    def _cross_references(self, info: ValidationInfo) -> Site:
        if isinstance(info.context, dict) and info.context.get("defer_checks"):
            return self
        problems = _cross_check(_Parts.of(self))
        if problems:
            raise ValueError("; ".join(p.format_without_file() for p in problems))
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._base_dir = _base_dir(context)

    # -- helpers for the rules and the runtime

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the site file resolve against."""
        return self._base_dir

    @property
    def tz(self) -> ZoneInfo:
        return self.site.tz

    def is_open(self, when: datetime) -> bool:
        """Whether the museum is open at this instant (an aware datetime, any time zone)."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("is_open needs a time-zone-aware datetime")
        local = when.astimezone(self.site.tz)
        hours = self.opening_hours.hours_on(local.date())
        if hours is None:
            return False
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return hours[0] <= second < hours[1]

    def floor(self, floor_id: str) -> Floor:
        return _by_id(self.floors, floor_id, "floor")

    def camera(self, camera_id: str) -> Camera:
        return _by_id(self.cameras, camera_id, "camera")

    def protected_object(self, object_id: str) -> ProtectedObject:
        return _by_id(self.protected_objects, object_id, "protected object")

    def zone(self, zone_id: str) -> Zone:
        return _by_id(self.zones, zone_id, "zone")

    def guard(self, guard_id: str) -> Guard:
        return _by_id(self.guards, guard_id, "guard")

    def cameras_on(self, floor_id: str) -> tuple[Camera, ...]:
        return tuple(c for c in self.cameras if c.floor == floor_id)

    def objects_on(self, floor_id: str) -> tuple[ProtectedObject, ...]:
        return tuple(o for o in self.protected_objects if o.floor == floor_id)

    def zones_on(self, floor_id: str) -> tuple[Zone, ...]:
        return tuple(z for z in self.zones if z.floor == floor_id)

    def objects_seen_by(self, camera_id: str) -> tuple[ProtectedObject, ...]:
        """Objects that have an image region in this camera."""
        return tuple(o for o in self.protected_objects if camera_id in o.image_regions)

    def calibration(self, camera_id: str) -> CameraCalibration | None:
        """The camera's image -> plan mapping, or None when it has no calibration."""
        if camera_id not in self._calibrations:
            camera = self.camera(camera_id)
            cal = camera.calibration
            self._calibrations[camera_id] = (
                None
                if cal is None
                else CameraCalibration.from_points(
                    cal.image, cal.plan, self.floor(camera.floor).metres_per_pixel
                )
            )
        return self._calibrations[camera_id]


def _by_id(items: Iterable[Any], wanted: str, what: str) -> Any:
    for item in items:
        if item.id == wanted:
            return item
    raise KeyError(f"no {what} with id {wanted!r}")


def _base_dir(context: Any) -> Path:
    if isinstance(context, dict) and context.get("base_dir") is not None:
        return Path(context["base_dir"])
    return Path()


# --------------------------------------------------------------------------- problems

_MISSING = object()


@dataclass(frozen=True)
class _Problem:
    path: str
    message: str
    got: Any = _MISSING

    def format_without_file(self) -> str:
        return f"{self.path}: {self.message} (got {_show(self.got)})"

    def format(self, file: str) -> str:
        return f"{file}: {self.format_without_file()}"


class SiteFileError(Exception):
    """A site file that cannot be used; `problems` holds every problem found, one line each."""

    def __init__(self, file: str, problems: Sequence[str]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _show(value: Any, limit: int = 80) -> str:
    text = _show_inner(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_inner(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show_inner(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show_inner(v) for v in value) + "]"
    return repr(value)


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "<document>"


def _model_fields_at(loc: Sequence[int | str]) -> list[str]:
    """Field names of the model found by following loc from Site (for 'did you mean')."""
    tp: Any = Site
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return []
            tp = tp.model_fields[part].annotation
            continue
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is tuple and args:
            tp = args[0]
        elif origin is dict and len(args) == 2:
            tp = args[1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


_MESSAGE_FIXES = (
    ("Input should be a valid tuple", "should be a list"),
    ("Input should be a valid dictionary or instance of", "should be a mapping of"),
    ("Input should be a valid dictionary", "should be a mapping"),
    ("Input should be", "should be"),
    ("String should", "should"),
)


def _from_pydantic(error: Any) -> _Problem:
    loc = tuple(error.get("loc", ()))
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input", _MISSING)
    if kind == "missing":
        return _Problem(_path(loc), "required field missing")
    if kind == "extra_forbidden":
        message = "unknown field"
        known = _model_fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1) if known else []
        if close:
            message += f", did you mean '{close[0]}'?"
        return _Problem(_path(loc), message, value)
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "at least" if kind == "too_short" else "at most"
        items = "item" if bound == 1 else "items"
        return _Problem(_path(loc), f"needs {word} {bound} {items}", ctx.get("actual_length"))
    if "got" in ctx:
        value = ctx["got"]
    message = str(error.get("msg", kind))
    message = message.removeprefix("Value error, ")
    for old, new in _MESSAGE_FIXES:
        if message.startswith(old):
            message = new + message[len(old) :]
            break
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "should be a mapping of fields"
    message = message[:1].lower() + message[1:]
    return _Problem(_path(loc), message, value)


# --------------------------------------------------------------------------- cross-checks


@dataclass
class _Parts:
    """The parts of a site that validated, with their index in the file."""

    floors: list[tuple[int, Floor]]
    cameras: list[tuple[int, Camera]]
    protected_objects: list[tuple[int, ProtectedObject]]
    zones: list[tuple[int, Zone]]
    guards: list[tuple[int, Guard]]
    alert_routes: list[tuple[int, AlertRoute]]
    opening_hours: OpeningHours | None
    # Ids present in the file, including those of items that failed validation (so that a
    # reference to a broken item is not also reported as a reference to nothing).
    # None where the section is not even a list: references into it are then not checked.
    known_ids: dict[str, set[str] | None]

    @classmethod
    def of(cls, site: Site) -> _Parts:
        return cls(
            known_ids={
                "floors": {f.id for f in site.floors},
                "cameras": {c.id for c in site.cameras},
                "zones": {z.id for z in site.zones},
            },
            floors=list(enumerate(site.floors)),
            cameras=list(enumerate(site.cameras)),
            protected_objects=list(enumerate(site.protected_objects)),
            zones=list(enumerate(site.zones)),
            guards=list(enumerate(site.guards)),
            alert_routes=list(enumerate(site.alert_routes)),
            opening_hours=site.opening_hours,
        )


def _unique_ids(section: str, items: list[tuple[int, Any]]) -> Iterator[_Problem]:
    first: dict[str, int] = {}
    for index, item in items:
        if item.id in first:
            yield _Problem(
                f"{section}[{index}].id",
                f"duplicate id, also used by {section}[{first[item.id]}]",
                item.id,
            )
        else:
            first[item.id] = index


def _outside(
    path: str, points: Sequence[tuple[float, float]], floor: Floor | None
) -> Iterator[_Problem]:
    size = floor.plan_size_px if floor is not None else None
    if size is None or floor is None:
        return
    width, height = size
    for index, (x, y) in enumerate(points):
        if not (0 <= x <= width and 0 <= y <= height):
            yield _Problem(
                f"{path}[{index}]",
                f"point outside the {width} x {height} px plan of floor '{floor.id}'",
                [x, y],
            )


def _negative(path: str, polygon: Sequence[Sequence[float]]) -> list[_Problem]:
    """Image polygons live in pixels: no negative coordinates."""
    return [
        _Problem(f"{path}[{i}]", "image coordinates cannot be negative", [x, y])
        for i, (x, y) in enumerate(polygon)
        if x < 0 or y < 0
    ]


def _cross_check(parts: _Parts) -> list[_Problem]:
    problems: list[_Problem] = []
    for section in ("floors", "cameras", "protected_objects", "zones", "guards"):
        problems += _unique_ids(section, getattr(parts, section))
    zone_ids = {z.id: i for i, z in parts.zones}
    for index, obj in parts.protected_objects:
        if obj.id in zone_ids:
            problems.append(
                _Problem(
                    f"protected_objects[{index}].id",
                    f"same id as zones[{zone_ids[obj.id]}]; alarms name objects and zones by id",
                    obj.id,
                )
            )

    floors = {f.id: f for _, f in parts.floors}

    def unknown(section: str, wanted: str) -> bool:
        known = parts.known_ids[section]
        return known is not None and wanted not in known

    def floor_of(path: str, floor_id: str) -> Floor | None:
        if unknown("floors", floor_id):
            problems.append(_Problem(f"{path}.floor", "no floor with this id", floor_id))
        return floors.get(floor_id)

    for index, cam in parts.cameras:
        path = f"cameras[{index}]"
        floor = floor_of(path, cam.floor)
        for region_index, region in enumerate(cam.still_figure_regions):
            problems += _negative(f"{path}.still_figure_regions[{region_index}]", region)
        if cam.plan_position is not None and floor is not None and floor.plan_size_px:
            width, height = floor.plan_size_px
            x, y = cam.plan_position
            if not (0 <= x <= width and 0 <= y <= height):
                problems.append(
                    _Problem(
                        f"{path}.plan_position",
                        f"point outside the {width} x {height} px plan of floor '{floor.id}'",
                        [x, y],
                    )
                )
        if cam.calibration is not None:
            cal = cam.calibration
            problems += _outside(f"{path}.calibration.plan", cal.plan, floor)
            try:
                fit_homography(cal.image, cal.plan)
            except CalibrationError as exc:
                side = exc.side or "image"
                problems.append(
                    _Problem(
                        f"{path}.calibration.{side}",
                        exc.reason,
                        [list(p) for p in getattr(cal, side)],
                    )
                )

    for index, obj in parts.protected_objects:
        path = f"protected_objects[{index}]"
        floor = floor_of(path, obj.floor)
        if obj.plan_polygon is None and not obj.image_regions:
            problems.append(
                _Problem(path, "needs a plan_polygon or at least one image_regions entry", obj.id)
            )
        if obj.plan_polygon is not None:
            problems += _outside(f"{path}.plan_polygon", obj.plan_polygon, floor)
        for camera_id, region in obj.image_regions.items():
            if unknown("cameras", camera_id):
                problems.append(
                    _Problem(
                        f"{path}.image_regions.{camera_id}", "no camera with this id", camera_id
                    )
                )
            problems += _negative(f"{path}.image_regions.{camera_id}", region)

    for index, zone in parts.zones:
        path = f"zones[{index}]"
        floor = floor_of(path, zone.floor)
        problems += _outside(f"{path}.plan_polygon", zone.plan_polygon, floor)

    for index, route in parts.alert_routes:
        for zone_index, zone_id in enumerate(route.match.zones or ()):
            if unknown("zones", zone_id):
                problems.append(
                    _Problem(
                        f"alert_routes[{index}].match.zones[{zone_index}]",
                        "no zone with this id",
                        zone_id,
                    )
                )

    if parts.opening_hours is not None:
        seen: dict[date, int] = {}
        for index, exception in enumerate(parts.opening_hours.exceptions):
            if exception.date in seen:
                problems.append(
                    _Problem(
                        f"opening_hours.exceptions[{index}].date",
                        f"date listed twice, also in exceptions[{seen[exception.date]}]",
                        exception.date,
                    )
                )
            else:
                seen[exception.date] = index
    return problems


def _partial_parts(data: dict[str, Any], context: dict[str, Any]) -> _Parts:
    """Validate each list item on its own, so cross-checks can run beside other errors."""

    def items(key: str, model: type[BaseModel]) -> list[tuple[int, Any]]:
        raw = data.get(key)
        if not isinstance(raw, list):
            return []
        out = []
        for index, item in enumerate(raw):
            try:
                out.append((index, model.model_validate(item, context=context)))
            except ValidationError:
                continue
        return out

    try:
        hours: OpeningHours | None = OpeningHours.model_validate(
            data.get("opening_hours"), context=context
        )
    except ValidationError:
        hours = None

    def raw_ids(key: str) -> set[str] | None:
        raw = data.get(key, [])
        if not isinstance(raw, list):
            return None
        return {str(item["id"]) for item in raw if isinstance(item, dict) and "id" in item}

    return _Parts(
        known_ids={key: raw_ids(key) for key in ("floors", "cameras", "zones")},
        floors=items("floors", Floor),
        cameras=items("cameras", Camera),
        protected_objects=items("protected_objects", ProtectedObject),
        zones=items("zones", Zone),
        guards=items("guards", Guard),
        alert_routes=items("alert_routes", AlertRoute),
        opening_hours=hours,
    )


# --------------------------------------------------------------------------- files


def _read_plan(floor: Floor) -> str | None:
    """Read the floor's plan image, record its size; returns what is wrong, or None."""
    path = floor.plan_path
    if not path.exists():
        return f"plan image not found at {path}"
    if not path.is_file():
        return f"plan image is not a file: {path}"
    try:
        import numpy as np

        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        return f"cannot read plan image: {exc.strerror or exc}"
    if raw.size == 0:
        return "plan image is empty"
    import cv2

    image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        return "plan image is corrupt or not an image (PNG or JPEG)"
    floor._plan_size_px = (int(image.shape[1]), int(image.shape[0]))
    return None


def _check_files(parts: _Parts) -> list[_Problem]:
    problems = []
    for index, floor in parts.floors:
        wrong = _read_plan(floor)
        if wrong:
            problems.append(_Problem(f"floors[{index}].plan", wrong, floor.plan))
    for index, cam in parts.cameras:
        if cam.source_path is not None and not cam.source_path.is_file():
            problems.append(
                _Problem(
                    f"cameras[{index}].source",
                    f"video file not found at {cam.source_path}",
                    cam.source,
                )
            )
    return problems


class _SiteLoader(yaml.SafeLoader):
    """YAML 1.1 safe loader without its surprises: 10:30 is not the number 630, dates stay
    strings for pydantic to check, and 0755 is not octal."""


_SiteLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag.rsplit(":", 1)[-1] not in {"int", "float", "timestamp"}
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SiteLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_SiteLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)[eE][-+]?[0-9]+
        |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _duplicate_keys(node: yaml.Node, loc: tuple[int | str, ...] = ()) -> Iterator[_Problem]:
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key != "<<":
                line = key_node.start_mark.line + 1
                if key in first_line:
                    got = value_node.value if isinstance(value_node, yaml.ScalarNode) else _MISSING
                    yield _Problem(
                        _path((*loc, key)),
                        f"key given twice, on lines {first_line[key]} and {line}",
                        got,
                    )
                else:
                    first_line[key] = line
            yield from _duplicate_keys(value_node, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _parse_yaml(text: str) -> tuple[Any, list[_Problem]]:
    loader = _SiteLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        problems = list(_duplicate_keys(node))
        return loader.construct_document(node), problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is None:
            return None, [_Problem("<document>", f"invalid YAML: {exc.problem or exc}")]
        lines = text.splitlines()
        got = lines[mark.line].strip() if mark.line < len(lines) else _MISSING
        what = exc.problem or "syntax error"
        if exc.context:
            what = f"{what} ({exc.context})"
        return None, [
            _Problem(f"line {mark.line + 1} column {mark.column + 1}", f"invalid YAML: {what}", got)
        ]
    except yaml.YAMLError as exc:
        return None, [_Problem("<document>", f"invalid YAML: {exc}")]
    finally:
        loader.dispose()


def load_site(path: str | os.PathLike[str]) -> Site:
    """Read and validate a site file and the images it names; raise SiteFileError on problems.

    Relative paths in the file resolve against the file's folder. Problems name the file as
    given here.
    """
    file = os.fspath(path)
    site_path = Path(file)
    try:
        text = site_path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SiteFileError(
            file, [_Problem("<document>", "site file not found", file).format(file)]
        ) from None
    except UnicodeDecodeError as exc:
        raise SiteFileError(
            file, [_Problem("<document>", f"not UTF-8 text (byte {exc.start})").format(file)]
        ) from None
    except OSError as exc:
        raise SiteFileError(
            file,
            [
                _Problem("<document>", f"cannot read the site file: {exc.strerror}", file).format(
                    file
                )
            ],
        ) from None

    data, problems = _parse_yaml(text)
    if problems and data is None:
        raise SiteFileError(file, [p.format(file) for p in problems])
    if data is None:
        raise SiteFileError(file, [_Problem("<document>", "the site file is empty").format(file)])
    if not isinstance(data, dict):
        raise SiteFileError(
            file,
            [
                _Problem(
                    "<document>", "should be a mapping of sections (version, site, ...)", data
                ).format(file)
            ],
        )

    context = {"base_dir": site_path.resolve().parent, "defer_checks": True}
    site: Site | None = None
    try:
        site = Site.model_validate(data, context=context)
        parts = _Parts.of(site)
    except ValidationError as exc:
        errors = exc.errors()
        # A list whose items failed also reports being too short: the item errors say it all.
        errors = [
            e
            for e in errors
            if e["type"] != "too_short"
            or not any(
                len(o["loc"]) > len(e["loc"]) and o["loc"][: len(e["loc"])] == e["loc"]
                for o in errors
            )
        ]
        problems += [_from_pydantic(e) for e in errors]
        parts = _partial_parts(data, context)
    problems += _check_files(parts)
    problems += _cross_check(parts)
    if problems or site is None:
        raise SiteFileError(file, [p.format(file) for p in problems])
    return site


def site_schema() -> dict[str, Any]:
    """The JSON Schema of the site file, for editors (resources/site.schema.json)."""
    schema = Site.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://nightwatch.example/site.schema.json"
    return schema


def _main(argv: Sequence[str]) -> int:
    if list(argv) == ["--schema"]:
        sys.stdout.write(json.dumps(site_schema(), indent=2, ensure_ascii=False) + "\n")
        return 0
    sys.stderr.write("usage: python -m console.site_file --schema\n")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
