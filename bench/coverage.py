"""Coverage of the demo museum: the scheduler aiming for it against the policy before, same run.

The demo museum (`nightwatch demo`'s site: its clips of people walking, at 10 frames/s as live
cameras would send them) runs headless through `SiteRuntime` (capture processes, rings,
scheduler, worker pool, trackers, the core judging every tracked frame) with the offline SSDLite
detector, once with each scheduling policy, alternating, `--rounds` times:

- before: `SchedulerConfig(aim_for_coverage=False)`: every moving camera due every 0.2 s, served
  alarmed first, then oldest first (what the scheduler did before issue 19);
- full-batches: aiming for coverage, but batches always up to 8 frames
  (`fit_batches_to_target=False`, the first version of that policy);
- after: the default, aiming for coverage with batches no longer than a worker finishes within
  the target (inference/scheduler.py).

Reported per policy (median of the rounds): detections/s; coverage, the share of the moving
cameras' time spent in gaps between two judgements of at most 0.5 s (the pipeline's
`CoverageMeter`, read every 10 s over the last 10 s); the age of the frames moving cameras were
judged on, p50 and p95; how many looks a second the workers gave by the scheduler's measure, and
how many moving cameras the plan looked at less often than the target. Also the load average
seen, since the figures depend on what else the machine runs.

    .venv/bin/python bench/coverage.py [--cameras 64] [--seconds 40] [--rounds 2] [--workers N]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.runtime import RuntimeOptions, SiteRuntime
from console.site_file import load_site
from console.store import Store
from inference.pipeline_stats import PipelineStats
from inference.scheduler import SchedulerConfig
from inference.worker_pool import DetectorSpec
from resources.demo_museum import build_demo_site

POLICIES = {
    "before": SchedulerConfig(aim_for_coverage=False),
    "full-batches": SchedulerConfig(fit_batches_to_target=False),
    "after": SchedulerConfig(),
}


def loadavg() -> float:
    return os.getloadavg()[0]


def wait_until_detecting(runtime: SiteRuntime, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while runtime.pipeline.stats().detected == 0:
        error = runtime.pipeline.stats().error
        if error:
            raise RuntimeError(f"the detector did not start: {error}")
        if time.monotonic() > deadline:
            raise TimeoutError("no detection within 180 s")
        time.sleep(0.2)


def run(
    site_file: Path, config: SchedulerConfig, seconds: float, workers: int | None, folder: Path
) -> dict[str, float]:
    """One policy on the demo museum: figures over `seconds` after a 10 s warm-up."""
    site = load_site(site_file)
    store = Store(f"sqlite:///{folder / f'coverage-{time.monotonic_ns()}.db'}")
    options = RuntimeOptions(
        detector=DetectorSpec("ssdlite"), cpu_workers=workers, scheduler=config
    )
    runtime = SiteRuntime(site, store, options)
    loads = [loadavg()]
    windows: list[PipelineStats] = []
    try:
        runtime.start()
        wait_until_detecting(runtime)
        time.sleep(10.0)  # the pool's rate measured, the plan settled, trackers warm
        first = runtime.pipeline.stats()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(min(10.0, seconds - (time.monotonic() - started)))
            windows.append(runtime.pipeline.stats())  # coverage: the last 10 s
            loads.append(loadavg())
        ended = time.monotonic()
        last = runtime.pipeline.stats()
    finally:
        runtime.stop()
        store.close()
    shares = [w.coverage for w in windows if w.coverage is not None]
    p50s = [w.judged_age_p50_s for w in windows if w.judged_age_p50_s is not None]
    p95s = [w.judged_age_p95_s for w in windows if w.judged_age_p95_s is not None]
    return {
        "detections_per_s": (last.detected - first.detected) / (ended - started),
        "coverage": statistics.mean(shares) if shares else float("nan"),
        "judged_age_p50_s": statistics.median(p50s) if p50s else float("nan"),
        "judged_age_p95_s": statistics.median(p95s) if p95s else float("nan"),
        "moving_cameras": statistics.mean(w.moving_cameras for w in windows),
        "looks_per_s_measured": last.capacity_looks_per_s or float("nan"),
        "stretched_cameras": statistics.mean(w.stretched_cameras for w in windows),
        "batch_size": statistics.mean(w.batch_size for w in windows),
        "load_average": statistics.mean(loads),
    }


ROWS = (
    ("detections_per_s", "detections/s"),
    ("coverage", "coverage (share within 0.5 s)"),
    ("judged_age_p50_s", "frame age judged p50 (s)"),
    ("judged_age_p95_s", "frame age judged p95 (s)"),
    ("moving_cameras", "moving cameras"),
    ("looks_per_s_measured", "looks/s the pool gave"),
    ("stretched_cameras", "cameras below the target"),
    ("batch_size", "frames per worker job"),
    ("load_average", "load average (1 min)"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, help="CPU detector workers (default: cores / 2)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="nightwatch-coverage-") as tmp:
        folder = Path(tmp)
        site_file = build_demo_site(folder / "demo", cameras=args.cameras)
        print(
            f"demo museum, {args.cameras} cameras, SSDLite, workers "
            f"{args.workers or 'default'}, {args.seconds:.0f} s per run after a 10 s warm-up, "
            f"{args.rounds} alternating round(s); load average at start {loadavg():.1f}",
            flush=True,
        )
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in POLICIES}
        for round_no in range(1, args.rounds + 1):
            for name, config in POLICIES.items():
                figures = run(site_file, config, args.seconds, args.workers, folder)
                runs[name].append(figures)
                print(
                    f"  round {round_no} {name}: {figures['detections_per_s']:.1f} detections/s, "
                    f"coverage {figures['coverage']:.2f}, age p50 "
                    f"{figures['judged_age_p50_s']:.2f} s p95 {figures['judged_age_p95_s']:.2f} s, "
                    f"load {figures['load_average']:.1f}",
                    flush=True,
                )
    sides = {
        name: {key: statistics.median(run[key] for run in done) for key, _ in ROWS}
        for name, done in runs.items()
    }
    names = list(POLICIES)
    print(
        f"{'':32}" + "".join(f"{n:>14}" for n in names) + f"{'after/before':>14}{'after/full':>12}"
    )
    for key, label in ROWS:
        values = [sides[n][key] for n in names]
        before, full, after = sides["before"][key], sides["full-batches"][key], sides["after"][key]
        ratios = [
            after / before if before else float("nan"),
            after / full if full else float("nan"),
        ]
        print(
            f"{label:32}"
            + "".join(f"{v:14.3f}" for v in values)
            + f"{ratios[0]:14.2f}{ratios[1]:12.2f}"
        )
    print("ratios: medians of the rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
