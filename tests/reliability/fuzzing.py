"""Fuzzing the two doors hostile files come through, in a child process bounded in time and
memory: the site file's YAML loader (and the whole `load_site` behind it) and the still-image
reader (`inference.images`: headers checked before any pixel is decoded).

    python -m tests.reliability.fuzzing {yaml,image} [--engine hypothesis|atheris]
        [--seconds 20] [--max-mb 1024] [--examples N] [--seed 0]

The contract, for every input:
- yaml: `parse_yaml(text)` returns (data, problems) and raises nothing; `load_site(file)` returns
  a `Site` or raises `SiteFileError`, whose every problem is one bounded line naming the file;
- image: `decode_image(bytes)` returns an image within `ImageLimits` or raises `ImageRefused`;
  `read_header` likewise returns a header or raises `ImageRefused`.
Anything else (another exception, a `MemoryError` under the child's address-space limit of
`--max-mb` MB above what it holds after its imports, a crash) breaks it: the child prints
`FAILED <what>` with the input and exits 1; else it prints `RESULT <json>` (inputs tried, how
each ended, the slowest input's seconds, the peak resident memory) and exits 0. (Under atheris,
libFuzzer ends the process and prints its own statistics and any crash on stderr.)

Engines: `hypothesis` (generated and mutated inputs, in batches of fresh seeds until the time or
the count runs out) or `atheris` (coverage-guided libFuzzer over the same entry points, seeded
with the same real files; optional: `pip install atheris`, see pyproject's `fuzz` extra).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "data" / "example_site"
MB = 1024 * 1024


class Broken(Exception):
    """The contract was broken by one input."""


# ----------------------------------------------------------------------------- targets


class YamlTarget:
    name = "yaml"

    def __init__(self) -> None:
        from console.site_file import SiteFileError, load_site
        from console.site_file.yaml_loading import parse_yaml

        self.load_site, self.parse_yaml, self.error = load_site, parse_yaml, SiteFileError
        self.folder = Path(tempfile.mkdtemp(prefix="nw-fuzz-site-"))
        shutil.copytree(EXAMPLE, self.folder, dirs_exist_ok=True)
        self.path = self.folder / "site.yaml"
        self.outcomes: Counter[str] = Counter()

    def seeds(self) -> list[bytes]:
        return [(EXAMPLE / "site.yaml").read_bytes()]

    def one(self, data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        try:
            parsed, problems = self.parse_yaml(text)
        except Exception as exc:
            raise Broken(f"parse_yaml raised {exc!r}") from exc
        del parsed, problems
        self.path.write_bytes(data)
        try:
            self.load_site(self.path)
            self.outcomes["site"] += 1
        except self.error as exc:
            for line in exc.problems:
                if not line.startswith(f"{self.path}: ") or "\n" in line or len(line) > 1000:
                    raise Broken(f"a problem line out of bounds: {line[:200]!r}") from None
            self.outcomes["site file error"] += 1
        except Exception as exc:
            raise Broken(f"load_site raised {exc!r}") from exc

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class ImageTarget:
    name = "image"

    def __init__(self) -> None:
        from inference.images import DEFAULT_LIMITS, ImageRefused, decode_image, read_header

        self.decode, self.header, self.refused = decode_image, read_header, ImageRefused
        self.limits = DEFAULT_LIMITS
        self.outcomes: Counter[str] = Counter()

    def seeds(self) -> list[bytes]:
        import cv2
        import numpy as np
        from PIL import Image

        from tests.crafted_images import png_declaring, real_jpeg, real_png

        found = [real_png(64, 48), real_jpeg(64, 48), png_declaring(20000, 20000)]
        picture = Image.new("RGB", (40, 30), (120, 40, 200))
        for kind in ("BMP", "GIF", "TIFF", "WEBP", "PPM", "ICO"):
            buffer = io.BytesIO()
            picture.save(buffer, format=kind)
            found.append(buffer.getvalue())
        pixels = cv2.imdecode(np.frombuffer(found[1], np.uint8), cv2.IMREAD_COLOR)
        ok, progressive = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
        if ok:
            found.append(progressive.tobytes())
        return found

    def one(self, data: bytes) -> None:
        try:
            self.header(data)
        except self.refused:
            pass
        except Exception as exc:
            raise Broken(f"read_header raised {exc!r}") from exc
        try:
            image = self.decode(data)
        except self.refused as exc:
            self.outcomes["too large" if exc.too_large else "refused"] += 1
            return
        except Exception as exc:
            raise Broken(f"decode_image raised {exc!r}") from exc
        height, width = image.shape[:2]
        if max(height, width) > self.limits.max_side_px or height * width > self.limits.max_pixels:
            raise Broken(f"decoded {width} x {height} px, past the limits")
        self.outcomes["decoded"] += 1

    def close(self) -> None:
        pass


TARGETS: dict[str, Callable[[], Any]] = {"yaml": YamlTarget, "image": ImageTarget}


# ----------------------------------------------------------------------------- inputs

_YAML_PIECES = [
    "*a", "&a ", "<<: ", "? ", "- ", ": ", "[", "]", "{", "}", ",", "!!binary ", "!!set ",
    "!!python/object:os.system ", "!!float nope", "1e999", ".nan", "~", "0x1F", "0777",
    "10:30", "2026-02-30", "'", '"', "\t", "\x00", "\x85", "\ufeff", "%YAML 1.1\n", "---\n",
    "...\n", "|\n  x\n", ">-\n  y\n", "#", "\n", "  ", "cameras", "floors", "id: x", "9" * 120,
    "[[[[[[[[[[", "{{{{{{{{", "rtsp://u:p@h/x", "usb:9", "../../etc/passwd", "plans/x.png",
    "\xff\xfe", "\U0001f600", "null", "true", "-1", "1e-400",
]  # fmt: skip


def _mutated(seed: bytes, edits: list[tuple[float, int, int, int]], pieces: list[bytes]) -> bytes:
    data = bytearray(seed)
    for where, how, what, span in edits:
        at = int(where * len(data))
        if how == 0:  # insert a piece
            data[at:at] = pieces[what % len(pieces)]
        elif how == 1:  # delete a span
            del data[at : at + span]
        elif how == 2:  # duplicate a span
            data[at:at] = data[at : at + span]
        elif how == 3 and data:  # flip a byte
            data[min(at, len(data) - 1)] ^= 1 + what % 255
        elif how == 4:  # cut it short here
            del data[at:]
        elif how == 5 and len(data) >= at + 4:  # a big number where a size may be
            data[at : at + 4] = (0xFFFFFF00 + what % 256).to_bytes(4, "big")
    return bytes(data)


def strategy(target: Any) -> Any:
    from hypothesis import strategies as st

    seeds = target.seeds()
    pieces = [p.encode("utf-8", "surrogatepass") for p in _YAML_PIECES] + [
        b"\x00", b"\xff\xd9", b"\xff\xda", b"IEND", b"IDAT", b"\xff\xff\xff\xff"
    ]  # fmt: skip
    edit = st.tuples(st.floats(0, 1), st.integers(0, 5), st.integers(0, 10_000), st.integers(1, 64))
    mutated = st.builds(
        _mutated, st.sampled_from(seeds), st.lists(edit, min_size=1, max_size=8), st.just(pieces)
    )
    noise = st.binary(max_size=2048)
    if target.name == "yaml":
        alphabet = [*"{}[],:-&*!|>'\"#%@?~ \n\tab01.", "cameras:", "  - id: "]
        yaml_noise = st.lists(st.sampled_from(alphabet), max_size=200).map(
            lambda parts: "".join(parts).encode()
        )
        return st.one_of(mutated, mutated, yaml_noise, noise)
    return st.one_of(mutated, mutated, mutated, noise)


# ----------------------------------------------------------------------------- engines


class Runner:
    """Calls the target, times each input, turns a broken contract into `Broken`."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.inputs = 0
        self.slowest_s = 0.0
        self.slowest: bytes = b""

    def __call__(self, data: bytes) -> None:
        began = time.perf_counter()
        try:
            self.target.one(data)
        except MemoryError as exc:
            raise Broken("MemoryError: past the child's memory limit") from exc
        finally:
            spent = time.perf_counter() - began
            self.inputs += 1
            if spent > self.slowest_s:
                self.slowest_s, self.slowest = spent, data


