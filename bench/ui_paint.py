"""Video wall paint benchmark: 64 live cameras on this machine, the wall versus a naive grid.

Cameras: N file cameras playing a 640x360 H.264 clip (made from vtest.avi with ffmpeg in a temp
dir) at its real 10 fps, decoded by the real capture processes into shared-memory frame rings:

- scenario `pipeline`: through `VisionPipeline` with the offline SSDLite detector (1 worker),
  its real tracks and status changes reaching the GUI through `PipelineBridge`;
- scenario `rings`: the same capture processes feeding the rings, no detection.

In each scenario, on the same load and one after the other for the same number of seconds:

- wall: `ui.video_wall.VideoWall`, one display timer at `--display-fps`, converting only frames
  whose sequence changed, scaled to the tile, only for visible tiles;
- naive: what a first attempt looks like: a QTimer per tile polling its ring at 50 Hz, copying
  and converting every new frame at full size, repainting it scaled on every frame.

Meanwhile a feeder thread pushes fake TrackedFrames (boxes) and fake alarms through the bridge,
and a 5 ms QTimer measures its own lateness: the GUI thread's event-loop latency.

Reported: the display rate the wall claims vs the frames it painted per tile per second, the
ratio of painted to decoded frames, event-loop latency p50/p99, GUI-thread CPU, paint cost.

    .venv/bin/python bench/ui_paint.py [--cameras 64] [--seconds 30] [--display-fps 10]
        [--scenario both|pipeline|rings] [--platform auto|xvfb|offscreen]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from console.media import media_file

SIZE = (640, 360)
WINDOW = (1920, 1080)
PROBE_MS = 5


# ---------------------------------------------------------------------------------------------
# display platform and media (before Qt is imported)
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def display(platform: str) -> Iterator[str]:
    """Xvfb (real X11 window system, xcb) when asked for and installed, else Qt's offscreen."""
    xvfb = shutil.which("Xvfb")
    if platform == "offscreen" or (platform == "auto" and xvfb is None):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        yield "offscreen"
        return
    if xvfb is None:
        raise SystemExit("Xvfb is not installed (use --platform offscreen)")
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    server = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", f"{WINDOW[0]}x{WINDOW[1]}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("Xvfb did not start")
            time.sleep(0.05)
        os.environ["DISPLAY"] = f":{number}"
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        yield f"xcb (Xvfb :{number})"
    finally:
        server.terminate()
        server.wait(10)


def make_clip(folder: Path) -> Path:
    """vtest.avi (768x576, 10 fps) cropped and scaled to a 640x360 H.264 file."""
    clip = folder / "vtest-640x360.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-i", str(media_file("vtest.avi")),
            "-vf", "scale=640:480,crop=640:360", "-c:v", "libx264", "-preset", "veryfast",
            "-g", "20", "-pix_fmt", "yuv420p", "-an", str(clip),
        ],
        check=True,
    )  # fmt: skip
    return clip


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------------------------------------
# the benchmark proper (Qt imported inside, after the platform is chosen)
# ---------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float
    decoded: int
    painted: int
    paint_events: int
    paint_s: float
    convert_s: float
    gui_cpu_s: float
    latencies_ms: list[float]
    tracks: int
    alarms: int
    claimed_fps: float | None

    def per_tile_per_s(self, count: int, cameras: int) -> float:
        return count / cameras / self.seconds


