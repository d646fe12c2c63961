"""The offline person model through a Triton server on loopback against the same model here.

Both sides run SSDLite on OpenVINO on this machine's CPU, on the same vtest.avi frames, in
alternating rounds: `here` is `SsdliteDetector(runtime="openvino")` in this process; `triton` is
`SsdliteDetector(runtime="triton")` sending the same windows over gRPC to a real Triton server
(packaging/triton-test-server.sh) started on 127.0.0.1, which runs the graph on its Python
backend with OpenVINO. So the ratio is the cost of the hop (encoding, gRPC, the backend's
Python, Triton's queue) on one machine, not what a GPU server gives: on a real deployment the
server is another machine and its accelerator does the work (docs/triton.md).

Reported: ms per frame one frame at a time, and per frame in batches of `--batch` frames (what a
worker sends when several cameras are due), medians of the rounds, and whether both sides found
the same number of people on every frame.

    .venv/bin/python bench/triton_backend.py [--frames 16] [--batch 8] [--rounds 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.detectors.ssdlite import SsdliteDetector, model_path
from inference.detectors.ssdlite_triton import write_model_repository
from tests.media import media
from tests.triton_server import TritonServer


def vtest_frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(media("vtest.avi")))
    frames = []
    try:
        step = max(1, 790 // count)
        for index in range(0, step * count, step):
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if ok:
                frames.append(frame)
    finally:
        capture.release()
    return frames


def per_frame_ms(detector: SsdliteDetector, frames: list[np.ndarray], batch: int) -> float:
    start = time.perf_counter()
    for first in range(0, len(frames), batch):
        detector.detect(frames[first : first + batch])
    return (time.perf_counter() - start) * 1000 / len(frames)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="OpenVINO threads here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    reason = TritonServer.unavailable()
    if reason:
        print(f"bench/triton_backend.py: {reason}", file=sys.stderr)
        return 1
    frames = vtest_frames(args.frames)
    with tempfile.TemporaryDirectory(prefix="nightwatch-triton-") as tmp:
        folder = Path(tmp)
        server = TritonServer(folder / "repository", folder / "tritonserver.log")
        write_model_repository(
            folder / "repository", model_path(), site_packages=server.site_packages()
        )
        with server:
            here = SsdliteDetector(threads=args.threads, cache_dir=folder, runtime="openvino")
            triton = SsdliteDetector(runtime="triton", server=server.grpc, server_timeout_s=120)
            same = all(
                len(a) == len(b)
                for a, b in zip(here.detect(frames), triton.detect(frames), strict=True)
            )  # also the warm-up of both
            sides: dict[str, dict[str, list[float]]] = {
                "here": {"single": [], "batch": []},
                "triton": {"single": [], "batch": []},
            }
            for round_no in range(1, args.rounds + 1):
                for name, detector in (("here", here), ("triton", triton)):
                    single = per_frame_ms(detector, frames, 1)
                    batched = per_frame_ms(detector, frames, args.batch)
                    sides[name]["single"].append(single)
                    sides[name]["batch"].append(batched)
                    print(
                        f"  round {round_no} {name}: {single:.1f} ms/frame single, "
                        f"{batched:.1f} in batches of {args.batch}",
                        flush=True,
                    )
            runtime = triton.info.runtime
    print(f"SSDLite on OpenVINO, {len(frames)} vtest.avi frames, {args.rounds} rounds")
    print(f"{'':28}{'here':>10}{runtime:>16}{'ratio':>8}")
    for key, label in (("single", "ms/frame, one at a time"), ("batch", f"ms/frame, {args.batch}")):
        a = statistics.median(sides["here"][key])
        b = statistics.median(sides["triton"][key])
        print(f"{label:28}{a:10.1f}{b:16.1f}{b / a:8.2f}")
    print(f"same number of people on every frame: {'yes' if same else 'NO'}")
    print("ratio: Triton on loopback / here (the hop's cost on one machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