def run_hypothesis(runner: Runner, seconds: float, examples: int | None, seed: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as fixed_seed

    inputs = strategy(runner.target)
    end = time.monotonic() + seconds
    batch = 0
    while time.monotonic() < end and (examples is None or runner.inputs < examples):
        size = 50 if examples is None else max(1, min(50, examples - runner.inputs))

        @fixed_seed(seed * 1_000_003 + batch)
        @settings(
            max_examples=size,
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
        )
        @given(inputs)
        def check(data: bytes) -> None:
            runner(data)

        check()
        batch += 1


def run_atheris(runner: Runner, seconds: float, examples: int | None, max_mb: int) -> None:
    """libFuzzer ends the process itself: its final statistics (runs, peak RSS) and any crash,
    with the input saved next to the corpus, are on stderr for the caller to read."""
    import atheris

    corpus = Path(tempfile.mkdtemp(prefix="nw-fuzz-corpus-"))
    for n, data in enumerate(runner.target.seeds()):
        (corpus / f"seed-{n}").write_bytes(data)
    argv = [
        sys.argv[0],
        str(corpus),
        f"-artifact_prefix={corpus}/",
        f"-max_total_time={max(1, int(seconds))}",
        f"-rss_limit_mb={max_mb}",
        "-max_len=65536",
        "-timeout=30",
        "-print_final_stats=1",
    ]
    if examples is not None:
        argv.append(f"-runs={examples}")

    def one(data: bytes) -> None:
        runner(data)

    print(f"ATHERIS corpus and crashes in {corpus}", flush=True)
    atheris.Setup(argv, one)
    atheris.Fuzz()  # never returns


def _limit_memory(max_mb: int) -> int:
    """Cap the address space at what the process holds now plus `max_mb` MB; returns the cap."""
    held = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            held = int(line.split()[1]) * 1024
    cap = held + max_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return cap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--examples", type=int, default=None)
    parser.add_argument("--max-mb", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args, _ = parser.parse_known_args(argv)

    if args.engine == "atheris":
        import atheris

        # coverage from the code under test: the site file, YAML, the image reader, Pillow
        with atheris.instrument_imports(include=["console", "yaml", "inference", "PIL"]):
            target = TARGETS[args.target]()
            target.seeds()
    else:
        target = TARGETS[args.target]()
        target.seeds()  # imports what the inputs need, before the limit
    runner = Runner(target)
    cap = _limit_memory(args.max_mb)
    began = time.monotonic()

    def result() -> None:
        print(
            "RESULT "
            + json.dumps(
                {
                    "target": target.name,
                    "engine": args.engine,
                    "inputs": runner.inputs,
                    "seconds": round(time.monotonic() - began, 1),
                    "outcomes": dict(target.outcomes),
                    "slowest_s": round(runner.slowest_s, 4),
                    "slowest_bytes": len(runner.slowest),
                    "peak_rss_mb": peak_rss_mb(),
                    "address_space_cap_mb": cap // MB,
                }
            ),
            flush=True,
        )

    try:
        if args.engine == "atheris":
            run_atheris(runner, args.seconds, args.examples, args.max_mb + cap // MB)
        else:
            run_hypothesis(runner, args.seconds, args.examples, args.seed)
    except Broken as exc:
        print(f"FAILED {target.name}: {exc}", flush=True)
        traceback.print_exc()
        return 1
    except Exception as exc:  # hypothesis re-raises the falsifying example's error
        cause = exc
        while cause.__cause__ is not None and not isinstance(cause, Broken):
            cause = cause.__cause__
        print(f"FAILED {target.name}: {cause!r}", flush=True)
        traceback.print_exc()
        return 1
    finally:
        target.close()
    result()
    return 0


def peak_rss_mb() -> int:
    """This process's peak resident memory since it started, in MB: VmHWM of its own address
    space. (`ru_maxrss` survives `exec` on Linux: a child forked from a large pytest process
    would report its parent's size.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    sys.exit(main())
