"""The site file's models: strict pydantic models with a title, a description and a unit per
field, and the field types they share (ids, points, polygons, opening hours, camera sources).

`Site` is the whole file. Validating it (`Site.model_validate`) also runs the cross-checks of
`console.site_file.cross_checks`; `load_site` defers those so that it can report them beside
the structural problems and the files'.

Plan coordinates are pixels of a floor's plan image, image coordinates pixels of a camera frame.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from console.floor_plan import CameraCalibration, polygon_area, polygon_self_intersects
from console.site_file.problems import MISSING
from inference.detectors.loading import KINDS as DETECTOR_KINDS
from inference.sources import mask_credentials, split_start

__all__ = [
    "FORMAT_VERSION",
    "AlarmSettings",
    "AlertDestination",
    "AlertDestinations",
    "AlertRoute",
    "Arming",
    "BehaviourSettings",
    "Calibration",
    "Camera",
    "DetectionSettings",
    "EvidenceSettings",
    "Floor",
    "Guard",
    "MqttDestination",
    "OpeningHours",
    "PrivacySettings",
    "ProtectedObject",
    "RetentionSettings",
    "RuleSettings",
    "Site",
    "SiteInfo",
    "WebhookDestination",
    "Zone",
    "ZoneHours",
    "parse_hours",
    "parse_periods",
    "wall_clock_instant",
]

FORMAT_VERSION = 1
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_RANGE = r"[0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2}"
HOURS_PATTERN = rf"^(closed|{_RANGE}( *, *{_RANGE})*)$"
MAX_PERIODS_PER_DAY = 4
URL_SCHEMES = ("rtsp", "rtsps", "http", "https", "rtmp")
WEBHOOK_SCHEMES = ("https", "http")
HOST_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$"  # a DNS name, IPv4 or bare IPv6
TOPIC_PREFIX_PATTERN = r"^[^/+#\x00][^+#\x00]*$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Bounds that keep the checks of a hostile file short (docs/site-file.md, "Limits"): an id is
# written into alarms and messages; a polygon's crossing check and a calibration's fit take
# time with the square of their points.
MAX_ID_CHARS = 64
MAX_POLYGON_POINTS = 64
MAX_CALIBRATION_POINTS = 32

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
    if len(value) > MAX_POLYGON_POINTS:
        raise _custom("too_many_points", f"needs at most {MAX_POLYGON_POINTS} points", len(value))
    fault = _polygon_fault(value)
    if fault is not None:
        raise _custom(*fault)
    return value


@functools.lru_cache(maxsize=1024)
def _polygon_fault(polygon: tuple[tuple[float, float], ...]) -> tuple[str, str] | None:
    """What is wrong with a polygon's shape, remembered: `load_site` validates a part twice when
    another part failed, and the crossing check costs the square of the points."""
    if polygon_self_intersects(polygon):
        return ("self_intersecting", "the polygon's edges cross each other")
    if polygon_area(polygon) <= 0.0:
        return ("no_area", "the polygon has no area (its points lie on one line)")
    return None


Period: TypeAlias = tuple[int, int]  # opens, closes: seconds after the day's local midnight


def parse_periods(value: str) -> tuple[Period, ...]:
    """'closed' -> (); 'HH:MM-HH:MM[, HH:MM-HH:MM...]' -> the periods, in seconds after the
    day's local midnight, sorted.

    A period whose closing time is not after its opening time runs past midnight:
    '18:00-02:00' is (64800, 93600), open until 02:00 the next day. '24:00' is midnight at the
    end of the day. Raises ValueError for anything else, for a period that opens and closes at
    the same time, and for periods of one day that overlap.
    """
    text = value.strip()
    if text == "closed":
        return ()
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > MAX_PERIODS_PER_DAY:
        raise ValueError(f"at most {MAX_PERIODS_PER_DAY} periods a day (got {len(parts)})")
    periods: list[Period] = []
    for part in parts:
        match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})", part)
        if not match:
            raise ValueError("should be 'closed' or opening-closing times like '10:00-17:00'")
        oh, om, ch, cm = (int(g) for g in match.groups())
        for hour, minute in ((oh, om), (ch, cm)):
            if minute > 59 or hour > 24 or (hour == 24 and minute != 0):
                raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day")
        opens, closes = oh * 3600 + om * 60, ch * 3600 + cm * 60
        if closes == opens or (opens == 86400 and closes == 0):
            raise ValueError(f"{part} opens and closes at the same time (all day is '00:00-24:00')")
        if opens == 86400:
            raise ValueError(f"{part}: 24:00 is a closing time, not an opening time")
        if closes < opens:  # past midnight: until that time the next day
            closes += 86400
        periods.append((opens, closes))
    periods.sort()
    for (_, first_closes), (second_opens, _) in itertools.pairwise(periods):
        if second_opens < first_closes:
            raise ValueError(f"the periods of '{text}' overlap")
    return tuple(periods)


def parse_hours(value: str) -> tuple[int, int] | None:
    """'closed' -> None; 'HH:MM-HH:MM' -> (opens, closes) in seconds after local midnight
    (closes past 86400 for hours past midnight); with several periods, the first opening and
    the last closing. Raises ValueError like `parse_periods`."""
    periods = parse_periods(value)
    if not periods:
        return None
    return periods[0][0], periods[-1][1]


@functools.lru_cache(maxsize=4096)
def wall_clock_instant(day: date, seconds: float, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the site's clocks show `day` plus `seconds` or later.

    This is how opening and closing times are read on the nights clocks change: a time the
    clocks skip (02:30 on a spring-forward night) is reached when they jump past it (03:00
    summer time); a time they show twice (02:30 on an autumn night) is its first showing, so a
    museum that closes at 02:30 does not open again when the clocks go back.
    """
    naive = datetime.combine(day, time()) + timedelta(seconds=seconds)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first  # the time exists; fold 0 is its first showing
    # skipped by the clocks: the first instant whose reading is at or after it is the jump
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # read before the jump
    high = first
    while (high - low) > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def open_at(when: datetime, tz: ZoneInfo, periods_on: Callable[[date], tuple[Period, ...]]) -> bool:
    """Whether `when` (aware) falls in a period of its local day or of the day before (hours
    past midnight), the periods read on the wall clock (`wall_clock_instant`)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("opening hours need a time-zone-aware datetime")
    local_day = when.astimezone(tz).date()
    for day in (local_day - timedelta(days=1), local_day):
        for opens, closes in periods_on(day):
            if wall_clock_instant(day, opens, tz) <= when < wall_clock_instant(day, closes, tz):
                return True
    return False


def _check_hours(value: str) -> str:
    try:
        parse_periods(value)
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


def _check_source(value: str) -> str:
    text = value.strip()
    if not text:
        raise _custom("bad_source", "needs a URL, a video file or usb:N")
    if text.startswith("usb:"):
        if not re.fullmatch(r"usb:[0-9]+", text):
            raise _custom("bad_source", "a USB camera is written usb:N, N a device number", text)
        return text
    if "://" in text:
        shown = mask_credentials(text, hide_user=True)
        try:
            parts = urlsplit(text)
        except ValueError as exc:  # e.g. "Invalid IPv6 URL"
            raise _custom("bad_source", f"not a valid URL: {exc}", shown) from None
        if parts.scheme.lower() not in URL_SCHEMES:
            raise _custom(
                "bad_source",
                "unsupported URL scheme (use " + ", ".join(URL_SCHEMES) + ", a file or usb:N)",
                shown,
            )
        # "@" in the host part: a user name; a masked password: also one with a raw "/" in it,
        # which urlsplit takes for the start of the path
        if "@" in parts.netloc or mask_credentials(text) != text:
            raise _custom(
                "credentials_in_url",
                "credentials belong in the secrets store (name them in `credentials`), "
                "not in the URL",
                shown,
            )
        if not parts.hostname:
            raise _custom("bad_source", "the URL names no host", shown)
    return text


def _check_substream(value: str | None) -> str | None:
    if value is None:
        return None
    text = _check_source(value)
    if text.startswith("usb:"):
        raise _custom("bad_source", "a sub-stream is a URL or a file, not a USB device", text)
    return text


Id = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_CHARS, json_schema_extra={"pattern": ID_PATTERN}),
    AfterValidator(_check_id),
]
Name = Annotated[str, Field(min_length=1)]
Point = Annotated[tuple[float, float], BeforeValidator(_check_point)]
Polygon = Annotated[
    tuple[Point, ...],
    AfterValidator(_check_polygon),
    Field(json_schema_extra={"minItems": 3, "maxItems": MAX_POLYGON_POINTS}),
]
Hours = Annotated[
    str, AfterValidator(_check_hours), Field(json_schema_extra={"pattern": HOURS_PATTERN})
]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
FrameSize = Annotated[
    tuple[
        Annotated[int, Strict(), Field(ge=16, le=16384)],
        Annotated[int, Strict(), Field(ge=16, le=16384)],
    ],
    Field(json_schema_extra={"minItems": 2, "maxItems": 2}),
]


class Arming(StrEnum):
    """When a person in a zone raises an intrusion alarm (rule `after_hours`)."""

    ALWAYS = "always"  # day and night (a room closed for works, a vault)
    AFTER_HOURS = "after_hours"  # while the zone is closed: the site's hours or its own
    NEVER = "never"  # never (the guards' own post)

    @classmethod
    def of(cls, value: object) -> Arming:
        """The arming a zone's `armed` value means; `true` and `false` are the older spelling
        of after_hours and never."""
        if value is True:
            return cls.AFTER_HOURS
        if value is False:
            return cls.NEVER
        return cls(str(value))


def _arming_before(value: Any) -> Any:
    if isinstance(value, bool):
        return Arming.of(value)
    if isinstance(value, str) and value not in {a.value for a in Arming}:
        raise _custom(
            "bad_arming", "should be 'always', 'after_hours' or 'never' (or true / false)", value
        )
    if not isinstance(value, str | Arming):
        raise _custom("bad_arming", "should be 'always', 'after_hours' or 'never'", value)
    return value


ArmingField = Annotated[
    Arming,
    BeforeValidator(_arming_before),
    Field(json_schema_extra={"anyOf": [{"enum": [a.value for a in Arming]}, {"type": "boolean"}]}),
]


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
    """Different hours on one date (a holiday, a closure, a late opening, an evening event)."""

    date: _Date = _field("Date", "The date, YYYY-MM-DD, in the site's time zone.")
    hours: Hours = _field(
        "Hours",
        "'closed' or 'HH:MM-HH:MM' for this date (several: '10:00-17:00, 19:00-01:30'; a "
        "closing time before the opening time is the next day's).",
    )
    note: str | None = _field("Note", "Why the hours differ (free text).", default=None)


_DAY_HOURS = (
    "'closed' or 'HH:MM-HH:MM' (local time; several periods separated by commas; a closing "
    "time before the opening time is the next day's: '18:00-02:00'; '24:00' is midnight)."
)


class OpeningHours(_Strict):
    """When the museum is open to the public; outside these hours armed zones raise alarms."""

    mon: Hours = _field("Monday", _DAY_HOURS)
    tue: Hours = _field("Tuesday", _DAY_HOURS)
    wed: Hours = _field("Wednesday", _DAY_HOURS)
    thu: Hours = _field("Thursday", _DAY_HOURS)
    fri: Hours = _field("Friday", _DAY_HOURS)
    sat: Hours = _field("Saturday", _DAY_HOURS)
    sun: Hours = _field("Sunday", _DAY_HOURS)
    exceptions: tuple[HoursException, ...] = _field(
        "Exceptions",
        "Dates whose hours differ from their weekday's; one entry per date.",
        default=(),
    )

    def periods_on(self, day: date) -> tuple[Period, ...]:
        """The periods that open on that date (seconds after its local midnight; a period
        past midnight closes after 86400), () when closed: its exception, else its weekday."""
        for exception in self.exceptions:
            if exception.date == day:
                return parse_periods(exception.hours)
        return parse_periods(getattr(self, WEEKDAYS[day.weekday()]))

    def hours_on(self, day: date) -> tuple[int, int] | None:
        """(opens, closes) in seconds after local midnight on that date, or None when closed;
        with several periods the first opening and the last closing (see `periods_on`)."""
        periods = self.periods_on(day)
        return (periods[0][0], periods[-1][1]) if periods else None


class ZoneHours(_Strict):
    """A zone's own hours (a cafe open late, a room closed for works); days left out keep the
    site's hours (and the site's exceptions)."""

    mon: Hours | None = _field("Monday", _DAY_HOURS + " Omitted: the site's.", default=None)
    tue: Hours | None = _field("Tuesday", "As mon.", default=None)
    wed: Hours | None = _field("Wednesday", "As mon.", default=None)
    thu: Hours | None = _field("Thursday", "As mon.", default=None)
    fri: Hours | None = _field("Friday", "As mon.", default=None)
    sat: Hours | None = _field("Saturday", "As mon.", default=None)
    sun: Hours | None = _field("Sunday", "As mon.", default=None)
    exceptions: tuple[HoursException, ...] = _field(
        "Exceptions", "The zone's own dated hours; they come before everything else.", default=()
    )

    def periods_on(self, day: date, site_hours: OpeningHours) -> tuple[Period, ...]:
        """The zone's periods opening on that date: its exception, its weekday, else the
        site's (with the site's exceptions)."""
        for exception in self.exceptions:
            if exception.date == day:
                return parse_periods(exception.hours)
        own = getattr(self, WEEKDAYS[day.weekday()])
        return parse_periods(own) if own is not None else site_hours.periods_on(day)


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


def _check_calibration_count(points: tuple[Point, ...]) -> None:
    if len(points) < 4:
        raise _custom("too_few_points", "needs at least 4 points", len(points))
    if len(points) > MAX_CALIBRATION_POINTS:
        raise _custom(
            "too_many_points", f"needs at most {MAX_CALIBRATION_POINTS} points", len(points)
        )


class Calibration(_Strict):
    """Point pairs that map the camera's image onto the floor plan (a homography)."""

    image: tuple[Point, ...] = _field(
        "Image points",
        f"4 to {MAX_CALIBRATION_POINTS} [x, y] points on the floor in the camera image, in pixels.",
        json_schema_extra={"minItems": 4, "maxItems": MAX_CALIBRATION_POINTS},
    )
    plan: tuple[Point, ...] = _field(
        "Plan points",
        "The same points on the floor plan, in plan pixels, in the same order.",
        json_schema_extra={"minItems": 4, "maxItems": MAX_CALIBRATION_POINTS},
    )

    @field_validator("image")
    @classmethod
    def _enough_image_points(cls, value: tuple[Point, ...]) -> tuple[Point, ...]:
        _check_calibration_count(value)
        return value

    @field_validator("plan")
    @classmethod
    def _matching_plan_points(
        cls, value: tuple[Point, ...], info: ValidationInfo
    ) -> tuple[Point, ...]:
        _check_calibration_count(value)
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
    frame_size_px: FrameSize | None = _field(
        "Frame size, pixels",
        "[width, height] of the frames the detector sees (the sub-stream's, if any). Image "
        "points of this camera (image_regions, still-figure regions, calibration) must lie in "
        "it. Omitted: nightwatch check reads a video file's first frame; a stream's outlines "
        "cannot be checked (a warning).",
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
    _probed_frame_size_px: tuple[int, int] | None = PrivateAttr(default=None)

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """(width, height) of the detector's frames: as declared, else as read from the video
        file by `load_site(probe_videos=True)`; None when unknown (a stream, not probed)."""
        if self.frame_size_px is not None:
            return int(self.frame_size_px[0]), int(self.frame_size_px[1])
        return self._probed_frame_size_px

    @property
    def probed_frame_size(self) -> tuple[int, int] | None:
        """The detector video file's frame size as `load_site(probe_videos=True)` read it."""
        return self._probed_frame_size_px

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
    def substream_path(self) -> Path | None:
        """A file sub-stream's path (without a `#t=` start), resolved; None otherwise."""
        if self._substream_path is None:
            return None
        return self._substream_path.with_name(split_start(self._substream_path.name)[0])

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
    armed: ArmingField = _field(
        "Armed",
        "When a person in this zone is an intrusion alarm: 'after_hours' (outside the zone's "
        "opening hours: its own `opening_hours`, else the site's), 'always', or 'never' (e.g. "
        "the guards' own post). true and false are the older spelling of after_hours and never.",
        default=Arming.AFTER_HOURS,
    )
    opening_hours: ZoneHours | None = _field(
        "Own opening hours",
        "The zone's own hours where they differ from the site's (a cafe open late, a room "
        "closed for works); days left out keep the site's. Used by armed: after_hours.",
        default=None,
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
    """A person in an armed zone while it is closed (or in a zone armed always)."""

    enabled: StrictBool = _field("Enabled", "Whether the rule runs.", default=True)
    dwell_s: Number = _field(
        "Dwell, seconds", "How long a person must be seen before the alarm.", default=1.0, ge=0
    )
    unplaced_person: StrictBool = _field(
        "Unplaced person",
        "While the museum is closed, a person a camera sees but cannot place in any zone (an "
        "uncalibrated camera outside every zone) also raises an alarm, with the camera as its "
        "subject.",
        default=True,
    )


class LoiteringRule(_Strict):
    """A person staying in a zone longer than its loiter_s, or near one object too long."""

    enabled: StrictBool = _field("Enabled", "Whether the rule runs.", default=True)
    near_object_s: Number = _field(
        "Near one object, seconds",
        "A person near one protected object (within 2 m, and at least its min_distance_m) for "
        "this long is loitering.",
        default=120.0,
        gt=0,
        le=86400,
    )


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
    changed_share_min: Number = _field(
        "Changed share",
        "A region with at least this share (0 to 1) of its pixels changed is missing or moved.",
        default=0.25,
        gt=0,
        le=1,
    )
    confirm_s: Number = _field(
        "Confirm after, seconds",
        "...once changed samples at least this many seconds apart agree.",
        default=5.0,
        ge=0,
        le=3600,
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
    covered_s: Number = _field(
        "Covered, seconds",
        "A dark or uniform image for this long is a covered-camera alarm.",
        default=3.0,
        ge=0,
        le=3600,
    )
    moved_s: Number = _field(
        "Moved, seconds",
        "A view that no longer matches its reference for this long is a moved-camera alarm.",
        default=2.0,
        ge=0,
        le=3600,
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
    """How findings become alarms, and how alarms escalate."""

    escalate_after_s: EscalationTimes = _field(
        "Escalate after, seconds",
        "Per severity, the time to acknowledge before escalation.",
        default_factory=lambda: EscalationTimes(high=30, medium=60, low=300),
    )
    clear_after_s: Number = _field(
        "Risk clears after, seconds",
        "A sighting ends when its rule has not found it for this long (and for at least 2.5 "
        "times the camera's usual time between looks, so a camera judged every few seconds "
        "does not flicker between present and cleared).",
        default=3.0,
        gt=0,
        le=600,
    )
    rearm_s: Number = _field(
        "Re-arm after resolving, seconds",
        "After an alarm is resolved, the same person at the same place raises no new alarm "
        "for this long (the visitor who was just warned is still stepping back). Never for "
        "high severity: a high risk present now is always shown. Each such suppression is "
        "written to the audit log. 0 switches it off.",
        default=30.0,
        ge=0,
        le=3600,
    )


class BehaviourSettings(_Strict):
    """Learning what is normal in this museum, advisories about the few visitors who depart from
    it, and the watch list that follows a visitor across cameras (docs/behaviour.md). No face
    is looked at and no identity is stored: the learned normal is aggregated statistics, and a
    visitor's appearance (colours of their box) lives in memory only, until it expires."""

    enabled: StrictBool = _field(
        "Enabled",
        "Whether this site learns normal behaviour, scores visitors against it and follows "
        "watched visitors across cameras. false: nothing is learned or kept (a supervisor can "
        "also switch it off at the console).",
        default=True,
    )
    warm_up_h: Number = _field(
        "Warm-up, hours",
        "Hours of learning before any visitor is judged.",
        default=24.0,
        ge=0,
        le=2160,
    )
    warm_up_visits: Annotated[int, Strict()] = _field(
        "Warm-up, visits",
        "...and a room, object or camera view is judged only once at least this many visitors "
        "were learned there (for this hour of the week, else for all hours).",
        default=50,
        ge=1,
        le=100000,
    )
    threshold: Number = _field(
        "Advisory threshold",
        "A visitor whose anomaly score reaches this goes on the watch list with a low-severity "
        "advisory (1.0: one clear reason, e.g. staying three times the room's usual).",
        default=1.0,
        gt=0,
        le=10,
    )
    forget_after_s: Number = _field(
        "Forget visitors after, seconds",
        "A visitor not seen for this long is forgotten: their appearance vector, path and "
        "visit (memory only, never stored).",
        default=1800.0,
        ge=60,
        le=86400,
    )
    watch_for_s: Number = _field(
        "Watch for, seconds",
        "A watch-list entry expires this long after it was added.",
        default=7200.0,
        ge=60,
        le=86400,
    )
    path_s: Number = _field(
        "Path shown, seconds",
        "How much of a watched visitor's way is drawn on the floor plan (fading).",
        default=300.0,
        ge=10,
        le=3600,
    )
    baseline_keep_days: Number = _field(
        "Keep the learned normal, days",
        "A part of the learned normal (a room, object or view at one hour of the week) not "
        "updated for this long is deleted.",
        default=90.0,
        ge=1,
        le=3650,
    )


class EvidenceSettings(_Strict):
    """Evidence clips: each alarm keeps the camera's own video from before it was raised to after
    its risk cleared, copied without re-encoding (see docs/site-file.md)."""

    record: StrictBool = _field(
        "Record clips",
        "Keep each camera's stream as short segments on disk so that every alarm gets a clip. "
        "false: no recorder runs and alarms say that clips are switched off.",
        default=True,
    )
    pre_roll_s: Number = _field(
        "Pre-roll, seconds",
        "How long before the alarm was raised its clip begins.",
        default=10.0,
        ge=0,
        le=120,
    )
    post_roll_s: Number = _field(
        "Post-roll, seconds",
        "How long after the alarm's risk cleared (on that camera) its clip goes on; new "
        "activity before then keeps it going.",
        default=20.0,
        ge=0,
        le=600,
    )
    max_clip_s: Number = _field(
        "Longest clip, seconds",
        "A clip ends at most this long after it began, even while its risk is still present.",
        default=600.0,
        ge=10,
        le=3600,
    )
    segment_s: Number = _field(
        "Segment length, seconds",
        "The recorders cut the stream into segments of about this length (at a keyframe).",
        default=2.0,
        ge=0.5,
        le=10,
    )
    stream: Literal["main", "substream"] = _field(
        "Stream",
        "Which of a camera's streams is kept: its main stream (full resolution) or the "
        "sub-stream the console decodes.",
        default="main",
    )


TRITON_KINDS = frozenset({"ssdlite-triton"})  # kinds whose detector runs on a Triton server
# kinds whose network runs on this machine's CPU, whatever device is named (load_detector)
CPU_ONLY_KINDS = frozenset({"ssdlite", "ssdlite-openvino", "ssdlite-opencv", "yolo-openvino"})
WEIGHTS_KINDS = frozenset({"auto", "yolo", "yolo-openvino", "yolo-ultralytics"})
DEVICE_PATTERN = r"^(auto|cpu|cuda(:[0-9]{1,2})?)$"
SERVER_PATTERN = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}$"
MAX_DETECTOR_WORKERS = 64


def _check_detector_kind(value: str) -> str:
    if value not in DETECTOR_KINDS:
        raise _custom(
            "bad_detector", "unknown detector kind (use " + ", ".join(DETECTOR_KINDS) + ")", value
        )
    return value


def split_server(value: str) -> tuple[str, int]:
    """'host:port' (or '[v6]:port') -> (host, port); ValueError saying what is wrong."""
    host, colon, port_text = value.rpartition(":")
    if not colon or not host:
        raise ValueError("a Triton server is written HOST:PORT, e.g. triton.museum.lan:8001")
    if "://" in value or "/" in value:
        raise ValueError("a Triton server is HOST:PORT, not a URL")
    if "@" in value:
        raise ValueError("a Triton server is HOST:PORT; it takes no user or password")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError("the port of a Triton server is a number from 1 to 65535")
    if not re.match(SERVER_PATTERN, value):
        raise ValueError(
            "a Triton server is HOST:PORT: a host name or address (letters, digits, '.', '-'; "
            "an IPv6 address in [brackets]) and a port"
        )
    return host.strip("[]"), int(port_text)


def _kind_of(info: ValidationInfo) -> str | None:
    """The detection section's detector kind, when it validated."""
    kind = info.data.get("detector")
    return kind if isinstance(kind, str) else None


DetectorKind = Annotated[
    str,
    AfterValidator(_check_detector_kind),
    Field(json_schema_extra={"enum": list(DETECTOR_KINDS)}),
]


class DetectionSettings(_Strict):
    """Which person detector every console of the site runs (the command line's `--detector`,
    `--weights`, `--device`, `--workers` win over it on one console). Read at start: a change
    takes effect when a console starts again."""

    detector: DetectorKind = _field(
        "Detector",
        "The detector kind, as `nightwatch run --detector` takes it: "
        + "; ".join(DETECTOR_KINDS)
        + ". ssdlite-triton runs it on a Triton Inference Server (see server).",
    )
    server: Annotated[
        str | None, Field(max_length=300, json_schema_extra={"pattern": SERVER_PATTERN})
    ] = _field(
        "Triton server",
        "For ssdlite-triton (required there, refused for the other kinds): the server's gRPC "
        "address, HOST:PORT, e.g. triton.museum.lan:8001.",
        default=None,
        validate_default=True,
    )
    weights: Annotated[str | None, Field(min_length=1, max_length=1024)] = _field(
        "Weights",
        "For auto and the yolo kinds: the YOLO weights, an installed name (nightwatch models "
        "list) or a path (relative to this file's folder). Loaded only when pinned, like "
        "--weights. Omitted: the default weights.",
        default=None,
    )
    device: Annotated[str | None, Field(json_schema_extra={"pattern": DEVICE_PATTERN})] = _field(
        "Device",
        "For the kinds that run on this machine: auto (the best available), cpu, cuda or "
        "cuda:N. Refused for ssdlite-triton (its device is the server) and cuda for the kinds "
        "that run on the CPU only.",
        default=None,
    )
    workers: Annotated[int, Strict()] | None = _field(
        "Workers",
        "Detector worker processes: CPU workers of a local detector (default: cores / 2; a "
        "YOLO detector on CUDA runs one per device instead), or clients of the Triton server "
        "(default 2).",
        default=None,
        ge=1,
        le=MAX_DETECTOR_WORKERS,
    )

    @field_validator("server")
    @classmethod
    def _server_for_triton(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = _kind_of(info)
        if value is None:
            if kind in TRITON_KINDS:
                raise _custom(
                    "server_missing",
                    f"{kind} needs the Triton server's gRPC address, HOST:PORT "
                    "(e.g. triton.museum.lan:8001)",
                    MISSING,
                )
            return None
        text = value.strip()
        if kind is not None and kind not in TRITON_KINDS:
            raise _custom(
                "server_refused",
                f"detector {kind} runs on this machine: a server is only for ssdlite-triton",
                text,
            )
        try:
            split_server(text)
        except ValueError as exc:
            raise _custom("bad_server", str(exc), text) from None
        return text

    @field_validator("weights")
    @classmethod
    def _weights_for_yolo(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = _kind_of(info)
        if value is not None and kind is not None and kind not in WEIGHTS_KINDS:
            raise _custom(
                "weights_refused",
                f"detector {kind} runs its bundled model: weights are only for auto and the "
                "yolo kinds",
                value,
            )
        return value

    @field_validator("device")
    @classmethod
    def _device_for_local_kinds(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        text = value.strip().lower()
        kind = _kind_of(info)
        if kind in TRITON_KINDS:
            raise _custom(
                "device_refused",
                f"detector {kind} runs on the Triton server named in `server`, not on a device "
                "here",
                value,
            )
        if not re.match(DEVICE_PATTERN, text):
            raise _custom("bad_device", "a device is auto, cpu, cuda or cuda:N", value)
        if kind in CPU_ONLY_KINDS and text.startswith("cuda"):
            raise _custom(
                "device_refused", f"detector {kind} runs on the CPU only (use cpu or auto)", value
            )
        return text


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
    to: tuple[Literal["control_room", "gallery", "supervisor"], ...] = _field(
        "Destinations",
        "control_room (screen and sound), gallery (speaker, strobe, radio: see "
        "alert_destinations.gallery) and/or supervisor (alert_destinations.supervisor).",
        min_length=1,
    )


def _check_host(value: str) -> str:
    if "://" in value or "/" in value:
        raise _custom("bad_host", "a host name or address, not a URL", value)
    if "@" in value:
        raise _custom(
            "credentials_in_host",
            "credentials belong in the secrets store (name them in `credentials`)",
            mask_credentials(f"mqtt://{value}", hide_user=True).removeprefix("mqtt://"),
        )
    if not re.match(HOST_PATTERN, value):
        raise _custom("bad_host", "a host name or address: letters, digits, '.', '-', ':'", value)
    return value


def _check_topic_prefix(value: str) -> str:
    if value.endswith("/"):
        raise _custom("bad_topic", "a topic prefix does not end with '/'", value)
    if not re.match(TOPIC_PREFIX_PATTERN, value):
        raise _custom(
            "bad_topic",
            "a topic prefix has no wildcards ('+', '#') and does not start with '/'",
            value,
        )
    return value


def _check_webhook_url(value: str) -> str:
    text = value.strip()
    shown = mask_credentials(text, hide_user=True)
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise _custom("bad_url", f"not a valid URL: {exc}", shown) from None
    if parts.scheme.lower() not in WEBHOOK_SCHEMES:
        raise _custom("bad_url", "a webhook is an https:// (or http://) URL", shown)
    if "@" in parts.netloc or mask_credentials(text) != text:
        raise _custom(
            "credentials_in_url",
            "credentials belong in the secrets store (name a shared secret in `secret`), "
            "not in the URL",
            shown,
        )
    if not parts.hostname:
        raise _custom("bad_url", "the URL names no host", shown)
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number in range)
    except ValueError:
        raise _custom("bad_url", "the URL's port is not a number from 1 to 65535", shown) from None
    return text


Host = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_check_host)]
TopicPrefix = Annotated[
    str,
    Field(min_length=1, max_length=128, json_schema_extra={"pattern": TOPIC_PREFIX_PATTERN}),
    AfterValidator(_check_topic_prefix),
]
WebhookUrl = Annotated[
    str, Field(min_length=1, max_length=2048), AfterValidator(_check_webhook_url)
]
Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
TimeoutSeconds = Annotated[float, Strict(), Field(allow_inf_nan=False, gt=0, le=60)]


class MqttDestination(_Strict):
    """An MQTT broker that gallery devices (or the supervisor's phone gateway) listen to."""

    host: Host = _field("Broker host", "Host name or address of the MQTT broker (no URL).")
    port: Port | None = _field(
        "Broker port", "TCP port; omitted: 1883, or 8883 with tls.", default=None
    )
    tls: StrictBool = _field(
        "TLS", "Connect with TLS, checking the broker's certificate.", default=False
    )
    topic_prefix: TopicPrefix = _field(
        "Topic prefix",
        "Topics are PREFIX/DESTINATION/ZONE/SEVERITY (alarms) and PREFIX/DESTINATION/console/"
        "KIND (console events), e.g. nightwatch/gallery/east-gallery/high.",
        default="nightwatch",
    )
    credentials: Id | None = _field(
        "Credentials key",
        "Name of the entry in the secrets store holding the broker's user and password.",
        default=None,
    )
    timeout_s: TimeoutSeconds = _field(
        "Timeout, seconds",
        "How long one try may wait for the connection and the broker's acknowledgement.",
        default=5.0,
    )

    @property
    def resolved_port(self) -> int:
        return self.port if self.port is not None else (8883 if self.tls else 1883)


class WebhookDestination(_Strict):
    """An HTTP endpoint that receives each alert as a JSON POST."""

    url: WebhookUrl = _field(
        "URL", "https:// (or http://) URL the JSON is POSTed to; no credentials in it."
    )
    secret: Id | None = _field(
        "Shared secret key",
        "Name of the entry in the secrets store holding a shared secret; with it, each POST "
        "carries X-Nightwatch-Signature: sha256=HMAC-SHA256(secret, body) in hex.",
        default=None,
    )
    timeout_s: TimeoutSeconds = _field(
        "Timeout, seconds", "How long one POST may wait for the answer.", default=5.0
    )


class AlertDestination(_Strict):
    """Where one kind of alert goes: an MQTT broker, a webhook, or both."""

    mqtt: MqttDestination | None = _field("MQTT", "Publish to an MQTT broker.", default=None)
    webhook: WebhookDestination | None = _field(
        "Webhook", "POST to an HTTP endpoint.", default=None
    )
    retry_for_s: Annotated[float, Strict(), Field(allow_inf_nan=False, gt=0, le=3600)] = _field(
        "Retry for, seconds",
        "How long a delivery that fails is tried again (with growing pauses) before it is "
        "reported as failed.",
        default=60.0,
    )

    @model_validator(mode="after")
    def _needs_a_transport(self) -> AlertDestination:
        if self.mqtt is None and self.webhook is None:
            raise _custom("no_transport", "needs mqtt, webhook or both")
        return self


class AlertDestinations(_Strict):
    """The endpoints of the destinations beyond the control room."""

    gallery: AlertDestination | None = _field(
        "Gallery",
        "What gallery speakers, strobes and guard radios listen to; used by routes `to: gallery`.",
        default=None,
    )
    supervisor: AlertDestination | None = _field(
        "Supervisor",
        "Where the supervisor is paged: escalated alarms, an unanswered still-there check, a "
        "storage fault; and routes `to: supervisor`.",
        default=None,
    )


class Guard(_Strict):
    """A guard who can be dispatched."""

    id: Id = _field("Guard id", "Unique id, stored with dispatches.")
    name: Name = _field("Guard name", "Shown in the dispatch dialog.")
    post: Name = _field("Post", "Where the guard is normally stationed.")


class RetentionSettings(_Strict):
    """How long evidence media is kept. A scheduled job purges older files every day; an
    incident under hold (a police case) keeps its media until the hold is released. The rows stay,
    with their SHA-256, and say when they were purged."""

    snapshots_days: Annotated[int, Strict()] | None = _field(
        "Keep snapshots, days",
        "Alarm snapshots older than this many days are deleted (their rows and hashes are kept). "
        "null keeps them forever.",
        default=30,
        ge=1,
        le=3650,
    )
    clips_days: Annotated[int, Strict()] | None = _field(
        "Keep clips, days",
        "Alarm video clips older than this many days are deleted (their rows and hashes are "
        "kept). null keeps them forever.",
        default=30,
        ge=1,
        le=3650,
    )


class PrivacySettings(_Strict):
    """What exports show of people."""

    blur_exported_people: StrictBool = _field(
        "Blur people in exported images",
        "Exported snapshots are blurred except around the incident's own subject (the person "
        "whose box the alarm drew) and the protected object's outline, so bystanders are not "
        "identifiable. The snapshots kept by the console are never changed.",
        default=True,
    )


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
    behaviour: BehaviourSettings = _field(
        "Behaviour",
        "Learned normal behaviour, advisories, the watch list (on by default, 24 h warm-up).",
        default_factory=BehaviourSettings,
    )
    evidence: EvidenceSettings = _field(
        "Evidence clips",
        "Pre-roll, post-roll and recording of each alarm's video clip.",
        default_factory=EvidenceSettings,
    )
    alert_routes: tuple[AlertRoute, ...] = _field(
        "Alert routes",
        "Where alarms are announced; every route that matches is used. Default: all alarms "
        "to the control room.",
        default_factory=_default_routes,
    )
    alert_destinations: AlertDestinations = _field(
        "Alert destinations",
        "The gallery's and the supervisor's MQTT broker and/or webhook. Default: none (alerts "
        "stay in the control room).",
        default_factory=AlertDestinations,
    )
    guards: tuple[Guard, ...] = _field("Guards", "Guards who can be dispatched.", default=())
    retention: RetentionSettings = _field(
        "Retention",
        "How long evidence media is kept (default: snapshots and clips 30 days).",
        default_factory=RetentionSettings,
    )
    privacy: PrivacySettings = _field(
        "Privacy",
        "What exports show of people (default: bystanders blurred).",
        default_factory=PrivacySettings,
    )
    detection: DetectionSettings | None = _field(
        "Detection",
        "Which person detector the site's consoles run, e.g. a Triton server (default: auto, "
        "YOLO when its weights are installed, else the offline SSDLite model). The command "
        "line's --detector wins over it.",
        default=None,
    )

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
        from console.site_file.cross_checks import Parts, cross_check  # it imports the models

        problems = cross_check(Parts.of(self))
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
        """Whether the museum is open at this instant (an aware datetime, any time zone): in a
        period of its local day's hours, or of the day before's when they run past midnight;
        read on the wall clock (`wall_clock_instant` for the nights clocks change)."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("is_open needs a time-zone-aware datetime")
        return open_at(when, self.site.tz, self.opening_hours.periods_on)

    def zone_is_open(self, zone_id: str, when: datetime) -> bool:
        """Whether the zone is open at this instant: its own hours where it has them, else the
        site's."""
        zone = self.zone(zone_id)
        if zone.opening_hours is None:
            return self.is_open(when)
        own = zone.opening_hours
        return open_at(when, self.site.tz, lambda day: own.periods_on(day, self.opening_hours))

    def zone_armed(self, zone_id: str, when: datetime) -> bool:
        """Whether a person in the zone at this instant is an intrusion (its `armed`)."""
        arming = Arming.of(self.zone(zone_id).armed)
        if arming is Arming.ALWAYS:
            return True
        if arming is Arming.NEVER:
            return False
        return not self.zone_is_open(zone_id, when)

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
