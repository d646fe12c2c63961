"""What keeping the cameras' streams costs, against decoding them, in the same run.

The issue's budget: decoding 64 streams is already what the machine can give the cameras, so the
evidence recorders must never decode (let alone encode) them again. This measures, for N
streams of each kind, over `--seconds` of real time (files paced at their frame rate and looped,
as the demo's cameras are):

- **recording**: the real `StreamRecorders` (spawned recorder processes, PyAV demux, packets
  copied into 2 s Matroska segments, old segments deleted): CPU seconds of those processes;
- **decoding**: the capture path's decoding of the same streams (`CameraReader` threads over
  `VideoFileSource`, OpenCV, frames thrown away, in one spawned process): its CPU seconds;

and the ratio, per stream-second. Then the time to put a clip together from the segments
(`assemble_clip`: 30 s of one camera, copied without re-encoding) and to hash it.

Streams: H.264 640x360 at 15 frames/s, 2 s keyframe interval (made here from vtest.avi's
frames with libx264: bench input only, never a camera stream), and MPEG-4 part 2 640x360 at
10 frames/s (the demo museum's clips, when built: `nightwatch demo` makes them).

    .venv/bin/python bench/recording.py [--streams 8] [--seconds 20]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.media import media_file  # noqa: E402
from inference.clip_assembly import assemble_clip, file_sha256  # noqa: E402
from inference.recording import (  # noqa: E402
    RecordingSettings,
    RecordingSpec,
    StreamRecorders,
    finished_segments,
)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def make_h264(out: Path, seconds: float = 60.0, fps: int = 15) -> Path:
    """vtest.avi's frames, 640x360, as H.264 with a keyframe every 2 s (bench input only)."""
    import av
    import cv2

    source = cv2.VideoCapture(str(media_file("vtest.avi")))
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"g": str(2 * fps), "preset": "veryfast", "tune": "zerolatency"}
        stream.time_base = Fraction(1, fps)
        for n in range(int(seconds * fps)):
            ok, image = source.read()
            if not ok:
                source.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, image = source.read()
            frame = av.VideoFrame.from_ndarray(
                cv2.cvtColor(cv2.resize(image, (640, 360)), cv2.COLOR_BGR2RGB), format="rgb24"
            )
            frame.pts = n
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def decode_main(files: list[str], seconds: float, ready: mp.Event) -> None:
    """The capture path's decoding of `files`, paced and looped, for `seconds`."""
    import cv2

    from inference.sources import CameraReader, VideoFileSource

    cv2.setNumThreads(1)
    frames = [0]
    lock = threading.Lock()

    def on_frame(_image: object, _ts: float) -> None:
        with lock:
            frames[0] += 1

    readers = [
        CameraReader(f"cam-{n}", VideoFileSource(path, loop=True), on_frame, lambda _s: None)
        for n, path in enumerate(files)
    ]
    for reader in readers:
        reader.start()
    ready.set()
    time.sleep(seconds)
    for reader in readers:
        reader.stop(5.0)
    print(f"    decoded {frames[0]} frames", flush=True)


def measure_decoding(files: list[Path], seconds: float) -> float:
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    process = ctx.Process(target=decode_main, args=([str(f) for f in files], seconds + 2, ready))
    process.start()
    ready.wait(60)
    time.sleep(2.0)  # opened and settled: measure the steady state
    assert process.pid is not None
    before = cpu_s(process.pid)
    time.sleep(seconds)
    used = cpu_s(process.pid) - before
    process.join(30)
    return used


def measure_recording(files: list[Path], seconds: float, folder: Path) -> tuple[float, Path]:
    specs = [RecordingSpec(f"cam-{n}", str(path)) for n, path in enumerate(files)]
    recorders = StreamRecorders(specs, folder, RecordingSettings(segment_s=2.0, keep_s=60.0))
    recorders.start()
    try:
        time.sleep(3.0)  # opened and settled
        pids = recorders.pids()
        before = sum(cpu_s(pid) for pid in pids)
        time.sleep(seconds)
        used = sum(cpu_s(pid) for pid in pids) - before
    finally:
        recorders.stop()
    return used, recorders.folder_of("cam-0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nw-recording-bench-") as tmp:
        work = Path(tmp)
        kinds: dict[str, list[Path]] = {}
        t0 = time.perf_counter()
        h264 = make_h264(work / "h264.mp4")
        print(f"made the H.264 input in {time.perf_counter() - t0:.1f} s")
        kinds["H.264 640x360 15 fps"] = [h264] * args.streams
        demo = sorted((Path.home() / ".cache/nightwatch/demo-site/clips").glob("clip-*.mp4"))
        if demo:
            kinds["MPEG-4 640x360 10 fps (demo)"] = [
                demo[n % len(demo)] for n in range(args.streams)
            ]
        else:
            print("(the demo's clips are not built: run `nightwatch demo` once to add them)")
        stream_s = args.streams * args.seconds
        for name, files in kinds.items():
            print(f"{name}: {args.streams} streams for {args.seconds:g} s")
            rec, folder = measure_recording(files, args.seconds, work / name.split()[0])
            dec = measure_decoding(files, args.seconds)
            print(
                f"    recording: {rec:.2f} CPU s = {1000 * rec / stream_s:.2f} ms per stream-s "
                f"({100 * rec / args.seconds:.1f} % of one core)"
            )
            print(
                f"    decoding:  {dec:.2f} CPU s = {1000 * dec / stream_s:.2f} ms per stream-s "
                f"({100 * dec / args.seconds:.1f} % of one core)"
            )
            ratio = dec / rec if rec > 0 else float("inf")
            print(
                f"    recording costs 1/{ratio:.0f} of decoding; 64 streams: recording "
                f"{64 * rec / stream_s * 100:.1f} % of a core, decoding "
                f"{64 * dec / stream_s * 100:.0f} %"
            )
            segments = finished_segments(folder)
            if segments:
                start = segments[0].start
                times = []
                for n in range(5):
                    out = work / f"clip-{n}.mkv"
                    began = time.perf_counter()
                    facts = assemble_clip(segments, out, start, start + 30.0)
                    times.append(time.perf_counter() - began)
                t = statistics.median(times)
                began = time.perf_counter()
                file_sha256(out)
                hashed = time.perf_counter() - began
                print(
                    f"    a clip of {facts.end - facts.start:.1f} s ({facts.packets} packets, "
                    f"{facts.size_bytes / 1e6:.1f} MB) put together in {1000 * t:.0f} ms "
                    f"(median of 5, SHA-256 included; hashing alone {1000 * hashed:.0f} ms)"
                )


if __name__ == "__main__":
    main()
