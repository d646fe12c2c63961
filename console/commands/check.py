"""`nightwatch check SITE`: validate a site file and the images and videos it names.

Exit 0 with a one-line summary, or exit 1 with every problem, one per line, as
`FILE: path.to.field: what is wrong (got VALUE)`. A video file a camera names must be a video
that gives a frame; stream (RTSP, HTTP) and USB cameras are not contacted, and a note on stderr
says how many were left untried. A valid file may still send alerts nowhere (a route to the
gallery with no gallery destination), name image outlines that cannot be checked (a stream
camera without `frame_size_px`), or hold a calibration whose view of the floor misses what its
camera guards: one `FILE: warning: path.to.field: ...` line each, before the summary, and still
exit 0. Imports stay light: no torch, no Qt.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def summary(file: str, site: Any) -> str:
    """The one-line summary of a valid site, e.g. 'site.yaml: Example Museum: 1 floor, ...: ok'."""
    parts = [
        _count(len(site.floors), "floor"),
        _count(len(site.cameras), "camera"),
        _count(len(site.protected_objects), "protected object"),
        _count(len(site.zones), "zone"),
        _count(len(site.guards), "guard"),
    ]
    return f"{file}: {site.site.name}: {', '.join(parts)}: ok"


def run(args: argparse.Namespace) -> int:
    from console.site_file import SiteFileError, load_site

    file = str(args.site)
    try:
        site = load_site(file, probe_videos=True)
    except SiteFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stdout)
        return 1
    from console.site_file.view_warnings import check_warnings

    for warning in check_warnings(site):
        print(f"{file}: warning: {warning.path}: {warning.text}", file=sys.stdout)
    print(summary(file, site), file=sys.stdout)
    live = [c for c in site.cameras if c.source_kind != "file"]
    if live:
        print(
            f"{file}: note: {_count(len(live), 'camera')} on a stream or USB not contacted "
            "(nightwatch watch SOURCE tries one)",
            file=sys.stderr,
        )
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate a site file and the images and videos it names",
        description=(
            "Validate a site file (see docs/site-file.md), the plan images and the video files "
            "it names (each must give a frame; stream and USB cameras are not contacted). "
            "Exit 0 with a one-line summary, or 1 listing every problem as "
            "FILE: path.to.field: what is wrong (got VALUE)."
        ),
    )
    parser.add_argument("site", metavar="SITE", help="the site file (YAML)")
    parser.set_defaults(func=run)
