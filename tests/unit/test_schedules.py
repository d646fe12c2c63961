"""Opening hours past midnight, several periods a day, dated exceptions, the nights the clocks
change (Europe/Amsterdam), per-zone arming and own hours, and the rule tuning the site file
holds: `Site.is_open`, `Site.zone_armed` and the after-hours rule."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml

from console.presence import Observation, Presence
from console.rules import RuleTuning, after_hours
from console.site_file import (
    Site,
    SiteFileError,
    load_site,
    parse_periods,
    wall_clock_instant,
)
from inference.detections import Detections

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "data" / "example_site"
AMS = ZoneInfo("Europe/Amsterdam")


def local(*args: int) -> datetime:
    """A wall-clock time in Amsterdam (fold 0 where the clocks show it twice)."""
    return datetime(*args, tzinfo=AMS)


def site_with(tmp_path: Path, **changes: object) -> Site:
    folder = tmp_path / "site"
    if not folder.exists():
        shutil.copytree(EXAMPLE, folder)
    data = yaml.safe_load((EXAMPLE / "site.yaml").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    (folder / "site.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_site(folder / "site.yaml")


# --------------------------------------------------------------------------- hours


def test_periods_past_midnight_and_several_a_day() -> None:
    assert parse_periods("closed") == ()
    assert parse_periods("18:00-02:00") == ((18 * 3600, 26 * 3600),)
    assert parse_periods("10:00-17:00, 19:00-01:30") == (
        (10 * 3600, 17 * 3600),
        (19 * 3600, 25 * 3600 + 1800),
    )
    assert parse_periods("00:00-24:00") == ((0, 86400),)
    for bad, words in (
        ("10:00-10:00", "opens and closes at the same time"),
        ("24:00-02:00", "24:00 is a closing time"),
        ("10:00-17:00, 16:00-18:00", "overlap"),
        ("10-17", "should be 'closed'"),
        ("1:00-2:00, 3:00-4:00, 5:00-6:00, 7:00-8:00, 9:00-10:00", "at most 4 periods"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_periods(bad)


def test_an_evening_until_two_keeps_the_museum_open_past_midnight(tmp_path: Path) -> None:
    # Friday 18:00-02:00; Saturday's own 10:00-18:00 still applies after that
    site = site_with(tmp_path, opening_hours__fri="18:00-02:00")
    friday = (2026, 7, 10)
    assert not site.is_open(local(*friday, 17, 59))
    assert site.is_open(local(*friday, 18, 0))
    assert site.is_open(local(*friday, 23, 59))
    assert site.is_open(local(2026, 7, 11, 0, 30))  # Saturday, still Friday's evening
    assert site.is_open(local(2026, 7, 11, 1, 59, 59))
    assert not site.is_open(local(2026, 7, 11, 2, 0))  # closed at 02:00 ...
    assert not site.is_open(local(2026, 7, 11, 9, 59))
    assert site.is_open(local(2026, 7, 11, 10, 0))  # ... and open again on Saturday's hours
    assert not site.is_open(local(2026, 7, 11, 18, 0))


def test_dated_exceptions_holiday_late_opening_and_an_event(tmp_path: Path) -> None:
    exceptions = [
        {"date": "2026-07-14", "hours": "closed", "note": "holiday"},
        {"date": "2026-07-15", "hours": "10:00-23:00", "note": "late opening"},
        {"date": "2026-07-16", "hours": "10:00-17:00, 19:00-01:30", "note": "an evening event"},
    ]
    site = site_with(tmp_path, opening_hours__exceptions=exceptions)
    assert not site.is_open(local(2026, 7, 14, 12, 0))  # a Tuesday, normally 10-17
    assert site.is_open(local(2026, 7, 15, 22, 30))  # Wednesday, normally until 17:00
    assert not site.is_open(local(2026, 7, 15, 23, 0))
    assert site.is_open(local(2026, 7, 16, 16, 0))
    assert not site.is_open(local(2026, 7, 16, 18, 0))  # between the day and the event
    assert site.is_open(local(2026, 7, 17, 1, 0))  # Friday night, the Thursday's event
    assert not site.is_open(local(2026, 7, 17, 1, 30))
    assert site.is_open(local(2026, 7, 17, 10, 0))  # Friday's own hours
    assert site.opening_hours.hours_on(date(2026, 7, 16)) == (36000, 25 * 3600 + 1800)


def test_the_spring_forward_night(tmp_path: Path) -> None:
    # 29 March 2026: at 02:00 CET the clocks jump to 03:00 CEST; 02:00-03:00 never shows.
    # An event on Saturday until 02:30 ends when the clocks jump past it (03:00 CEST).
    site = site_with(tmp_path, opening_hours__sat="20:00-02:30")
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET == 03:00 CEST
    assert wall_clock_instant(date(2026, 3, 28), 26.5 * 3600, AMS) == jump
    assert site.is_open(jump - timedelta(seconds=1))  # 01:59:59 CET
    assert not site.is_open(jump)  # 03:00 CEST
    # an opening time the clocks skip opens at the jump too
    early = site_with(tmp_path, opening_hours__sun="02:30-05:00")
    assert not early.is_open(jump - timedelta(seconds=1))
    assert early.is_open(jump)


def test_the_fall_back_night(tmp_path: Path) -> None:
    # 25 October 2026: at 03:00 CEST the clocks go back to 02:00 CET; 02:00-03:00 shows twice.
    # An event until 02:30 ends at the first 02:30, and does not open again when the clocks go
    # back: a closing time shown twice counts the first time.
    site = site_with(tmp_path, opening_hours__sat="20:00-02:30")
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, an hour later
    assert wall_clock_instant(date(2026, 10, 24), 26.5 * 3600, AMS) == first
    assert site.is_open(first - timedelta(seconds=1))
    assert not site.is_open(first)
    assert not site.is_open(datetime(2026, 10, 25, 1, 5, tzinfo=UTC))  # 02:05 CET, second pass
    assert not site.is_open(second)
    # an ordinary day around it is unaffected: Sunday 10:00-18:00 in winter time
    assert site.is_open(local(2026, 10, 25, 10, 0))
    assert local(2026, 10, 25, 10, 0).utcoffset() == timedelta(hours=1)


def test_is_open_is_the_same_in_any_time_zone(tmp_path: Path) -> None:
    site = site_with(tmp_path, opening_hours__fri="18:00-02:00")
    when = local(2026, 7, 11, 1, 0)
    assert site.is_open(when.astimezone(UTC))
    assert site.is_open(when.astimezone(ZoneInfo("America/New_York")))


# --------------------------------------------------------------------------- zones


def test_zone_arming_always_after_hours_never_and_the_older_spelling(tmp_path: Path) -> None:
    site = site_with(
        tmp_path,
        zones__0__armed="always",
        zones__1__armed=False,  # the older spelling of never
        zones__2__armed="after_hours",
    )
    noon, night = local(2026, 7, 7, 12, 0), local(2026, 7, 7, 23, 0)
    assert site.is_open(noon)
    assert not site.is_open(night)
    assert [site.zone_armed("east-gallery", t) for t in (noon, night)] == [True, True]
    assert [site.zone_armed("west-gallery", t) for t in (noon, night)] == [False, False]
    assert [site.zone_armed("corridor", t) for t in (noon, night)] == [False, True]
    assert site.zone("west-gallery").armed == "never"
    with pytest.raises(SiteFileError, match="should be 'always', 'after_hours' or 'never'"):
        site_with(tmp_path, zones__0__armed="sometimes")


def test_a_zone_keeps_its_own_hours(tmp_path: Path) -> None:
    # the corridor (a cafe, say) stays open on Thursday until 23:00 and on Monday, when the
    # museum is closed; other days keep the site's hours; its own exception comes first
    own = {
        "thu": "10:00-23:00",
        "mon": "12:00-16:00",
        "exceptions": [{"date": "2026-07-09", "hours": "closed"}],
    }
    site = site_with(tmp_path, zones__2__opening_hours=own)
    assert site.zone_armed("corridor", local(2026, 7, 16, 22, 0)) is False  # Thu, its hours
    assert site.zone_armed("east-gallery", local(2026, 7, 16, 22, 0)) is True  # museum closed
    assert site.zone_armed("corridor", local(2026, 7, 13, 13, 0)) is False  # Monday
    assert site.zone_armed("corridor", local(2026, 7, 14, 18, 0)) is True  # Tue: site's 10-17
    assert site.zone_armed("corridor", local(2026, 7, 9, 12, 0)) is True  # its closed date


def _presence_with_person_in(site: Site, ts: float = 10.0) -> Presence:
    """A person standing for 10 s in the east gallery of the calibrated east camera."""
    presence = Presence(site)
    box = np.array([[600.0, 400.0, 680.0, 600.0]])
    for t in (0.0, ts):
        people = Detections(
            xyxy=box, confidence=np.array([0.9]), class_id=np.array([0]), track_id=np.array([1])
        )
        presence.update(
            Observation("cam-east", t, people, (1280, 720)), datetime(2026, 7, 7, tzinfo=UTC)
        )
    return presence


def test_the_after_hours_rule_honours_the_arming(tmp_path: Path) -> None:
    noon = local(2026, 7, 7, 12, 0)
    always = site_with(tmp_path, zones__0__armed="always")
    camera = _presence_with_person_in(always).camera("cam-east")
    assert "east-gallery" in camera.visitors[0].zones
    assert [f.subject_id for f in after_hours(camera, always, noon)] == ["east-gallery"]
    usual = site_with(tmp_path)
    camera = _presence_with_person_in(usual).camera("cam-east")
    assert after_hours(camera, usual, noon) == []  # open: after_hours zones are quiet
    assert [f.subject_id for f in after_hours(camera, usual, local(2026, 7, 7, 23, 0))] == [
        "east-gallery"
    ]
    never = site_with(tmp_path, zones__0__armed="never")
    camera = _presence_with_person_in(never).camera("cam-east")
    assert after_hours(camera, never, local(2026, 7, 7, 23, 0)) == []


# --------------------------------------------------------------------------- rule tuning


def test_rule_tuning_comes_from_the_site_file(tmp_path: Path) -> None:
    default = RuleTuning.of_site(site_with(tmp_path))
    assert default == RuleTuning()  # the site file's defaults are the old constants
    rules = {
        "loitering": {"enabled": True, "near_object_s": 45},
        "camera_health": {"enabled": True, "covered_s": 6, "moved_s": 4.5},
        "object_missing": {"enabled": True, "changed_share_min": 0.4, "confirm_s": 10},
        "after_hours": {"enabled": True, "unplaced_person": False},
    }
    tuned = RuleTuning.of_site(site_with(tmp_path, rules=rules))
    assert (
        tuned.near_object_loiter_s,
        tuned.covered_s,
        tuned.moved_s,
        tuned.object_change_min,
        tuned.object_confirm_s,
        tuned.unplaced_after_hours,
    ) == (45.0, 6.0, 4.5, 0.4, 10.0, False)
    with pytest.raises(SiteFileError, match=r"rules.object_missing.changed_share_min"):
        site_with(tmp_path, rules={"object_missing": {"changed_share_min": 1.5}})
