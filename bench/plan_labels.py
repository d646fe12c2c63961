"""Floor plan label placement: one pass on the demo museum's plan with many open alarms.

Every alarm change places the plan's labels again (paced by their cost, ui/pacing.py), on the
GUI thread, in one go: in an alarm burst it was the longest single task the window ran (29 ms at
the median and 81 ms at most on the burst bench's 32-camera plan). This times
`FloorPlanView.place_labels` on the demo museum's plan (64 cameras, eight galleries, their
artworks) in the floor plan panel of a 1920x1080 console (576x480), with `--alarms` open alarms
over the cameras (every third on an artwork, the others on people the plan does not show), for
this tree and for `--baseline-rev` (a temporary git worktree), in alternating child processes,
`--rounds` times each. Reported per tree: the fastest of `--passes` passes in each round, their
median over the rounds, and the ratio; the median pass while another thread runs Python (as
the console's core and store writer do in a flood, so that each call into Qt may wait for the
interpreter lock), and its ratio; and whether both trees show the same labels, in the same
words and places.

    .venv/bin/python bench/plan_labels.py [--baseline-rev 90bccf5] [--alarms 200]
        [--passes 20] [--rounds 3] [--switch-ms 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]


def child(tree: Path, alarms: int, passes: int, switch_ms: float) -> dict[str, Any]:
    sys.setswitchinterval(switch_ms / 1000)
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    from datetime import date

    import cv2
    from PySide6.QtWidgets import QApplication

    from console.site_file import load_site
    from resources.demo_museum import CLIPS, clip_path, demo_layout
    from resources.demo_museum.cameras import place_cameras
    from resources.demo_museum.plan_drawing import draw_plan
    from resources.demo_museum.site_yaml import site_yaml
    from tests.ui.test_floor_plan_view import alarm
    from ui.floor_plan_view import FloorPlanView

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="nw-labels-"))
    rooms = demo_layout()
    (folder / "plans").mkdir()
    cv2.imwrite(str(folder / "plans" / "ground.png"), draw_plan(rooms))
    (folder / "clips").mkdir()
    for recipe in CLIPS:  # the plan view never reads them: empty files let the site load
        clip_path(folder, recipe).touch()
    text = site_yaml(place_cameras(rooms, 64), rooms, date(2026, 11, 30).isoformat())
    (folder / "site.yaml").write_text(text)
    site = load_site(folder / "site.yaml")
    plan = FloorPlanView(site)
    plan.resize(576, 480)
    plan.show()
    for _ in range(3):
        app.processEvents()
    cameras = [c.id for c in site.cameras]
    artworks = [o.id for o in site.protected_objects]
    plan.update_alarms(
        [
            alarm(i + 1, cameras[i % len(cameras)], artworks[i % len(artworks)])
            if i % 3 == 0
            else alarm(i + 1, cameras[i % len(cameras)], f"person-{i}")
            for i in range(alarms)
        ]
    )
    plan.catch_up()
    app.processEvents()
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        plan.place_labels()
        times.append((time.perf_counter() - start) * 1000)
    # the same with another thread running Python meanwhile, as the console's core and store
    # writer do in a flood: each call into Qt may then wait for the interpreter lock
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            sum(range(2000))

    other = threading.Thread(target=busy, daemon=True)
    other.start()
    busy_times = []
    try:
        for _ in range(passes):
            start = time.perf_counter()
            plan.place_labels()
            busy_times.append((time.perf_counter() - start) * 1000)
    finally:
        stop.set()
        other.join()
    shown = plan.shown_labels()
    # where every shown label ended up, and in which words: both trees must agree
    layout = sorted(
        (text, round(r.x()), round(r.y()), round(r.width()), round(r.height())) for text, r in shown
    )
    return {
        "fastest_ms": min(times),
        "median_ms": statistics.median(times),
        "busy_median_ms": statistics.median(busy_times),
        "shown": len(shown),
        "layout": hashlib.sha256(repr(layout).encode()).hexdigest()[:16],
    }


def run_child(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, str(HERE), "--child", str(tree), "--alarms", str(args.alarms)]
    command += ["--passes", str(args.passes), "--switch-ms", str(args.switch_ms)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line.removeprefix("RESULT ")))
    raise SystemExit(f"{tree}: no result (exit {done.returncode})\n{done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-rev", default="90bccf5")
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--switch-ms",
        type=float,
        default=5.0,
        help="the interpreter's switch interval in both trees' children (Python's default 5; "
        "the console sets 0.5, console/interpreter.py)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(Path(args.child), args.alarms, args.passes, args.switch_ms)
        print("RESULT " + json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="nw-labels-base-") as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline_rev],
            check=True,
            capture_output=True,
        )
        try:
            runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "this tree": []}
            for _ in range(args.rounds):  # alternating, so both see the same machine
                runs["baseline"].append(run_child(base, args))
                runs["this tree"].append(run_child(ROOT, args))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                capture_output=True,
            )
    print(
        f"demo plan (64 cameras) at 576x480, {args.alarms} open alarms, fastest of "
        f"{args.passes} passes per round, {args.rounds} rounds, switch interval "
        f"{args.switch_ms:g} ms:"
    )
    fastest, busy = {}, {}
    for name, results in runs.items():
        fastest[name] = statistics.median(r["fastest_ms"] for r in results)
        busy[name] = statistics.median(r["busy_median_ms"] for r in results)
        print(
            f"{name}: a placing takes {fastest[name]:.1f} ms (rounds: "
            + ", ".join(f"{r['fastest_ms']:.1f}" for r in results)
            + f"; median pass {statistics.median(r['median_ms'] for r in results):.1f} ms); "
            f"with another thread running Python, median pass {busy[name]:.1f} ms; "
            f"labels shown {results[-1]['shown']:.0f}"
        )
    ratio = fastest["baseline"] / fastest["this tree"]
    busy_ratio = busy["baseline"] / busy["this tree"]
    print(
        f"ratio: this tree places the labels {ratio:.2f}x faster, {busy_ratio:.2f}x with "
        "another thread running Python"
    )
    layouts = {r["layout"] for results in runs.values() for r in results}
    print(
        "the same labels in the same places in both trees"
        if len(layouts) == 1
        else f"the trees place the labels differently ({len(layouts)} layouts)"
    )


if __name__ == "__main__":
    main()
