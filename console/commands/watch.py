"""`nightwatch watch SOURCE...`: run the vision pipeline headless and report tracked people.

Each SOURCE (an RTSP URL, a video file or `usb:N`) becomes a camera `cam-1`, `cam-2`, ...;
`--copies N` feeds every source to N cameras, to try the pipeline at scale on one clip. Every
`--every-s` seconds a line says how many cameras are live, frames decoded and detected per
second, detection latency and the people tracked on each camera; camera status changes and
worker events are printed as they happen. Ctrl-C stops cleanly.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import TextIO

from console.commands import stop_on_signals
from console.commands.detect import add_detector_arguments
from inference.pipeline import (
    CameraSpec,
    PipelineConfig,
    PipelineEvent,
    TrackedFrame,
    VisionPipeline,
)
from inference.sources import StatusChange, mask_credentials
from inference.worker_pool import DetectorSpec


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("watch", help="run detection and tracking headless on cameras")
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="rtsp://..., a video file, or usb:N"
    )
    add_pipeline_arguments(parser)
    parser.set_defaults(func=run)


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    add_detector_arguments(parser)
    parser.add_argument("--copies", type=int, default=1, help="cameras per source (default 1)")
    parser.add_argument("--workers", type=int, help="CPU detector workers (default: cores / 2)")
    parser.add_argument("--duration-s", type=float, help="stop after this many seconds")
    parser.add_argument("--every-s", type=float, default=2.0, help="seconds between reports")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="read files as fast as possible instead of at their frame rate",
    )
    parser.add_argument("--no-loop", action="store_true", help="files play once")
    parser.add_argument("--json", action="store_true", help="reports as JSON lines")


def cameras_for(sources: list[str], copies: int, *, loop: bool, pace: bool) -> list[CameraSpec]:
    specs = []
    for source in sources:
        for _ in range(max(1, copies)):
            specs.append(CameraSpec(f"cam-{len(specs) + 1}", source, loop=loop, pace=pace))
    return specs


def run(args: argparse.Namespace) -> int:
    cameras = cameras_for(args.sources, args.copies, loop=not args.no_loop, pace=not args.fast)
    return watch(cameras, args, sys.stdout)


class _Report:
    """Collects what the pipeline says (from its dispatch thread) for the periodic line."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json
        self.lock = threading.Lock()
        self.people: dict[str, list[int]] = {}

    def on_tracks(self, frame: TrackedFrame) -> None:
        with self.lock:
            self.people[frame.ref.camera_id] = sorted(int(t) for t in frame.people.track_id)

    def on_status(self, change: StatusChange) -> None:
        self.emit(
            {
                "event": "camera",
                "camera": change.camera_id,
                "status": str(change.status),
                "reason": mask_credentials(change.reason),
            },
            f"camera {change.camera_id}: {change.status} ({mask_credentials(change.reason)})",
        )

    def on_event(self, event: PipelineEvent) -> None:
        self.emit(
            {"event": event.kind, "source": event.source, "detail": event.detail},
            f"{event.source}: {event.kind}: {event.detail}",
        )

    def emit(self, record: dict[str, object], text: str) -> None:
        with self.lock:
            print(json.dumps(record) if self.as_json else text, file=self.out, flush=True)


def watch(cameras: list[CameraSpec], args: argparse.Namespace, out: TextIO) -> int:
    report = _Report(out, args.json)
    config = PipelineConfig(
        detector=DetectorSpec(args.detector, args.weights, args.device),
        cpu_workers=args.workers,
    )
    pipeline = VisionPipeline(
        cameras,
        config,
        on_tracks=report.on_tracks,
        on_status=report.on_status,
        on_event=report.on_event,
    )
    stop = threading.Event()
    started = time.monotonic()
    last = {"decoded": 0, "detected": 0, "at": started}
    with stop_on_signals(stop):
        pipeline.start()
        try:
            announced = False
            while not stop.wait(args.every_s):
                stats = pipeline.stats()
                if stats["error"]:
                    print(f"nightwatch: detector failed: {stats['error']}", file=sys.stderr)
                    return 1
                info = stats["detector"]
                if info is not None and not announced:
                    announced = True
                    report.emit(
                        {
                            "event": "detector",
                            "backend": info.backend,
                            "model": info.model,
                            "device": info.device,
                            "runtime": info.runtime,
                            "note": info.note,
                        },
                        f"detector: {info.describe()}" + (f"; {info.note}" if info.note else ""),
                    )
                _line(report, stats, last, time.monotonic() - started, len(cameras))
                if args.duration_s is not None and time.monotonic() - started >= args.duration_s:
                    break
        finally:
            pipeline.stop()
    return 0


def _line(report: _Report, stats: dict, last: dict, elapsed: float, n: int) -> None:
    now = time.monotonic()
    dt = max(1e-6, now - last["at"])
    decoded_rate = (stats["decoded"] - last["decoded"]) / dt
    detected_rate = (stats["detected"] - last["detected"]) / dt
    last.update(decoded=stats["decoded"], detected=stats["detected"], at=now)
    with report.lock:
        people = {cam: ids for cam, ids in report.people.items() if ids}
    record = {
        "event": "report",
        "elapsed_s": round(elapsed, 1),
        "cameras": n,
        "live": stats["live"],
        "decoded_per_s": round(decoded_rate, 1),
        "detected_per_s": round(detected_rate, 1),
        "stale": stats["stale"],
        "latency_p50_ms": round(stats["latency_p50_s"] * 1000),
        "latency_p95_ms": round(stats["latency_p95_s"] * 1000),
        "people": people,
    }
    shown = ", ".join(f"{cam} {ids}" for cam, ids in sorted(people.items())[:8])
    more = f" (+{len(people) - 8} cameras)" if len(people) > 8 else ""
    report.emit(
        record,
        f"{elapsed:6.1f} s  live {stats['live']}/{n}  decoded {decoded_rate:6.1f}/s  "
        f"detected {detected_rate:5.1f}/s  latency p50 {record['latency_p50_ms']} ms "
        f"p95 {record['latency_p95_ms']} ms  stale {stats['stale']}  "
        f"people: {shown or 'none'}{more}",
    )
