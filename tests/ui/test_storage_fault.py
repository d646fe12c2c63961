"""A storage fault is said on screen, alarms stay on screen, and nothing is lost once the disk
is back.

The banner on its own (pytest-qt), and the whole console on a real runtime (real capture and
detector processes on vtest.avi) whose database lives on a small tmpfs that the test fills to the
brim (root only; skipped with the reason elsewhere). The alarm during the fault is a scripted
finding handed to the core, the way the rules hand theirs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from console.rules import Finding
from console.rules.details import ProximityDetail
from console.runtime import RuntimeOptions, SiteRuntime
from console.severity import Severity
from console.site_file import load_site
from console.store import Store, StoreHealth, alarm_events, audit_entries, get_alarm
from console.store import snapshots as stored_snapshots
from inference.worker_pool import DetectorSpec
from tests.disks import fill, tmpfs
from tests.sites import courtyard_site
from tests.ui.conftest import flush_deleted
from ui.alarm_queue import STATUS
from ui.bridge import PipelineBridge
from ui.main_window import ConsoleWindow
from ui.storage_banner import StorageBanner


def wait_until(condition: Callable[[], bool], timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_banner_says_what_is_wrong_and_when_it_is_over(qtbot) -> None:
    banner = StorageBanner()
    qtbot.addWidget(banner)
    banner.show_health(StoreHealth(ok=True))
    assert banner.isHidden()  # healthy from the start: nothing to say
    since = datetime(2026, 11, 28, 2, 14, tzinfo=UTC)
    fault = "cannot write /var/lib/nightwatch/nightwatch.db: the disk is full"
    banner.show_health(StoreHealth(ok=False, fault=fault, since=since, pending=3))
    assert not banner.isHidden()
    assert banner.faulted
    assert "ALARMS ARE NOT BEING STORED" in banner.text
    assert "the disk is full" in banner.text
    assert "3 write(s) waiting" in banner.text
    banner.show_health(StoreHealth(ok=True))
    assert not banner.faulted
    assert "Storage is back" in banner.text
    assert "Every alarm that waited is now stored" in banner.text
    banner.show_health(StoreHealth(ok=False, fault=fault, since=since, pending=0))
    banner.show_health(StoreHealth(ok=False, unstored=2))
    assert "2 write(s) could NOT be stored" in banner.text


def snapshot_jpeg() -> bytes:
    image = np.zeros((180, 320, 3), np.uint8)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def test_a_full_disk_is_shown_and_the_alarm_is_stored_once_space_returns(
    tmp_path: Path, qapp
) -> None:
    site_file = courtyard_site(tmp_path)
    with tmpfs(tmp_path / "disk", "8m") as disk:
        db = disk / "nightwatch.db"
        store = Store(f"sqlite:///{db}")
        bridge = PipelineBridge()
        runtime = SiteRuntime(
            load_site(site_file),
            store,
            RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1),
            on_alarm=bridge.on_alarm,
            on_store_health=bridge.on_store_health,
            **bridge.callbacks(),
        )
        bridge.serve(runtime.post)
        settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
        runtime.start()
        window = ConsoleWindow(runtime, bridge, station="desk-1", settings=settings)
        try:
            window.show()
            assert window.storage_banner.isHidden()
            filler = fill(disk)  # the disk is full from now on

            picture = snapshot_jpeg()
            finding = Finding(
                "proximity",
                "cam-path",
                "plinth",
                77,
                Severity.HIGH,
                runtime.clock.now(),
                12.0,
                ProximityDetail(distance_m=0.3),
            )
            raised = runtime.core.post(
                lambda: runtime.alarms.ingest([finding], snapshot=lambda _f: picture)
            ).result(timeout=30)
            (alarm,) = raised
            # the fault is on screen, in words, and the alarm is in the queue all the same
            assert wait_until(lambda: window.storage_banner.faulted)
            assert "the disk is full" in window.storage_banner.text
            assert str(disk) in window.storage_banner.text  # the file it could not write
            assert wait_until(lambda: window.queue.model.row_of(alarm.alarm_id) is not None)
            row = window.queue.model.row_of(alarm.alarm_id)
            assert row is not None
            status = window.queue.model.index(row, STATUS).data()
            assert "not stored yet" in status

            filler.unlink()  # the space comes back
            assert wait_until(lambda: not window.storage_banner.faulted)
            assert "Storage is back" in window.storage_banner.text
            assert runtime.alarms.flush(timeout_s=60)
            assert wait_until(lambda: runtime.alarms.get(alarm.alarm_id).stored)
        finally:
            window.close()
            window.deleteLater()
            flush_deleted()
            bridge.close()
            runtime.stop()
            report = store.close(timeout_s=30)
            bridge.deleteLater()
            flush_deleted()
        assert report.all_stored
        with Store(f"sqlite:///{db}", read_only=True) as reader:
            record = reader.read(get_alarm, alarm.alarm_id)
            assert (record.camera_id, record.subject) == ("cam-path", "plinth")
            (snap,) = reader.read(stored_snapshots.snapshots, alarm.alarm_id)
            assert reader.snapshot_path(snap).read_bytes() == picture
            assert [e.kind.value for e in reader.read(alarm_events, alarm.alarm_id)] == ["raise"]
            faults = [e for e in reader.read(audit_entries) if e.action == "store.fault"]
            (fault,) = faults  # the fault itself is on the record, after the rows it held
            assert "the disk is full" in fault.detail["fault"]
            actions = [e.action for e in reader.read(audit_entries)]
            assert actions.index("alarm.raise") < actions.index("store.fault")
