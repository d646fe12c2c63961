"""Evidence clips for real: recorder processes keeping real streams (vtest.avi, msmpeg4 in AVI;
a real RTSP server with H.264), a real alarm manager and SQLite store, and the clip read back
with PyAV: it begins at least the pre-roll before the alarm was raised, it decodes end to end,
its SHA-256 is the row's, a restart of the camera or of the recorder mid-clip loses nothing
but the seconds it was away, and nothing is left running after stop.

No timing assertions: the waits are bounded, the checks are on what the files say."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import console.evidence as evidence_module
from console.alarms import AlarmManager, AlarmPolicy
from console.clock import SystemClock
from console.evidence import EvidenceKeeper
from console.rules import Finding
from console.rules.details import LoiteringDetail, ProximityDetail
from console.severity import Severity
from console.site_file import Site, load_site
from console.store import ClipState, Store, audit_entries, get_clip
from console.store.clips import ClipRecord, clips
from inference.clip_assembly import read_clip_times
from inference.clip_process import ClipProcess
from inference.detections import Detections
from inference.frame_ring import FrameRef
from inference.pipeline import TrackedFrame
from inference.recording import (
    RecorderState,
    RecordingSettings,
    RecordingSpec,
    StreamRecorders,
    finished_segments,
)
from tests.rtsp_server import RtspServer, gst_rtsp_server_missing
from tests.sites import courtyard_site

PRE_ROLL_S = 4.0
POST_ROLL_S = 2.0


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout_s:.0f} s for {what}")


@pytest.fixture
def site(tmp_path: Path) -> Site:
    path = courtyard_site(tmp_path)
    text = path.read_text() + (
        f"evidence: {{pre_roll_s: {PRE_ROLL_S}, post_roll_s: {POST_ROLL_S}, segment_s: 1}}\n"
    )
    path.write_text(text)
    return load_site(path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'db' / 'alarms.db'}")
    yield s
    assert s.close().all_stored


class Evidence:
    """Recorders, the keeper and an alarm manager wired as the runtime wires them (the core
    thread's calls are made from the test's thread, one at a time, as the core makes them)."""

    def __init__(
        self,
        site: Site,
        store: Store,
        specs: list[RecordingSpec],
        folder: Path,
        *,
        clip_process: bool = True,
    ) -> None:
        self.site = site
        self.store = store
        self.statuses: list = []
        self.recorders = StreamRecorders(
            specs,
            folder,
            RecordingSettings(segment_s=1.0, keep_s=20.0, read_timeout_s=3.0),
            on_status=self.statuses.append,
        )
        self.manager = AlarmManager(
            store, site, SystemClock(), policy=AlarmPolicy(clear_after_s=1.0, rearm_s=0)
        )
        # clips put together in a helper process, as the runtime does (False: on the keeper's
        # worker thread, where a test can slow the assembly down)
        self.keeper = EvidenceKeeper(
            site,
            store,
            self.recorders,
            now=time.time,
            clip_process=ClipProcess() if clip_process else None,
        )
        self.manager.add_listener(self.keeper.alarm_changed)

    def start(self) -> None:
        self.recorders.start()
        self.keeper.start()

    def stop(self) -> None:
        self.recorders.stop()
        self.keeper.stop()
        assert self.manager.flush()
        assert self.store.flush(30)

    def recorded_for(self, camera_id: str, seconds: float) -> bool:
        """A finished segment holds a keyframe at least `seconds` ago: a clip can begin there
        (a recorder that starts mid-GOP writes packets before its first keyframe, which no
        clip can begin with, and vtest.avi's keyframes are 25 s apart)."""
        horizon = time.time() - seconds
        segments = finished_segments(self.recorders.folder_of(camera_id))
        return any(s.first_key is not None and s.first_key <= horizon for s in segments)

    def raise_alarm(self, camera_id: str) -> int:
        (alarm,) = self.manager.ingest([self.finding(camera_id)])
        return alarm.alarm_id

    def finding(self, camera_id: str) -> Finding:
        return Finding(
            "proximity",
            camera_id,
            "plinth",
            7,
            Severity.HIGH,
            datetime.now(UTC),
            None,
            ProximityDetail(box=(300.0, 150.0, 380.0, 330.0), distance_m=0.4),
        )

    def boxes(self, camera_id: str, count: int = 5, *, findings: bool = False) -> None:
        """Tracked frames of the alarm's person, as the core hands them on (and, with
        `findings`, the rule still finding them: the risk stays present)."""
        for n in range(count):
            if findings:
                self.manager.ingest([self.finding(camera_id)])
            people = Detections(
                np.array([[300.0 + n, 150.0, 380.0 + n, 330.0]], dtype=np.float32),
                np.array([0.9]),
                np.array([0]),
                np.array([7]),
            )
            ref = FrameRef(camera_id, 0, n, float(n), time.time())
            self.keeper.frame(TrackedFrame(ref, people, people, 0.1), (768, 576))
            time.sleep(0.25)

    def run_until_kept(self, alarm_id: int, timeout_s: float = 60.0) -> list[ClipRecord]:
        """Tick like the core (the occurrence ends, the post-roll runs out) until every clip of
        the alarm has left `recording`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.manager.tick()
            self.keeper.tick()
            self.manager.settle()
            self.store.flush(5)
            found = self.store.read(clips, alarm_id)
            if found and all(c.state != ClipState.RECORDING for c in found):
                return found
            time.sleep(0.2)
        raise AssertionError(f"the clip of alarm {alarm_id} was not finished in {timeout_s} s")


def check_clip(store: Store, clip: ClipRecord, raised_at: datetime) -> None:
    """The file begins at least the pre-roll before the raise, decodes end to end, matches."""
    assert clip.state == ClipState.KEPT, clip.reason
    assert clip.relative_path is not None
    assert clip.start_at is not None
    path = store.files.path(clip.relative_path)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == clip.sha256
    times = read_clip_times(path)
    assert times.start_tag is not None
    first_frame = datetime.fromisoformat(times.start_tag) + timedelta(seconds=times.first_pts_s)
    assert abs(first_frame - clip.start_at) < timedelta(milliseconds=2)
    assert first_frame <= raised_at - timedelta(seconds=PRE_ROLL_S)
    assert times.frames > 0
    last_frame = datetime.fromisoformat(times.start_tag) + timedelta(seconds=times.last_pts_s)
    assert last_frame >= raised_at  # it covers the moment itself
    assert (times.width, times.height) == (clip.width, clip.height)


def no_recorder_left(evidence: Evidence, pids: list[int]) -> None:
    assert multiprocessing.active_children() == [], "processes left running"
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_file_cameras_clip_covers_the_alarm_decodes_and_matches_its_hash(
    site: Site, store: Store, tmp_path: Path
) -> None:
    camera = site.cameras[0]
    evidence = Evidence(
        site, store, [RecordingSpec(camera.id, camera.resolved_source)], tmp_path / "rec"
    )
    evidence.start()
    try:
        wait_for(lambda: evidence.recorded_for(camera.id, PRE_ROLL_S + 1), 90, "the pre-roll")
        alarm_id = evidence.raise_alarm(camera.id)
        raised_at = evidence.manager.get(alarm_id).raised_at
        evidence.boxes(camera.id)
        (clip,) = evidence.run_until_kept(alarm_id)
        pids = evidence.recorders.pids()
        clips_made_by = evidence.keeper.clip_process
        assert clips_made_by is not None
        assert clips_made_by.pid is not None
        pids.append(clips_made_by.pid)  # the clip process, ended with the keeper
    finally:
        evidence.stop()
    no_recorder_left(evidence, pids)
    check_clip(store, clip, raised_at)
    assert clip.codec == "msmpeg4"  # vtest.avi's own packets, copied as they are
    assert store.read(get_clip, clip.id) == clip
    overlay = clip.overlay
    assert overlay is not None
    assert overlay["size"] == [768, 576]
    assert overlay["tracks"] == [7]
    assert overlay["object"] == [[330, 180], [480, 180], [480, 260], [330, 260]]
    assert {box[1] for box in overlay["boxes"]} == {7}
    assert all(clip.start_at.timestamp() - 1 <= b[0] for b in overlay["boxes"])
    actions = [e.action for e in store.read(audit_entries)]
    assert "clip.store" in actions


def test_a_usb_camera_gets_no_clip_and_says_why(site: Site, store: Store, tmp_path: Path) -> None:
    evidence = Evidence(site, store, [RecordingSpec("cam-path", "usb:0")], tmp_path / "rec")
    evidence.start()
    try:
        wait_for(
            lambda: evidence.recorders.status("cam-path")[0] == RecorderState.UNAVAILABLE,
            10,
            "the USB camera's state",
        )
        alarm_id = evidence.raise_alarm("cam-path")
        for _ in range(3):  # found again and again: one row says why, not one per finding
            evidence.manager.ingest([evidence.finding("cam-path")])
        assert evidence.manager.flush()
        store.flush(10)
        (clip,) = store.read(clips, alarm_id)
    finally:
        evidence.stop()
    assert clip.state == ClipState.UNAVAILABLE
    assert "USB" in (clip.reason or "")
    assert evidence.recorders.pids() == []


def test_a_camera_added_while_running_says_its_clips_wait_for_the_next_start(
    site: Site, store: Store, tmp_path: Path
) -> None:
    camera = site.cameras[0]
    evidence = Evidence(
        site, store, [RecordingSpec(camera.id, camera.resolved_source)], tmp_path / "rec"
    )  # the recorders are not started: no alarm here reaches them
    # the site file saved while the console runs: the camera's stream changed, one added
    path = tmp_path / "site" / "site.yaml"
    text = path.read_text().replace("source: footage/vtest.avi", "source: rtsp://192.0.2.7/s1")
    added = "  - {id: cam-added, name: Added, floor: ground, source: rtsp://192.0.2.8/s1}\n"
    path.write_text(text.replace("protected_objects:", added + "protected_objects:", 1))
    applied = load_site(path)
    note = evidence.keeper.use_site(applied)
    assert note == f"clips of cam-added, {camera.id} are recorded from the next start"
    assert evidence.keeper.use_site(site) is None  # back to what the recorders record
    evidence.keeper.use_site(applied)
    evidence.manager.site = applied
    first = evidence.raise_alarm("cam-added")
    second = evidence.raise_alarm(camera.id)
    for _ in range(3):  # the rules go on finding them: no clip is said once per camera
        evidence.manager.ingest([evidence.finding("cam-added"), evidence.finding(camera.id)])
    assert evidence.manager.flush()
    assert store.flush(10)
    (added_clip,) = store.read(clips, first)
    (moved_clip,) = store.read(clips, second)
    assert added_clip.state == moved_clip.state == ClipState.UNAVAILABLE
    assert added_clip.reason == (
        "camera cam-added was added while the console ran: it is recorded from the next start"
    )
    assert moved_clip.reason == (
        f"the stream of camera {camera.id} changed while the console ran: it is recorded from "
        "the next start"
    )


def test_a_recorder_killed_mid_clip_is_restarted_and_the_clip_is_kept(
    site: Site, store: Store, tmp_path: Path
) -> None:
    camera = site.cameras[0]
    evidence = Evidence(
        site, store, [RecordingSpec(camera.id, camera.resolved_source)], tmp_path / "rec"
    )
    evidence.start()
    try:
        wait_for(lambda: evidence.recorded_for(camera.id, PRE_ROLL_S + 1), 90, "the pre-roll")
        alarm_id = evidence.raise_alarm(camera.id)
        raised_at = evidence.manager.get(alarm_id).raised_at
        (first,) = evidence.recorders.pids()
        os.kill(first, signal.SIGKILL)
        wait_for(
            lambda: evidence.recorders.pids() and evidence.recorders.pids() != [first],
            30,
            "the recorder's restart",
        )
        wait_for(
            lambda: evidence.recorders.status(camera.id)[0] == RecorderState.RECORDING,
            30,
            "recording again",
        )
        back_at = datetime.now(UTC)
        evidence.boxes(camera.id, 8, findings=True)  # still there: the clip goes on
        (clip,) = evidence.run_until_kept(alarm_id)
    finally:
        evidence.stop()
    check_clip(store, clip, raised_at)
    assert clip.end_at is not None
    assert clip.end_at > back_at
    states = [s.state for s in evidence.statuses if s.camera_id == camera.id]
    assert RecorderState.OFFLINE in states  # the death was reported
    offline = next(s for s in evidence.statuses if s.state == RecorderState.OFFLINE)
    assert "recorder process exited" in offline.reason


@pytest.mark.skipif(gst_rtsp_server_missing() is not None, reason=str(gst_rtsp_server_missing()))
def test_an_rtsp_cameras_restart_mid_clip_leaves_a_gap_not_a_lost_clip(
    site: Site, store: Store, tmp_path: Path
) -> None:
    server = RtspServer(user="nw", password="s3cret-pass")
    server.start()
    evidence = Evidence(site, store, [RecordingSpec("cam-path", server.url)], tmp_path / "rec")
    try:
        evidence.start()
        wait_for(lambda: evidence.recorded_for("cam-path", PRE_ROLL_S + 1), 90, "the pre-roll")
        alarm_id = evidence.raise_alarm("cam-path")
        raised_at = evidence.manager.get(alarm_id).raised_at
        evidence.boxes("cam-path", 3, findings=True)
        server.kill()
        wait_for(
            lambda: evidence.recorders.status("cam-path")[0] == RecorderState.OFFLINE,
            30,
            "the recorder to notice",
        )
        server.start()
        wait_for(
            lambda: evidence.recorders.status("cam-path")[0] == RecorderState.RECORDING,
            60,
            "recording again",
        )
        evidence.boxes("cam-path", 8, findings=True)  # still there: the clip goes on
        (clip,) = evidence.run_until_kept(alarm_id, timeout_s=90)
    finally:
        evidence.stop()
        server.close()
    check_clip(store, clip, raised_at)
    assert clip.codec == "h264"
    assert "no recording for" in (clip.reason or "")  # the gap is said
    reasons = " ".join(s.reason for s in evidence.statuses)
    assert "s3cret-pass" not in reasons  # credentials masked in every reason
    assert "nw:***@" in reasons


def test_a_running_console_keeps_an_alarms_clip_and_leaves_no_recorder(
    site: Site, tmp_path: Path
) -> None:
    """The whole runtime: capture, detector worker, core, recorders; an alarm raised on the core
    thread gets its clip through the runtime's own wiring; stop leaves no process behind."""
    from console.runtime import RuntimeOptions, SiteRuntime
    from inference.worker_pool import DetectorSpec

    store = Store(f"sqlite:///{tmp_path / 'console' / 'alarms.db'}")
    runtime = SiteRuntime(
        site, store, RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1)
    )
    recorders = runtime.recorders
    assert recorders is not None
    runtime.start()
    try:
        folder = recorders.folder_of("cam-path")
        wait_for(  # a keyframe before the pre-roll (see Evidence.recorded_for)
            lambda: any(
                s.first_key is not None and s.first_key <= time.time() - PRE_ROLL_S - 1
                for s in finished_segments(folder)
            ),
            90,
            "the pre-roll",
        )
        # a rule the footage never sets off here (the real detections may raise others)
        finding = Finding(
            "loitering",
            "cam-path",
            "plinth",
            99,
            Severity.HIGH,
            datetime.now(UTC),
            None,
            LoiteringDetail(kind="object", dwell_s=30.0, loiter_s=20.0),
        )
        (alarm,) = runtime.core.post(lambda: runtime.alarms.ingest([finding])).result(30)

        def kept() -> bool:
            found = store.read(clips, alarm.alarm_id)
            return bool(found) and found[0].state != ClipState.RECORDING

        wait_for(kept, 90, "the clip to be kept")
        pids = recorders.pids()
        assert pids
        assert runtime.evidence is not None
        assert runtime.evidence.clip_process is not None
        clip_pid = runtime.evidence.clip_process.pid  # made there, not on a console thread
        assert clip_pid is not None
        pids.append(clip_pid)
    finally:
        runtime.stop()
    (clip,) = store.read(clips, alarm.alarm_id)
    check_clip(store, clip, alarm.raised_at)
    assert multiprocessing.active_children() == [], "processes left running"
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    actions = [e.action for e in store.read(audit_entries)]
    assert "clip.store" in actions
    assert store.close().all_stored


