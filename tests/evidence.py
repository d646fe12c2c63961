"""What the audit and export tests share: the example site in a temp folder, a night of real
incidents written through the store's own tasks, with snapshots made from a real photograph."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2

from console.roles import Role
from console.store import (
    AddAlarmEvent,
    ChangeAlarmState,
    PlaceHold,
    RaiseAlarm,
    RecordArrival,
    RecordConfigChange,
    RecordDispatch,
    RecordOccurrence,
    Store,
    StoreSnapshot,
)
from tests.media import ultralytics_asset
from tests.people import PASSWORDS, enroll

DATA = Path(__file__).resolve().parent / "data"
# 22:00 in Amsterdam on 28 November 2026 (the example site's time zone, UTC+1 in winter)
NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
PASSWORD = "s3cret-Pw-7731"  # a camera password that must never reach an export


def signed_as(name: str) -> list[str]:
    """`--user NAME --password-fd N` for a command run in this process: the test password of
    `name` (tests/people.py) waiting in a pipe, as a script passes it."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, (PASSWORDS[name] + "\n").encode())
    os.close(write_fd)
    return ["--user", name, "--password-fd", str(read_fd)]


def example_site(folder: Path) -> Path:
    """The example museum's site file (3 cameras, 3 objects, 4 zones, 2 guards) in `folder`."""
    target = folder / "site"
    shutil.copytree(DATA / "example_site", target)
    return target / "site.yaml"


def snapshot_jpeg(box: tuple[int, int, int, int]) -> bytes:
    """A real photograph (ultralytics' bus.jpg: people by a bus) with the alarm's box drawn, as
    the console stores it."""
    image = cv2.imread(str(ultralytics_asset("bus.jpg")))
    assert image is not None
    x1, y1, x2, y2 = box
    cv2.rectangle(image, (x1, y1), (x2, y2), (0, 0, 255), 2)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return data.tobytes()


# bus.jpg is 810x1080; the man on the left stands in about this box
SUBJECT_BOX = (48, 398, 246, 905)


@dataclass(frozen=True)
class Night:
    """What `fill_night` wrote: alarm ids by what happened to them."""

    resolved: int  # acknowledged, dispatched, guard arrived, resolved (visitor warned), noted
    police: int  # resolved police_called, under hold
    false_alarm: int
    open_alarm: int  # raised and escalated, never acknowledged
    health: int  # a camera's own alarm (video loss), whose reason quotes the stream URL
    dispatch_id: int


def fill_night(store: Store, start: datetime = NIGHT) -> Night:
    """Five incidents of one night through the store's real tasks (each its own transaction),
    and the accounts of an auditor (audrey), a supervisor (boss) and an operator (monitor-1)."""
    enroll(store, "audrey", Role.AUDITOR)
    enroll(store, "boss", Role.SUPERVISOR)
    enroll(store, "monitor-1", Role.OPERATOR)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    def raise_(
        seconds: float,
        camera: str,
        rule: str,
        subject: str | None,
        track: int | None,
        severity: str = "high",
        **detail: object,
    ) -> int:
        alarm_id = store.write(
            RaiseAlarm(
                None,
                camera,
                rule,
                severity,
                subject=subject,
                track_id=track,
                raised_at=at(seconds),
                detail=detail or None,
            )
        ).result()
        store.write(
            RecordOccurrence(
                alarm_id,
                camera,
                track,
                at(seconds),
                video_start_s=seconds,
                closest_m=0.4 if rule == "proximity" else None,
            )
        ).result()
        return alarm_id

    box = list(SUBJECT_BOX)
    resolved = raise_(0, "cam-east", "proximity", "milkmaid", 3, box=box, distance_m=0.4)
    store.write(StoreSnapshot(resolved, snapshot_jpeg(SUBJECT_BOX), taken_at=at(0))).result()
    store.write(ChangeAlarmState(resolved, "acknowledged", "ana", at=at(12))).result()
    dispatch_id = store.write(
        RecordDispatch(resolved, "g-anna", "ana", post="north stair", at=at(20))
    ).result()
    store.write(RecordArrival(dispatch_id, "ana", outcome="visitor spoken to", at=at(95))).result()
    store.write(
        RecordOccurrence(
            resolved,
            "cam-east",
            3,
            at(0),
            ended_at=at(40),
            video_start_s=0,
            video_end_s=40,
            closest_m=0.3,
        )
    ).result()
    store.write(
        ChangeAlarmState(
            resolved,
            "resolved",
            "ana",
            outcome="visitor_warned",
            note="Visitor leaned over the rope, warned",
            at=at(120),
        )
    ).result()

    police = raise_(600, "cam-west", "after_hours", "west-gallery", 7, box=[300, 200, 420, 560])
    store.write(StoreSnapshot(police, snapshot_jpeg((300, 200, 420, 560)), taken_at=at(600)))
    store.write(ChangeAlarmState(police, "acknowledged", "ben", at=at(605))).result()
    store.write(
        AddAlarmEvent(
            police, "comment", "ben", {"text": '=HYPERLINK("http://x") tried door'}, at=at(640)
        )
    ).result()
    store.write(
        ChangeAlarmState(
            police,
            "resolved",
            "ben",
            outcome="police_called",
            note="Intruder; police case opened",
            at=at(900),
        )
    ).result()
    store.write(
        PlaceHold(police, "police investigation", "ben", case_ref="PC-2026-1128", at=at(1000))
    ).result()

    false_alarm = raise_(1800, "cam-corridor", "loitering", "corridor", 11, severity="low")
    store.write(ChangeAlarmState(false_alarm, "acknowledged", "ana", at=at(1900))).result()
    store.write(
        ChangeAlarmState(
            false_alarm,
            "resolved",
            "ana",
            outcome="false_alarm",
            note="-- nothing there, the cleaning crew",
            at=at(1920),
        )
    ).result()

    open_alarm = raise_(3600, "cam-east", "proximity", "night-watch", 21, box=[500, 300, 600, 600])
    store.write(AddAlarmEvent(open_alarm, "escalate", "system", {"after_s": 30}, at=at(3630)))

    url = f"rtsp://viewer:{PASSWORD}@cam-west.museum.example/stream1"
    health = raise_(
        5400,
        "cam-west",
        "camera_health",
        None,
        None,
        severity="medium",
        condition="video_loss",
        reason=f"cannot open {url}: connection refused",
    )
    store.write(
        ChangeAlarmState(
            health, "acknowledged", "ana", note=f"checked {url} from the desk", at=at(5460)
        )
    ).result()
    store.write(RecordConfigChange("boss", "site.yaml", "a: 1\n", "a: 2\n", at=at(7000))).result()
    assert store.flush(30)
    return Night(resolved, police, false_alarm, open_alarm, health, dispatch_id)
