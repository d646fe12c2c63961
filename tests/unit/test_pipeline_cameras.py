"""`VisionPipeline.reconfigure` before it starts (the running case is in
tests/integration/test_site_apply_live.py): what it says it changed, and what it keeps."""

from __future__ import annotations

import pytest

from inference.pipeline import CameraChanges, CameraSpec, VisionPipeline


def test_reconfigure_says_what_it_adds_removes_reopens_and_keeps() -> None:
    pipeline = VisionPipeline(
        [CameraSpec("a", "a.mp4"), CameraSpec("b", "b.mp4"), CameraSpec("c", "c.mp4")]
    )
    changes = pipeline.reconfigure(
        [CameraSpec("d", "d.mp4"), CameraSpec("a", "a.mp4"), CameraSpec("b", "b2.mp4")]
    ).result(timeout=5)
    assert changes == CameraChanges(added=("d",), removed=("c",), restarted=("b",), kept=("a",))
    assert list(pipeline.cameras) == ["d", "a", "b"]
    assert pipeline.cameras["b"].source == "b2.mp4"
    assert pipeline.status("d")[1] == "starting"
    with pytest.raises(KeyError):
        pipeline.status("c")
    pipeline.set_alarmed("c", True)  # a camera no longer there is ignored, not an error
    pipeline.set_alarmed("d", True)


def test_reconfigure_refuses_duplicate_ids() -> None:
    pipeline = VisionPipeline([CameraSpec("a", "a.mp4")])
    with pytest.raises(ValueError, match="unique"):
        pipeline.reconfigure([CameraSpec("a", "a.mp4"), CameraSpec("a", "b.mp4")])
