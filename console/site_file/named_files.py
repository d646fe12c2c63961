"""The files a site file names: each floor's plan image (read, its size recorded) and the
cameras' video files (there; with `probe_videos`, also a video that gives a frame, whose first
frame's size is recorded for the camera whose detector reads it: `Camera.frame_size`).

A plan image is read through `inference.images`: its size is checked from its header before
any pixel is decoded (at most 16384 px a side, 64 Mpx, 64 MB), and a PNG or JPEG cut short is
refused. A file named twice is read once.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from console.site_file.cross_checks import Parts
from console.site_file.problems import Problem
from inference.images import ImageRefused, read_image
from inference.video_probe import VideoProbe, probe_video

__all__ = ["check_files"]


def _read_plan(path: Path) -> tuple[int, int] | str:
    """The plan image's (width, height), or what is wrong with it."""
    if not path.exists():
        return f"plan image not found at {path}"
    if not path.is_file():
        return f"plan image is not a file: {path}"
    try:
        if path.stat().st_size == 0:
            return "plan image is empty"
        image = read_image(path, flags=cv2.IMREAD_UNCHANGED)
    except OSError as exc:
        return f"cannot read plan image: {exc.strerror or exc}"
    except ImageRefused as exc:
        if exc.too_large:
            return f"plan image is too large: {exc.reason}"
        return f"plan image is corrupt or not an image (PNG or JPEG): {exc.reason}"
    return int(image.shape[1]), int(image.shape[0])


def check_files(parts: Parts, *, probe_videos: bool = False) -> list[Problem]:
    """Problems with the files the parts name; records each floor's plan size."""
    problems = []
    plans: dict[Path, tuple[int, int] | str] = {}
    for index, floor in parts.floors:
        path = floor.plan_path
        if path not in plans:
            plans[path] = _read_plan(path)
        found = plans[path]
        if isinstance(found, str):
            problems.append(Problem(f"floors[{index}].plan", found, floor.plan))
        else:
            floor._plan_size_px = found
    videos: dict[Path, VideoProbe] = {}
    for index, cam in parts.cameras:
        # the detector reads the sub-stream when there is one
        detected = "substream" if cam.substream is not None else "source"
        for field, path, written in (
            ("source", cam.source_path, cam.source),
            ("substream", cam.substream_path, cam.substream),
        ):
            if path is None:
                continue
            if not path.is_file():
                wrong: str | None = f"video file not found at {path}"
            elif probe_videos:
                if path not in videos:
                    videos[path] = probe_video(path)
                wrong = videos[path].problem
                if field == detected and videos[path].frame_size is not None:
                    cam._probed_frame_size_px = videos[path].frame_size
            else:
                wrong = None
            if wrong:
                problems.append(Problem(f"cameras[{index}].{field}", wrong, written))
    return problems
