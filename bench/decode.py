"""Decode throughput: Nightwatch's capture path versus `ffmpeg -threads 1 -f null`, same clip.

Three figures on each clip, all single-threaded, as fast as possible:
- ffmpeg: `ffmpeg -threads 1 -i CLIP -f null -` (the decoder alone, the ceiling);
- opencv: a bare `cv2.VideoCapture.read()` loop;
- capture: Nightwatch's capture path: the file source read by a `CameraReader` thread, each frame
  through the motion gate and published into a shared-memory frame ring.

The clips: vtest.avi (768x576 MPEG-4 part 2, people walking) and the same footage re-encoded to
H.264 640x360 (a typical camera sub-stream) with ffmpeg into a temporary folder.

    .venv/bin/python bench/decode.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.media import media_file
from inference.capture import RingWriter
from inference.frame_ring import FrameRing
from inference.motion_gate import MotionGate
from inference.sources import CameraReader, CameraStatus, StatusChange, parse_source


def ffmpeg_fps(clip: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-threads", "1", "-i", str(clip), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    frames = re.findall(r"frame=\s*(\d+)", done.stderr)
    count = int(frames[-1]) if frames else 0
    return count / elapsed


def opencv_fps(clip: Path) -> float:
    cv2.setNumThreads(1)
    cap = cv2.VideoCapture(str(clip), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    count = 0
    started = time.perf_counter()
    while cap.read()[0]:
        count += 1
    elapsed = time.perf_counter() - started
    cap.release()
    return count / elapsed


def capture_fps(clip: Path) -> float:
    cap = cv2.VideoCapture(str(clip))
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    ring = FrameRing.create("bench", slots=4, max_frame_bytes=width * height * 3)
    ended = threading.Event()

    def on_status(change: StatusChange) -> None:
        if change.status == CameraStatus.OFFLINE:  # end of file
            ended.set()

    writer = RingWriter(ring, MotionGate())
    reader = CameraReader(
        "bench", parse_source(str(clip), loop=False, pace=False), writer, on_status
    )
    started = time.perf_counter()
    reader.start()
    ended.wait(300)
    elapsed = time.perf_counter() - started
    reader.stop()
    count = ring.write_seq
    ring.close()
    ring.unlink()
    return count / elapsed


def main() -> None:
    vtest = media_file("vtest.avi")
    with tempfile.TemporaryDirectory() as tmp:
        h264 = Path(tmp) / "vtest-640x360.mp4"
        subprocess.run(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-i",
                str(vtest),
                "-vf",
                "scale=640:360",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-g",
                "20",
                str(h264),
            ],
            check=True,
        )
        print(
            f"{'clip':28}{'ffmpeg':>10}{'opencv':>10}{'capture':>10}"
            f"{'capture/ffmpeg':>16}{'capture/opencv':>16}"
        )
        for clip in (vtest, h264):
            ff, cv, cap = ffmpeg_fps(clip), opencv_fps(clip), capture_fps(clip)
            print(f"{clip.name:28}{ff:10.0f}{cv:10.0f}{cap:10.0f}{cap / ff:16.2f}{cap / cv:16.2f}")
    print("frames per second, one thread each")


if __name__ == "__main__":
    main()
