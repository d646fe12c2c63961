"""The files a site file names: each floor's plan image (read, its size recorded) and the
cameras' video files."""

from __future__ import annotations

from console.site_file.cross_checks import Parts
from console.site_file.problems import Problem
from console.site_file.schema import Floor

__all__ = ["check_files"]


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


def check_files(parts: Parts) -> list[Problem]:
    problems = []
    for index, floor in parts.floors:
        wrong = _read_plan(floor)
        if wrong:
            problems.append(Problem(f"floors[{index}].plan", wrong, floor.plan))
    for index, cam in parts.cameras:
        if cam.source_path is not None and not cam.source_path.is_file():
            problems.append(
                Problem(
                    f"cameras[{index}].source",
                    f"video file not found at {cam.source_path}",
                    cam.source,
                )
            )
    return problems
