"""`nightwatch demo`: the vision pipeline on real footage of people walking, headless.

Feeds the fetched vtest.avi clip (a fixed camera over a path with people walking) to several
demo cameras at its real frame rate, runs detection and tracking, and reports the people tracked
on each camera until Ctrl-C. The console window takes over this command once it exists.
"""

from __future__ import annotations

import argparse
import sys

from console.commands.watch import add_pipeline_arguments, cameras_for, watch
from console.media import MediaMissing, media_file

DEMO_CLIP = "vtest.avi"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="the vision pipeline on demo cameras with real footage")
    add_pipeline_arguments(parser)
    parser.set_defaults(func=run, copies=8)


def run(args: argparse.Namespace) -> int:
    try:
        clip = media_file(DEMO_CLIP)
    except MediaMissing as exc:
        print(f"nightwatch demo: {exc}", file=sys.stderr)
        return 1
    print(
        f"nightwatch demo: {args.copies} cameras playing {clip.name} (footage: PETS 2009 via "
        "OpenCV's sample data); Ctrl-C stops",
        file=sys.stderr,
    )
    cameras = cameras_for([str(clip)], args.copies, loop=not args.no_loop, pace=not args.fast)
    return watch(cameras, args, sys.stdout)
