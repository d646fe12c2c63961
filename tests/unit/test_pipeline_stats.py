"""`PipelineStats` is a snapshot: nothing a reader does changes it, and it does not follow the
dictionary it was made from."""

from __future__ import annotations

import dataclasses

import pytest

from inference.pipeline_stats import CameraFigures, PipelineStats, WorkerFigures
from inference.sources import CameraStatus


def test_a_snapshot_cannot_be_changed_by_its_readers() -> None:
    stats = PipelineStats(
        cameras={"hall": CameraFigures(CameraStatus.LIVE, decoded=10)},
        workers=[WorkerFigures(0, "cpu", True, 0, 3, 3, 0.5)],  # type: ignore[arg-type]  # a list on purpose
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.detected = 5  # type: ignore[misc]  # the point of the test
    with pytest.raises(TypeError):
        stats.cameras["lobby"] = CameraFigures(CameraStatus.OFFLINE)  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.cameras["hall"].decoded = 11  # type: ignore[misc]
    assert stats.workers == (WorkerFigures(0, "cpu", True, 0, 3, 3, 0.5),)


def test_a_snapshot_does_not_follow_the_dictionary_it_was_made_from() -> None:
    cameras = {"hall": CameraFigures(CameraStatus.LIVE)}
    stats = PipelineStats(cameras=cameras)
    cameras["lobby"] = CameraFigures(CameraStatus.STALLED)
    assert list(stats.cameras) == ["hall"]


def test_offline_counts_the_cameras_that_send_no_picture() -> None:
    stats = PipelineStats(
        cameras={
            "hall": CameraFigures(CameraStatus.LIVE),
            "lobby": CameraFigures(CameraStatus.STALLED),
            "yard": CameraFigures(CameraStatus.OFFLINE),
            "door": CameraFigures(CameraStatus.CONNECTING),
        }
    )
    assert stats.offline == 2
