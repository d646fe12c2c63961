"""How long a capture process's RTSP cameras are dark after it is killed (SIGKILL) and restarted.

A real RTSP server (tests/rtsp_server.py: gst-rtsp-server under Debian's python3, H.264), one
capture process holding N cameras of it, the real pipeline. For each camera: seconds from the
kill to the first new frame in its ring. Three runs in the same session:

- baseline: FFmpeg's own stream probing (`analyzeduration` 5 s), what Nightwatch first used;
- 1 s: the probing Nightwatch used until November 2026;
- nightwatch: its default (`inference.sources.STREAM_ANALYZE_US`, 0.25 s).

OpenCV opens FFmpeg captures one at a time per process, and probing happens inside that lock, so
the last camera of a restarted process waits for every open before its own.

    .venv/bin/python bench/capture_restart.py [--cameras 8] [--kills 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.pipeline import CameraSpec, PipelineConfig, VisionPipeline
from inference.sources import STREAM_ANALYZE_US
from inference.worker_pool import DetectorSpec
from tests.rtsp_server import RtspServer, gst_rtsp_server_missing


def dark_seconds(url: str, cameras: int, kills: int) -> list[list[float]]:
    """Per kill, per camera: seconds from the kill to the camera's first new frame."""
    specs = [CameraSpec(f"cam-{i}", url) for i in range(cameras)]
    config = PipelineConfig(detector=DetectorSpec("ssdlite"), cpu_workers=1)
    out: list[list[float]] = []
    with VisionPipeline(specs, config) as pipeline:
        rings = list(pipeline.rings.values())
        deadline = time.monotonic() + 120
        while any(r.write_seq == 0 for r in rings):
            if time.monotonic() > deadline:
                raise RuntimeError("cameras never sent a frame")
            time.sleep(0.02)
        for _ in range(kills):
            time.sleep(2.0)
            (pid,) = pipeline.capture_pids()
            assert pid is not None
            before = [r.write_seq for r in rings]
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            dark = [0.0] * cameras
            waiting = set(range(cameras))
            while waiting:
                if time.monotonic() - killed > 180:
                    raise RuntimeError(f"cameras {sorted(waiting)} did not come back")
                if pipeline.capture_pids()[0] not in (None, pid):
                    for i in list(waiting):
                        if rings[i].write_seq != before[i]:
                            dark[i] = time.monotonic() - killed
                            waiting.discard(i)
                time.sleep(0.005)
            out.append(sorted(dark))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--kills", type=int, default=2)
    args = parser.parse_args()
    missing = gst_rtsp_server_missing()
    if missing:
        print(f"cannot run: {missing}")
        return 1
    results = {}
    with RtspServer() as server:
        settings = (("baseline", 5_000_000), ("1 s", 1_000_000), ("nightwatch", STREAM_ANALYZE_US))
        for label, probing_us in settings:
            os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = (
                f"rtsp_transport;tcp|analyzeduration;{probing_us}"
            )
            runs = dark_seconds(server.url, args.cameras, args.kills)
            results[label] = runs
            for k, dark in enumerate(runs):
                print(
                    f"{label:<10} kill {k + 1}: first camera back after {dark[0]:.2f} s, "
                    f"median {statistics.median(dark):.2f} s, last {dark[-1]:.2f} s "
                    f"({args.cameras} cameras, probing {probing_us / 1e6:.1f} s)"
                )
    last = {label: statistics.mean(run[-1] for run in runs) for label, runs in results.items()}
    print(
        f"last camera back: baseline {last['baseline']:.2f} s, 1 s probing {last['1 s']:.2f} s, "
        f"nightwatch {last['nightwatch']:.2f} s ({last['baseline'] / last['nightwatch']:.1f}x "
        f"and {last['1 s'] / last['nightwatch']:.1f}x sooner)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