class SlowDiskWrite:
    """A real write task that holds the store's writer until `released` is set: a disk far
    behind, as in bench/alarm_burst.py (`--fsync-ms`), so the writes queued after it wait."""

    name: ClassVar[str] = "test.slow_disk"

    def __init__(self) -> None:
        self.released = threading.Event()
        self.running = threading.Event()

    def run(self, session: object, files: object) -> None:
        self.running.set()
        assert self.released.wait(120), "the slow disk was never released"


def alarm_behind_a_slow_disk(evidence: Evidence, camera_id: str) -> tuple[int, SlowDiskWrite]:
    """An alarm raised (its clip collecting) while the store's writer is held: the clip's row
    is still queued."""
    wait_for(lambda: evidence.recorded_for(camera_id, PRE_ROLL_S + 1), 90, "the pre-roll")
    slow = SlowDiskWrite()
    evidence.store.write(slow)
    assert slow.running.wait(30)
    alarm_id = evidence.raise_alarm(camera_id)
    evidence.boxes(camera_id, count=2)
    assert evidence.keeper.recording  # the clip is being collected, its row not written
    return alarm_id, slow


def test_a_clip_row_still_queued_when_the_console_closes_is_filled_in_when_written(
    site: Site, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The console stops while the clip's row waits behind a slow write (the alarm burst of
    bench/alarm_burst.py): the keeper does not wait and does not give up with an empty reason;
    it assembles the clip and queues its keeping behind the row, which the store writes (and
    fills in) before it closes."""
    caplog.set_level(logging.INFO, logger="console.evidence")
    camera = site.cameras[0]
    evidence = Evidence(
        site, store, [RecordingSpec(camera.id, camera.resolved_source)], tmp_path / "rec"
    )
    evidence.start()
    slow: SlowDiskWrite | None = None
    try:
        alarm_id, slow = alarm_behind_a_slow_disk(evidence, camera.id)
        evidence.recorders.stop()
        evidence.keeper.stop()  # the console closes; the disk is still behind
        assert not slow.released.is_set()
        assert store.read(clips, alarm_id) == []  # its row is not written yet
    finally:
        if slow is not None:
            slow.released.set()
        evidence.stop()
    (clip,) = store.read(clips, alarm_id)  # and no new clip opened by a stopped keeper
    check_clip(store, clip, evidence.manager.get(alarm_id).raised_at)
    assert "cut short: the console stopped" in (clip.reason or "")
    kept = [e for e in store.read(audit_entries) if e.action == "clip.store"]
    assert [e.detail["clip_id"] for e in kept] == [clip.id]
    said = [m for m in (r.getMessage() for r in caplog.records) if f"alarm {alarm_id}:" in m]
    assert any("still queued in the store" in m for m in said), said
    assert not [r for r in caplog.records if r.getMessage().rstrip().endswith(":")]


def test_clips_a_stopping_console_cannot_wait_for_are_closed_with_the_reason_not_lost(
    site: Site, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a storm of alarms on a slow machine, more clips wait than the keeper can put
    together while the console stops (bench/alarm_burst.py: 50 of 200). The one in hand is
    finished; every other row is closed with the reason before the store closes, instead of
    being assembled after it and left `recording` ("not stored: the store is closed")."""
    camera = site.cameras[0]
    evidence = Evidence(
        site,
        store,
        [RecordingSpec(camera.id, camera.resolved_source)],
        tmp_path / "rec",
        clip_process=False,
    )
    real = evidence_module.assemble_clip

    def slow_assembly(*args: object, **kwargs: object) -> object:  # a fake slow machine
        time.sleep(2.5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    evidence.start()
    try:
        wait_for(lambda: evidence.recorded_for(camera.id, PRE_ROLL_S + 1), 90, "the pre-roll")
        near = evidence.raise_alarm(camera.id)
        (loiter,) = evidence.manager.ingest(
            [
                Finding(
                    "loitering",
                    camera.id,
                    "courtyard",
                    8,
                    Severity.MEDIUM,
                    datetime.now(UTC),
                    None,
                    LoiteringDetail(kind="zone", dwell_s=700.0, loiter_s=600.0),
                )
            ]
        )
        assert evidence.manager.flush()
        assert store.flush(30)
        assert len(evidence.keeper.recording) == 2
        monkeypatch.setattr(evidence_module, "assemble_clip", slow_assembly)
        evidence.recorders.stop()
        evidence.keeper.stop(timeout_s=2.0)  # the first clip takes 2.5 s: the second must wait
    finally:
        evidence.stop()
    rows = {alarm_id: store.read(clips, alarm_id) for alarm_id in (near, loiter.alarm_id)}
    states = sorted((c.state, c.reason or "") for found in rows.values() for c in found)
    assert len(states) == 2, rows
    assert [s for s, _ in states] == [ClipState.FAILED, ClipState.KEPT]  # none left recording
    assert states[0][1] == evidence_module.ABANDONED
    assert "cut short: the console stopped" in states[1][1]
