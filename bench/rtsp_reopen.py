"""How soon cameras come back when their RTSP servers return, in one process (as one capture
process holds them): N `CameraReader`s on N loopback RTSP servers (tests/rtsp_server.py), every
server killed, started again after `--outage` seconds; the seconds from the return to each
camera's next frame, and each successful open's start and length. `--no-probe` turns off the
reader's probe while it backs off (the behaviour before it), for a baseline in the same run;
`--runs 2` alternates both.

    .venv/bin/python bench/rtsp_reopen.py [--cameras 16] [--outage 12] [--runs 2]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import inference.sources as sources
from inference.sources import CameraReader, StatusChange, StreamSource
from tests.rtsp_server import RtspServer, gst_rtsp_server_missing


class TimedSource(StreamSource):
    """The real stream source, noting when each successful open began and how long it took."""

    opens: list[tuple[float, float]]

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.opens = []

    def open(self) -> None:
        began = time.monotonic()
        super().open()
        self.opens.append((began, time.monotonic() - began))


def one_run(count: int, outage_s: float, probe: bool) -> tuple[list[float], list[float]]:
    """(seconds from the return to each camera's next frame, each reopen's length)."""
    sources.PROBE_EVERY_S = 1.0 if probe else 1e9  # 1e9: the back-off is waited out whole
    servers = [RtspServer(pattern="smpte") for _ in range(count)]
    frames = [0] * count
    lock = threading.Lock()

    def counter(i: int) -> Any:
        def on_frame(*_args: object) -> None:
            with lock:
                frames[i] += 1

        return on_frame

    def ignore(_change: StatusChange) -> None:
        return None

    readers: list[CameraReader] = []
    try:
        for server in servers:
            server.start()
        made = [TimedSource(s.url) for s in servers]
        readers = [CameraReader(f"c{i}", made[i], counter(i), ignore) for i in range(count)]
        for reader in readers:
            reader.start()
        while min(frames) == 0:
            time.sleep(0.05)
        for server in servers:
            server.kill()
        time.sleep(outage_s)
        returned = time.monotonic()
        before = list(frames)
        for server in servers:
            server.start()
        back: dict[int, float] = {}
        while len(back) < count and time.monotonic() - returned < 180:
            for i in range(count):
                if i not in back and frames[i] > before[i]:
                    back[i] = time.monotonic() - returned
            time.sleep(0.02)
        lengths = [length for s in made for began, length in s.opens if began >= returned]
        return sorted(back.values()), sorted(lengths)
    finally:
        for reader in readers:
            reader.stop()
        for server in servers:
            server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--outage", type=float, default=12.0, help="seconds the servers are down")
    parser.add_argument("--runs", type=int, default=2, help="alternating: without, with probe")
    parser.add_argument("--no-probe", action="store_true", help="only runs without the probe")
    args = parser.parse_args()
    missing = gst_rtsp_server_missing()
    if missing:
        print(f"cannot run: {missing}")
        return 1
    for run in range(args.runs):
        probe = not args.no_probe and run % 2 == 1
        back, lengths = one_run(args.cameras, args.outage, probe)
        shown = ", ".join(f"{s:.1f}" for s in back)
        mean = sum(lengths) / len(lengths) if lengths else float("nan")
        print(
            f"{'probe   ' if probe else 'no probe'}: {len(back)} of {args.cameras} back after "
            f"[{shown}] s; {len(lengths)} opens, each {mean:.2f} s on average (waiting for "
            "OpenCV's open lock included)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