def run(args: argparse.Namespace, platform: str, clip: Path) -> None:
    from PySide6.QtCore import QEventLoop, QRect, Qt, QTimer
    from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen
    from PySide6.QtWidgets import QApplication, QGridLayout, QWidget

    from inference.capture import CaptureAssignment, capture_host_main
    from inference.detections import Detections
    from inference.frame_ring import FrameRing
    from inference.pipeline import CameraSpec, PipelineConfig, TrackedFrame, VisionPipeline
    from inference.worker_pool import SPAWN, DetectorSpec
    from ui.bridge import PipelineBridge
    from ui.theme import apply_theme
    from ui.video_wall import VideoWall, WallCamera

    app = QApplication.instance() or QApplication([])
    apply_theme(app)

    class NaiveTile(QWidget):
        """A first attempt: own timer, every frame copied and converted at full size."""

        def __init__(self, ring: FrameRing) -> None:
            super().__init__()
            self.ring = ring
            self.image: QImage | None = None
            self.seq = 0
            self.painted = 0
            self.painted_seq = 0
            self.paint_events = 0
            self.paint_s = 0.0
            self.convert_s = 0.0
            self.tracks: TrackedFrame | None = None
            self.timer = QTimer(self)
            self.timer.timeout.connect(self.poll)
            self.timer.start(20)

        def poll(self) -> None:
            ref = self.ring.latest()
            if ref is None or ref.seq == self.seq:
                return
            started = time.perf_counter()
            frame = self.ring.read(ref)
            if frame is not None:
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                h, w = rgb.shape[:2]
                self.image = QImage(rgb.data, w, h, w * 3, QImage.Format.Format_RGB888).copy()
                self.seq = ref.seq
                self.update()
            self.convert_s += time.perf_counter() - started

        def paintEvent(self, event: QPaintEvent) -> None:
            started = time.perf_counter()
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.fillRect(self.rect(), QColor("#0b0d10"))
            if self.image is not None:
                painter.drawImage(self.rect(), self.image)
                if self.tracks is not None:
                    sx = self.width() / self.image.width()
                    sy = self.height() / self.image.height()
                    painter.setPen(QPen(QColor("#e3c35a"), 2))
                    people = self.tracks.people
                    for (x1, y1, x2, y2), tid in zip(people.xyxy, people.track_id, strict=True):
                        box = QRect(
                            int(x1 * sx), int(y1 * sy), int((x2 - x1) * sx), int((y2 - y1) * sy)
                        )
                        painter.drawRect(box)
                        painter.drawText(box.topLeft(), f"#{tid}")
            painter.setPen(QColor("#c5ccd4"))
            painter.drawText(6, 14, self.ring.camera_id)
            painter.end()
            if self.seq != self.painted_seq:
                self.painted_seq = self.seq
                self.painted += 1
            self.paint_events += 1
            self.paint_s += time.perf_counter() - started

    class NaiveGrid(QWidget):
        def __init__(self, rings: dict[str, FrameRing]) -> None:
            super().__init__()
            layout = QGridLayout(self)
            layout.setSpacing(3)
            layout.setContentsMargins(0, 0, 0, 0)
            cols = int(np.ceil(np.sqrt(len(rings))))
            self.tiles = {cid: NaiveTile(ring) for cid, ring in rings.items()}
            for index, tile in enumerate(self.tiles.values()):
                layout.addWidget(tile, index // cols, index % cols)

        def show_tracks(self, frame: TrackedFrame) -> None:
            tile = self.tiles.get(frame.ref.camera_id)
            if tile is not None:
                tile.tracks = frame
                tile.update()  # naive: repaint right away

        def stop(self) -> None:
            for tile in self.tiles.values():
                tile.timer.stop()

    def feeder(
        bridge: PipelineBridge, rings: dict[str, FrameRing], stop: threading.Event
    ) -> Callable[[], tuple[int, int]]:
        """Fake tracks and alarms from another thread, through the bridge."""
        counts = {"tracks": 0, "alarms": 0}
        ids = list(rings)
        rng = random.Random(7)

        def loop() -> None:
            period = 1.0 / max(1.0, args.tracks_per_s)
            alarm_every = max(1, round(args.tracks_per_s / max(0.1, args.alarms_per_s)))
            tick = 0
            while not stop.wait(period):
                camera_id = rng.choice(ids)
                ref = rings[camera_id].latest()
                if ref is None:
                    continue
                n = rng.randint(1, 4)
                x = np.array([rng.uniform(0, 560) for _ in range(n)])
                y = np.array([rng.uniform(0, 160) for _ in range(n)])
                boxes = np.stack([x, y, x + 60, y + 180], axis=1)
                people = Detections(boxes, np.full(n, 0.8), track_id=np.arange(n) + tick)
                bridge.on_tracks(TrackedFrame(ref, people, people, 0.05))
                counts["tracks"] += 1
                tick += 1
                if tick % alarm_every == 0:
                    bridge.on_notice(("alarm", camera_id, "proximity", time.time()))
                    counts["alarms"] += 1

        thread = threading.Thread(target=loop, name="bench-feeder")
        thread.start()

        def finish() -> tuple[int, int]:
            stop.set()
            thread.join()
            return counts["tracks"], counts["alarms"]

        return finish

    def phase(name: str, rings: dict[str, FrameRing], bridge: PipelineBridge) -> Phase:
        if name == "wall":
            widget: Any = VideoWall(
                [WallCamera(cid, ring) for cid, ring in rings.items()],
                display_fps=args.display_fps,
            )
            widget.listen_to(bridge)
        else:
            widget = NaiveGrid(rings)
            bridge.tracks_arrived.connect(widget.show_tracks)
        alarms_seen: list[object] = []
        bridge.notice.connect(alarms_seen.append)
        widget.resize(*WINDOW)
        widget.show()
        loop = QEventLoop()
        QTimer.singleShot(1000, loop.quit)  # settle: first conversions, window mapped
        loop.exec()
        if name == "wall":
            widget.reset_counters()
        else:
            for tile in widget.tiles.values():
                tile.painted = tile.paint_events = 0
                tile.paint_s = tile.convert_s = 0.0

        latencies: list[float] = []
        probe = QTimer()
        probe.setTimerType(Qt.TimerType.PreciseTimer)
        last = [time.perf_counter()]

        def measure() -> None:
            now = time.perf_counter()
            latencies.append(max(0.0, (now - last[0]) * 1000 - PROBE_MS))
            last[0] = now

        probe.timeout.connect(measure)
        stop = threading.Event()
        finish_feeder = feeder(bridge, rings, stop)
        decoded_start = sum(r.write_seq for r in rings.values())
        cpu_start, wall_start = time.thread_time(), time.perf_counter()
        last[0] = time.perf_counter()
        probe.start(PROBE_MS)
        QTimer.singleShot(round(args.seconds * 1000), loop.quit)
        loop.exec()
        probe.stop()
        seconds = time.perf_counter() - wall_start
        gui_cpu = time.thread_time() - cpu_start
        decoded = sum(r.write_seq for r in rings.values()) - decoded_start
        tracks, alarms = finish_feeder()
        if name == "wall":
            total = widget.stats().total
            painted, events = total.painted, total.paint_events
            paint_s, convert_s = total.paint_s, total.convert_s
            claimed: float | None = widget.display_fps
        else:
            widget.stop()
            tiles = widget.tiles.values()
            painted = sum(t.painted for t in tiles)
            events = sum(t.paint_events for t in tiles)
            paint_s = sum(t.paint_s for t in tiles)
            convert_s = sum(t.convert_s for t in tiles)
            claimed = None
            bridge.tracks_arrived.disconnect(widget.show_tracks)
        bridge.notice.disconnect(alarms_seen.append)
        widget.close()
        widget.deleteLater()
        QApplication.processEvents()
        return Phase(
            name, seconds, decoded, painted, events, paint_s, convert_s, gui_cpu,
            latencies, tracks, alarms, claimed,
        )  # fmt: skip

    def report(title: str, cameras: int, wall: Phase, naive: Phase) -> None:
        print(f"\n== {title}")
        print(f"{'':36}{'wall':>12}{'naive':>12}{'naive/wall':>12}")

        def row(label: str, a: float, b: float, fmt: str = "{:12.2f}") -> None:
            ratio = b / a if a else float("nan")
            print(f"{label:36}" + fmt.format(a) + fmt.format(b) + f"{ratio:12.2f}")

        row("decoded frames/s per camera", wall.per_tile_per_s(wall.decoded, cameras),
            naive.per_tile_per_s(naive.decoded, cameras))  # fmt: skip
        row("painted frames/s per tile", wall.per_tile_per_s(wall.painted, cameras),
            naive.per_tile_per_s(naive.painted, cameras))  # fmt: skip
        row("painted / decoded", wall.painted / max(1, wall.decoded),
            naive.painted / max(1, naive.decoded))  # fmt: skip
        row("paint events/s (all tiles)", wall.paint_events / wall.seconds,
            naive.paint_events / naive.seconds)  # fmt: skip
        row("convert+paint ms per painted frame",
            1000 * (wall.paint_s + wall.convert_s) / max(1, wall.painted),
            1000 * (naive.paint_s + naive.convert_s) / max(1, naive.painted))  # fmt: skip
        row("GUI thread CPU (% of one core)", 100 * wall.gui_cpu_s / wall.seconds,
            100 * naive.gui_cpu_s / naive.seconds)  # fmt: skip
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            row(f"event-loop latency {label} (ms)", quantile(wall.latencies_ms, q),
                quantile(naive.latencies_ms, q))  # fmt: skip
        row("event-loop latency max (ms)", max(wall.latencies_ms, default=float("nan")),
            max(naive.latencies_ms, default=float("nan")))  # fmt: skip
        row("probe ticks (of 200/s)", len(wall.latencies_ms) / wall.seconds,
            len(naive.latencies_ms) / naive.seconds)  # fmt: skip
        row("fake tracks/s through the bridge", wall.tracks / wall.seconds,
            naive.tracks / naive.seconds)  # fmt: skip
        row("fake alarms/s through the bridge", wall.alarms / wall.seconds,
            naive.alarms / naive.seconds)  # fmt: skip
        claimed = wall.claimed_fps or 0.0
        source = wall.per_tile_per_s(wall.decoded, cameras)
        reachable = min(claimed, source)
        got = wall.per_tile_per_s(wall.painted, cameras)
        print(
            f"wall claims {claimed:.1f} fps per tile; the cameras deliver {source:.1f} fps, so "
            f"{reachable:.1f} fps is reachable; it painted {got:.2f} fps per tile "
            f"({100 * got / reachable if reachable else float('nan'):.0f} % of reachable)"
        )

    cameras = args.cameras
    ids = [f"cam-{i + 1:02d}" for i in range(cameras)]
    print(
        f"{cameras} cameras, {clip.name} ({SIZE[0]}x{SIZE[1]} H.264, 10 fps), window "
        f"{WINDOW[0]}x{WINDOW[1]} on {platform}, {args.seconds:.0f} s per side, "
        f"wall display rate {args.display_fps:g} fps, {os.cpu_count()} CPUs"
    )

    if args.scenario in ("both", "pipeline"):
        bridge = PipelineBridge()
        specs = [CameraSpec(cid, str(clip)) for cid in ids]
        config = PipelineConfig(
            detector=DetectorSpec("ssdlite"), cpu_workers=1, max_frame_bytes=SIZE[0] * SIZE[1] * 3
        )
        pipeline = VisionPipeline(specs, config, **bridge.callbacks())
        pipeline.start()
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and (
                pipeline.stats().detected == 0
                or any(r.write_seq == 0 for r in pipeline.rings.values())
            ):
                QApplication.processEvents()
                time.sleep(0.1)
            print(f"pipeline ready: detector {pipeline.stats().detector}")
            detected_before = pipeline.stats().detected
            wall = phase("wall", pipeline.rings, bridge)
            naive = phase("naive", pipeline.rings, bridge)
            detected = pipeline.stats().detected - detected_before
            report(
                "scenario pipeline: VisionPipeline (capture processes + SSDLite, 1 worker)",
                cameras,
                wall,
                naive,
            )
            print(
                f"detections/s during both phases: {detected / (wall.seconds + naive.seconds):.1f}"
                f"; bridge: {bridge.stats()}"
            )
        finally:
            bridge.close()
            pipeline.stop()
            bridge.deleteLater()

    if args.scenario in ("both", "rings"):
        bridge = PipelineBridge()
        rings = {
            cid: FrameRing.create(cid, slots=4, max_frame_bytes=SIZE[0] * SIZE[1] * 3)
            for cid in ids
        }
        events = SPAWN.Queue()
        hosts: list[tuple[Any, Any]] = []
        stop_events = threading.Event()

        def dispatch() -> None:  # capture status changes reach the GUI through the bridge
            while not stop_events.is_set():
                try:
                    message = events.get(timeout=0.2)
                except Exception:
                    continue
                if message[0] == "status":
                    bridge.on_status(message[2])

        dispatcher = threading.Thread(target=dispatch, name="bench-dispatch")
        try:
            for host_id, first in enumerate(range(0, cameras, 16)):
                group = [
                    CaptureAssignment(cid, str(clip), rings[cid].name)
                    for cid in ids[first : first + 16]
                ]
                control = SPAWN.Queue()
                process = SPAWN.Process(
                    target=capture_host_main,
                    args=(host_id, group, events, control, {}),
                    name=f"bench-capture-{host_id}",
                    daemon=True,
                )
                process.start()
                hosts.append((process, control))
            dispatcher.start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and any(r.write_seq == 0 for r in rings.values()):
                time.sleep(0.1)
            wall = phase("wall", rings, bridge)
            naive = phase("naive", rings, bridge)
            report("scenario rings: capture processes only, no detection", cameras, wall, naive)
        finally:
            bridge.close()
            for _, control in hosts:
                control.put(None)
            for process, control in hosts:
                process.join(10)
                if process.is_alive():
                    process.kill()
                    process.join(5)
                control.close()
                control.join_thread()
            stop_events.set()
            if dispatcher.is_alive():
                dispatcher.join()
            events.close()
            events.join_thread()
            for ring in rings.values():
                ring.close()
                ring.unlink()
            bridge.deleteLater()
    QApplication.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--display-fps", type=float, default=10.0)
    parser.add_argument("--scenario", choices=("both", "pipeline", "rings"), default="both")
    parser.add_argument("--platform", choices=("auto", "xvfb", "offscreen"), default="auto")
    parser.add_argument("--tracks-per-s", type=float, default=100.0)
    parser.add_argument("--alarms-per-s", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nightwatch-ui-bench-") as folder:
        clip = make_clip(Path(folder))
        with display(args.platform) as platform:
            run(args, platform, clip)


if __name__ == "__main__":
    main()
