"""The evidence keeper's worker pass: in a burst of alarms many clips of one camera are being
collected at once, and each pass must list that camera's folder once, not once per clip (the
listing per clip held the interpreter lock long enough to stall the screen). A real keeper over a
real store, its recorders never started; the recorder's finished segments are files written
here under the recorder's own names."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import console.evidence as evidence
from console.evidence import EvidenceKeeper
from console.site_file import Site, load_site
from console.store import Store
from inference.recording import RecordingSettings, Segment, StreamRecorders, segment_name
from tests.sites import courtyard_site

CLIPS_PER_CAMERA = 20
T0 = 1_764_000_000.0  # wall time of the first segment (30 November 2025)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return load_site(courtyard_site(tmp_path / "site"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'db' / 'alarms.db'}")
    yield s
    assert s.close().all_stored


def write_segments(folder: Path, starts: range) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for start in starts:
        name = segment_name(T0 + start, T0 + start + 1, T0 + start)
        (folder / name).write_bytes(b"segment")
        names.append(name)
    return names


def test_a_pass_lists_each_camera_once_however_many_clips_it_collects(
    site: Site, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorders = StreamRecorders([], tmp_path / "recordings", RecordingSettings(segment_s=1.0))
    keeper = EvidenceKeeper(site, store, recorders, now=lambda: T0 + 10)
    cameras = ["cam-path", "cam-hall"]  # staging reads only the recorder's folder per camera
    written = {cam: write_segments(recorders.folder_of(cam), range(0, 6)) for cam in cameras}
    listed: list[Path] = []
    real = evidence.finished_segments

    def counting(folder: Path) -> list[Segment]:
        listed.append(folder)
        return real(folder)

    monkeypatch.setattr(evidence, "finished_segments", counting)
    for cam in cameras:
        for n in range(CLIPS_PER_CAMERA):
            keeper._staging[(100 + n, cam)] = T0 + 2  # from the keyframe 2 s in

    staged_at = keeper._pass(float("-inf"))
    assert sorted(listed) == sorted(recorders.folder_of(cam) for cam in cameras)
    for cam in cameras:
        for n in range(CLIPS_PER_CAMERA):
            linked = sorted(os.listdir(keeper._staging_dir((100 + n, cam))))
            assert linked == sorted(written[cam][2:])  # 2 s in onwards, hard links
    # woken again at once (a new alarm): no staging before WORKER_PERIOD_S has passed
    listed.clear()
    assert keeper._pass(staged_at) == staged_at
    assert listed == []

    # a segment finished since: the next pass links it, and only it, into each clip
    new = write_segments(recorders.folder_of(cameras[0]), range(6, 7))
    keeper._pass(float("-inf"))
    assert len(listed) == 2
    folder = keeper._staging_dir((100, cameras[0]))
    assert sorted(os.listdir(folder)) == sorted(written[cameras[0]][2:] + new)
    assert os.stat(folder / new[0]).st_nlink == CLIPS_PER_CAMERA + 1  # the recording + each clip
