"""`nightwatch demo`: the console on a generated demo museum with live demo cameras.

The demo museum (floor plan, galleries, protected artworks, zones, guards and 64 cameras playing
clips cut from real footage of people walking) is built once into the user's cache by
`resources.demo_museum`, imported here only when the demo is asked for (the core never imports
`resources`). It is then watched like any site: in the window (`nightwatch demo`, see ui.cli) or
headless (`nightwatch demo --headless`), with its alarms in a database of its own, so a demo never
mixes with a museum's records. The museum is closed on the day the demo is built, so after-hours
alarms arise as well as proximity ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import platformdirs

from console.commands.detect import add_detector_arguments
from console.commands.run import run_headless, runtime_options


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="the console on a demo museum with live demo cameras")
    parser.add_argument("--headless", action="store_true", help="no window; alarms to the log")
    parser.add_argument("--cameras", type=int, default=64, help="demo cameras (default 64)")
    parser.add_argument("--db", metavar="URL", help="alarm store (default: the demo's own)")
    parser.add_argument("--workers", type=int, help="CPU detector workers")
    add_detector_arguments(parser)
    parser.set_defaults(func=run)


def demo_db_url() -> str:
    folder = Path(platformdirs.user_data_dir("nightwatch"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'demo.db'}"


def prepare(args: argparse.Namespace) -> Path | None:
    """Build (or reuse) the demo museum; its site file, or None after saying what failed."""
    from console.media import MediaMissing
    from resources.demo_museum import build_demo_site

    try:
        return build_demo_site(cameras=args.cameras)
    except (MediaMissing, OSError, ValueError) as exc:
        print(f"nightwatch demo: cannot build the demo museum: {exc}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    site = prepare(args)
    if site is None:
        return 1
    return run_headless(site, runtime_options(args), db_url=args.db or demo_db_url())
