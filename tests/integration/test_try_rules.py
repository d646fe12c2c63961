"""Try before arming: an edited, unsaved site's rules run on the courtyard footage (vtest.avi)
through the replay path, into a store of their own, with the real detector; the alarms they
would raise come back for the editor's timeline, with snapshots and video times."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from console.site_file import load_site
from console.store import Store, count_alarms
from console.try_rules import TryProgress, try_rules
from inference.worker_pool import DetectorSpec
from tests.sites import courtyard_site

AMS = ZoneInfo("Europe/Amsterdam")


def test_the_edited_rules_on_recorded_footage_list_their_alarms(tmp_path: Path) -> None:
    site_path = courtyard_site(tmp_path)
    site = load_site(site_path)
    # the edit, not saved: the plinth guarded more closely at 2 m
    edited = site.model_copy(
        update={
            "protected_objects": tuple(
                o.model_copy(update={"min_distance_m": 2.0}) for o in site.protected_objects
            )
        }
    )
    before = site_path.read_bytes()
    seen: list[TryProgress] = []
    report = try_rules(
        edited,
        "cam-path",
        start=datetime(2026, 11, 28, 2, 0, tzinfo=AMS),
        folder=tmp_path / "try",
        detect_every_s=0.5,
        detector=DetectorSpec("ssdlite"),
        progress=seen.append,
    )
    try:
        assert report.finished
        assert not report.cancelled
        assert report.error is None
        kinds = {(a.rule, a.subject_id) for a in report.alarms}
        assert ("proximity", "plinth") in kinds
        assert ("after_hours", "courtyard") in kinds  # 02:00: the museum is closed
        duration = report.duration_s
        assert duration is not None
        assert 79 < duration < 80
        for alarm in report.alarms:
            assert alarm.camera_id == "cam-path"
            assert alarm.start_s is not None
            assert alarm.end_s is not None
            assert 0 <= alarm.start_s <= alarm.end_s <= duration
            assert alarm.occurrences
            assert alarm.snapshot_path is not None
            assert alarm.snapshot_path.is_file()
            assert alarm.snapshot_path.read_bytes()[:2] == b"\xff\xd8"
            assert report.folder in alarm.snapshot_path.parents
        plinth = next(a for a in report.alarms if a.subject_id == "plinth")
        assert plinth.subject_name == "Plinth by the sign"
        # progress came along the footage, ending at its end
        assert len(seen) >= 3
        assert [p.video_s for p in seen] == sorted(p.video_s for p in seen)
        assert seen[-1].video_s == duration
        assert seen[-1].alarms == len(report.alarms)
        # its own store, in its own folder; the site file untouched
        with Store(f"sqlite:///{report.folder / 'try.db'}", read_only=True) as store:
            assert store.read(count_alarms) == len(report.alarms)
        assert site_path.read_bytes() == before
    finally:
        report.discard()
    assert not report.folder.exists()


def test_a_try_can_be_cancelled(tmp_path: Path) -> None:
    site = load_site(courtyard_site(tmp_path))
    cancel = threading.Event()

    def progress(step: TryProgress) -> None:
        if step.frames_judged >= 5:
            cancel.set()

    report = try_rules(
        site,
        "cam-path",
        start=datetime(2026, 11, 28, 2, 0, tzinfo=AMS),
        detector=DetectorSpec("ssdlite"),
        progress=progress,
        cancel=cancel,
    )
    try:
        assert report.cancelled
        assert not report.finished
        assert report.duration_s is not None
        assert report.video_s < report.duration_s
    finally:
        report.discard()
