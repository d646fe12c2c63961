"""Scaling: what each camera costs as the demo museum grows, and how many one machine serves.

The demo museum (`nightwatch demo`'s clips of people walking, 10 frames/s like live cameras)
runs headless through `SiteRuntime` (capture processes, rings, scheduler, worker pool, trackers,
the core) with the offline SSDLite detector, once per camera count (1, 8, 16, 32, 64, 128 by
default), one after the other in the same run. Per count, over `--seconds` after a 10 s
warm-up:

- CPU share: CPU seconds of this process and all its children (capture processes, detector
  workers) over the window, as a share of the whole machine (all cores);
- memory: proportional set size (PSS: shared pages split between the processes that map them,
  so the frame rings are counted once) of the same processes at the end;
- detections/s, and coverage: the share of moving cameras' time in gaps of at most 0.5 s
  between two judgements (the pipeline's `CoverageMeter`, the mean of its 10 s windows);
- and per camera, each cost divided by the count, with its ratio to the 1-camera run (the
  baseline in the same run).

The knee is the largest count whose coverage is at least `--target` (0.9): the cameras one such
machine serves at the coverage target. A PNG of the four curves goes to `--png`.

    .venv/bin/python bench/scaling.py [--counts 1,8,16,32,64,128] [--seconds 30]
        [--workers N] [--target 0.9] [--png docs/images/scaling.png]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.runtime import RuntimeOptions, SiteRuntime
from console.site_file import load_site
from console.store import Store
from inference.pipeline_stats import PipelineStats
from inference.worker_pool import DetectorSpec
from resources.demo_museum import build_demo_site


@dataclass(frozen=True, slots=True)
class Point:
    cameras: int
    cpu_share: float  # of the whole machine, 0..1
    memory_mb: float  # PSS of this process and its children
    detections_per_s: float
    coverage: float  # nan: no moving camera seen
    judged_age_p95_s: float
    load_average: float


def family() -> list[psutil.Process]:
    me = psutil.Process(os.getpid())
    return [me, *me.children(recursive=True)]


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def pss_mb(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def wait_until_detecting(runtime: SiteRuntime, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while runtime.pipeline.stats().detected == 0:
        error = runtime.pipeline.stats().error
        if error:
            raise RuntimeError(f"the detector did not start: {error}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no detection within {timeout_s:.0f} s")
        time.sleep(0.2)


def measure(
    site_dir: Path, cameras: int, seconds: float, workers: int | None, folder: Path
) -> Point:
    site = load_site(build_demo_site(site_dir, cameras=cameras))
    store = Store(f"sqlite:///{folder / f'scaling-{cameras}.db'}")
    options = RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=workers)
    runtime = SiteRuntime(site, store, options)
    windows: list[PipelineStats] = []
    loads = [os.getloadavg()[0]]
    try:
        runtime.start()
        wait_until_detecting(runtime)
        time.sleep(10.0)  # the pool's rate measured, the plan settled, trackers warm
        processes = family()
        cpu_before = cpu_seconds(processes)
        first = runtime.pipeline.stats()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(min(10.0, seconds - (time.monotonic() - started)))
            windows.append(runtime.pipeline.stats())
            loads.append(os.getloadavg()[0])
        ended = time.monotonic()
        last = runtime.pipeline.stats()
        cpu_after = cpu_seconds(processes)
        memory = pss_mb(family())
    finally:
        runtime.stop()
        store.close()
    wall = ended - started
    used = sum(cpu_after[pid] - cpu_before[pid] for pid in cpu_after if pid in cpu_before)
    shares = [w.coverage for w in windows if w.coverage is not None]
    p95s = [w.judged_age_p95_s for w in windows if w.judged_age_p95_s is not None]
    return Point(
        cameras=cameras,
        cpu_share=used / (wall * (os.cpu_count() or 1)),
        memory_mb=memory,
        detections_per_s=(last.detected - first.detected) / wall,
        coverage=statistics.mean(shares) if shares else math.nan,
        judged_age_p95_s=statistics.median(p95s) if p95s else math.nan,
        load_average=statistics.mean(loads),
    )


def knee(points: list[Point], target: float) -> int | None:
    """The largest camera count at the coverage target (None: not even the smallest)."""
    served = [p.cameras for p in points if p.coverage >= target]
    return max(served) if served else None


def plot(points: list[Point], target: float, served: int | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [p.cameras for p in points]
    panels = (
        (
            "CPU share per camera (% of the machine)",
            [100 * p.cpu_share / p.cameras for p in points],
        ),
        ("memory per camera (MB, PSS)", [p.memory_mb / p.cameras for p in points]),
        ("detections/s (all cameras)", [p.detections_per_s for p in points]),
        ("coverage (moving cameras judged within 0.5 s)", [p.coverage for p in points]),
    )
    figure, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, (title, values) in zip(axes.flat, panels, strict=True):
        ax.plot(counts, values, marker="o", color="#1f4e79")
        ax.set_title(title, fontsize=10)
        ax.set_xscale("log", base=2)
        ax.set_xticks(counts, [str(c) for c in counts])
        ax.grid(True, alpha=0.3)
        if served is not None:
            ax.axvline(served, color="#b03a2e", linestyle="--", linewidth=1)
    axes.flat[3].axhline(target, color="#7f7f7f", linestyle=":", linewidth=1)
    axes.flat[3].set_ylim(-0.02, 1.02)
    for ax in axes[1]:
        ax.set_xlabel("cameras")
    knee_words = f"knee: {served} camera(s)" if served is not None else "knee: below the smallest"
    loads = f"{min(p.load_average for p in points):.0f}-{max(p.load_average for p in points):.0f}"
    figure.suptitle(
        f"Nightwatch on {os.cpu_count()} cores, SSDLite, demo museum ({knee_words} at coverage "
        f">= {target:g}; load average {loads})",
        fontsize=11,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,8,16,32,64,128")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, help="CPU detector workers (default: cores / 2)")
    parser.add_argument("--target", type=float, default=0.9, help="coverage the knee must reach")
    parser.add_argument("--png", type=Path, default=Path("docs/images/scaling.png"))
    args = parser.parse_args()
    counts = sorted({int(c) for c in args.counts.split(",")})
    logging.basicConfig(level=logging.ERROR)
    points: list[Point] = []
    with tempfile.TemporaryDirectory(prefix="nightwatch-scaling-") as tmp:
        folder = Path(tmp)
        print(
            f"demo museum, SSDLite, workers {args.workers or 'default'}, {args.seconds:.0f} s per "
            f"count after a 10 s warm-up; {os.cpu_count()} cores; load average at start "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
        for count in counts:
            point = measure(folder / "demo", count, args.seconds, args.workers, folder)
            points.append(point)
            print(
                f"  {count:4d} cameras: CPU {100 * point.cpu_share:5.1f} % of the machine, "
                f"{point.memory_mb:6.0f} MB, {point.detections_per_s:5.1f} detections/s, "
                f"coverage {point.coverage:.2f}, age p95 {point.judged_age_p95_s:.2f} s, "
                f"load {point.load_average:.1f}",
                flush=True,
            )
    base = points[0]
    print(
        f"{'cameras':>8}{'CPU %/cam':>11}{'ratio':>7}{'MB/cam':>9}{'ratio':>7}"
        f"{'det/s/cam':>11}{'ratio':>7}{'coverage':>10}"
    )
    for p in points:
        cpu, mb, det = (
            p.cpu_share / p.cameras,
            p.memory_mb / p.cameras,
            p.detections_per_s / p.cameras,
        )
        print(
            f"{p.cameras:8d}{100 * cpu:11.2f}{cpu / (base.cpu_share / base.cameras):7.2f}"
            f"{mb:9.1f}{mb / (base.memory_mb / base.cameras):7.2f}"
            f"{det:11.2f}{det / (base.detections_per_s / base.cameras):7.2f}{p.coverage:10.2f}"
        )
    print(f"ratio: per-camera cost against the {base.cameras}-camera run in this run")
    served = knee(points, args.target)
    print(
        f"knee: {served} camera(s) at coverage >= {args.target:g}"
        if served is not None
        else f"knee: not even {base.cameras} camera(s) reached coverage {args.target:g}"
    )
    plot(points, args.target, served, args.png)
    print(f"plot: {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
