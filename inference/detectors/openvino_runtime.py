"""OpenVINO on the CPU for the detectors: imported quietly, compiled for one worker, models cached.

Three things every OpenVINO detector here shares:

- `import_openvino()`: importing `openvino` sends a usage event to Intel's telemetry service and
  writes a client id under `~/intel` unless the user opted out (openvino-telemetry's default is
  opt-out). A control-room console must not phone home, so the telemetry package is blocked
  before the first import; OpenVINO then uses its own no-op stub.
- `cpu_config(threads)`: `threads` inference threads, the THROUGHPUT hint (or LATENCY), full
  32-bit float precision, and no CPU pinning. OpenVINO computes in bfloat16 by default on a CPU
  with bfloat16 instructions (an AMD EPYC with avx512_bf16, measured): there, scores moved by up
  to 0.034 from OpenCV DNN's, and a person scored 0.353 by OpenCV DNN fell below the 0.35
  threshold, so the same model found different people on different machines. In f32 the scores
  on the photo truth set equal OpenCV DNN's to 1e-6 on that machine (bfloat16 was 1.5x faster
  there). No CPU pinning: the pool runs several worker processes on one machine; with pinning on
  (OpenVINO's default on Linux) each process pins its threads to the same first cores, and two
  1-thread workers on a 2-core machine shared one core (measured: 34 frames/s with pinning,
  59-75 without).
- `cached_ir(key, build)`: a converted model kept as OpenVINO IR (`model.xml`, `model.bin`) in
  a folder of the user's cache named by `key` (which holds the source file's SHA-256). The folder
  is built in a temporary folder beside it and renamed into place, so a crash mid-write never
  leaves a half-written cache; it carries the SHA-256 of each of its files, so a truncated or
  altered cache is found on the next load and rebuilt. The compiled network is cached the same
  way and imported at start (`WorkerModel`), so the IR is read only when it must be compiled.

`WorkerModel` runs one image per infer request, as many in flight as the compiled model has
streams (a lone image on a latency compilation), each wait bounded (a stuck request raises
instead of hanging the worker forever).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.detectors.base import DetectorUnavailable

log = logging.getLogger(__name__)

PIN = "openvino==2026.4.1"
IR_XML = "model.xml"
IR_BIN = "model.bin"
CHECKSUMS = "checksums.json"
COMPILED_BLOB = "compiled.blob"
INFERENCE_PRECISION = "f32"  # not the CPU's bfloat16 where it has one: see the module docstring
INFER_TIMEOUT_S = 30.0
_STALE_BUILD_S = 3600.0  # a temporary build folder this old was left by a crashed build


class InferenceStuck(RuntimeError):
    """An infer request did not finish within its bound; the detector cannot be trusted now."""


def import_openvino() -> Any:
    """The `openvino` module, its telemetry blocked; `DetectorUnavailable` when it cannot load."""
    if "openvino" not in sys.modules and "openvino_telemetry" not in sys.modules:
        # `import openvino` would send a usage event and write ~/intel/openvino_ga_cid
        # None in sys.modules makes the import fail (the documented way to block a module)
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]
    elif sys.modules.get("openvino_telemetry") is not None:
        log.warning("openvino_telemetry was imported before Nightwatch could block it")
    try:
        import openvino
    except (ImportError, OSError) as exc:
        raise DetectorUnavailable(
            f"OpenVINO is not importable here ({exc}); install it with `pip install {PIN}`"
        ) from exc
    return openvino


def openvino_version(ov: Any) -> str:
    """'2026.4.1' from OpenVINO's long build string."""
    return str(ov.get_version()).split("-")[0]


def cpu_config(threads: int, hint: str = "THROUGHPUT") -> dict[str, Any]:
    """Compile options for one worker that may use `threads` cores (see the module docstring)."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if hint not in ("THROUGHPUT", "LATENCY"):
        raise ValueError(f"unknown performance hint {hint!r}")
    return {
        "PERFORMANCE_HINT": hint,
        "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": INFERENCE_PRECISION,
        "ENABLE_CPU_PINNING": False,
    }


class WorkerModel:
    """A model compiled for one worker's `threads` cores, run one image per infer request.

    Several images (the pool hands a worker up to 8 frames across cameras) go to the model
    compiled with the THROUGHPUT hint: one stream per thread, `OPTIMAL_NUMBER_OF_INFER_REQUESTS`
    requests in flight, so two images run side by side on two cores. A single image goes to a
    second compilation with the LATENCY hint, which spreads that one image over all the threads
    (a stream has one thread: YOLO11n took 252 ms per lone image on a 2-stream compile, 116 ms
    on the latency one; SSDLite gains less). Measured per frame on batches of 8, 2 threads:
    per-image requests beat one batched request (SSDLite 14.6 against 17.8 ms; 25.2 against 35.5
    with one thread) and beat the latency compile (YOLO11n 196 against 229 ms).

    `model` is a function that reads the OpenVINO model; with a `cache_key` it is only called
    when the compiled network is not cached yet. `outputs`: output names or indexes, in the order
    `run` returns them. Every wait is bounded by `timeout_s` (`InferenceStuck`).
    """

    def __init__(
        self,
        core: Any,
        model: Callable[[], Any],
        threads: int,
        outputs: Sequence[str | int] | None = None,
        timeout_s: float = INFER_TIMEOUT_S,
        *,
        cache_key: str | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        compile_for = _compiler(core, model, cache_key, cache_dir)
        throughput = compile_for(cpu_config(threads, "THROUGHPUT"))
        count = max(1, int(throughput.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self._requests = [(r, _ports(throughput, outputs)) for r in _requests(throughput, count)]
        self._single = self._requests[0]
        if threads > 1:
            latency = compile_for(cpu_config(threads, "LATENCY"))
            self._single = (latency.create_infer_request(), _ports(latency, outputs))
        self._timeout_ms = max(1, round(timeout_s * 1000))
        self.streams = int(throughput.get_property("NUM_STREAMS"))
        self.input_shape = throughput.inputs[0].get_partial_shape()

    def run(self, inputs: Sequence[np.ndarray]) -> list[list[np.ndarray]]:
        """Each input's outputs (copies, in the order of `outputs`), in input order."""
        if len(inputs) == 1:
            request, ports = self._single
            request.start_async({0: inputs[0]})
            return [self._collect(request, ports)]
        results: list[list[np.ndarray]] = [[] for _ in inputs]
        free = list(self._requests)
        in_flight: deque[tuple[int, tuple[Any, list[Any]]]] = deque()
        for index, array in enumerate(inputs):
            if not free:
                done, (request, ports) = in_flight.popleft()
                results[done] = self._collect(request, ports)
                free.append((request, ports))
            request, ports = free.pop()
            request.start_async({0: array})
            in_flight.append((index, (request, ports)))
        while in_flight:
            done, (request, ports) = in_flight.popleft()
            results[done] = self._collect(request, ports)
        return results

    def _collect(self, request: Any, ports: list[Any]) -> list[np.ndarray]:
        if not request.wait_for(self._timeout_ms):
            raise InferenceStuck(
                f"an OpenVINO infer request did not finish within {self._timeout_ms / 1000:.0f} s"
            )
        return [request.get_tensor(port).data.copy() for port in ports]


def _compiler(
    core: Any, model: Callable[[], Any], cache_key: str | None, cache_dir: Path | None
) -> Callable[[dict[str, Any]], Any]:
    """config -> the model compiled for the CPU with it. With a `cache_key` (which names the
    model as it is compiled, input shapes included), the compiled network is kept in the cache
    (`compiled.blob`, verified like the IR) and imported with the config, without reading the
    model: compiling SSDLite took 3.6-7 s on the busy 2-core machine, importing 0.7-1.2 s.
    OpenVINO's own CACHE_DIR is not used: it loaded a blob with flipped bytes without a word."""
    if cache_key is None:
        read = model()
        return lambda config: core.compile_model(read, "CPU", config)
    signature = "|".join(
        [
            str(core.get_versions("CPU")["CPU"].build_number),
            str(core.get_property("CPU", "FULL_DEVICE_NAME")),
            str(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
            INFERENCE_PRECISION,  # a blob compiled before the precision was set was bfloat16
        ]
    )
    key = f"{cache_key}-compiled-{hashlib.sha256(signature.encode()).hexdigest()[:16]}"

    def build(folder: Path) -> None:
        compiled = core.compile_model(model(), "CPU", cpu_config(1))
        (folder / COMPILED_BLOB).write_bytes(compiled.export_model().getvalue())

    def imported(folder: Path, config: dict[str, Any]) -> Any:
        blob = io.BytesIO((folder / COMPILED_BLOB).read_bytes())
        return core.import_model(blob, "CPU", config)

    def compile_for(config: dict[str, Any]) -> Any:
        folder = cached_ir(key, build, cache_dir, required=(COMPILED_BLOB,))
        try:
            return imported(folder, config)
        except RuntimeError as exc:
            log.warning("OpenVINO cannot import %s (%s); recompiling it", folder, exc)
        folder = cached_ir(key, build, cache_dir, rebuild=True, required=(COMPILED_BLOB,))
        return imported(folder, config)

    return compile_for


def _requests(compiled: Any, count: int) -> list[Any]:
    return [compiled.create_infer_request() for _ in range(count)]


def _ports(compiled: Any, outputs: Sequence[str | int] | None) -> list[Any]:
    if outputs is None:
        return list(compiled.outputs)
    return [compiled.output(name) for name in outputs]


# -- the IR cache ----------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where converted models are kept: `models/` in Nightwatch's user cache directory, beside
    the SSDLite text graph."""
    from inference.detectors.ssd_text_graph import default_cache_dir as cache_root

    return cache_root() / "models"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(folder: Path, required: Sequence[str] = (IR_XML, IR_BIN)) -> bool:
    """The folder holds the `required` files, and all its files match the SHA-256 recorded at
    build time."""
    try:
        recorded = json.loads((folder / CHECKSUMS).read_text("utf-8"))["files"]
        if not isinstance(recorded, dict) or not set(required) <= recorded.keys():
            return False
        return all(file_sha256(folder / name) == sha for name, sha in recorded.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def cached_ir(
    key: str,
    build: Callable[[Path], None],
    cache_dir: Path | None = None,
    *,
    rebuild: bool = False,
    required: Sequence[str] = (IR_XML, IR_BIN),
) -> Path:
    """The folder `cache_dir/key` holding a verified IR, built by `build(folder)` when missing,
    corrupt or `rebuild`. `build` writes at least the `required` files (`model.xml` and
    `model.bin`) into the empty folder it is given; anything it raises is passed on and
    nothing is cached."""
    root = cache_dir if cache_dir is not None else default_cache_dir()
    folder = root / key
    if not rebuild and verified(folder, required):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    with _build_lock(root, key):
        # the pool starts its workers together: one builds, the others wait here and reuse it
        if not rebuild and verified(folder, required):
            return folder
        if folder.exists():
            log.warning("OpenVINO model cache %s is incomplete or corrupt; rebuilding it", folder)
        _remove_stale_builds(root)
        building = Path(tempfile.mkdtemp(prefix=f".{key}-", suffix=".part", dir=root))
        try:
            started = time.perf_counter()
            build(building)
            names = sorted(p.name for p in building.iterdir() if p.is_file())
            missing = set(required) - set(names)
            if missing:
                raise RuntimeError(f"building {key} wrote no {', '.join(sorted(missing))}")
            checksums = {name: file_sha256(building / name) for name in names}
            (building / CHECKSUMS).write_text(
                json.dumps({"key": key, "files": checksums}, indent=2) + "\n", "utf-8"
            )
            _move_into_place(building, folder, replace=rebuild, required=required)
            log.info("cached OpenVINO model %s (%.1f s)", folder, time.perf_counter() - started)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return folder


@contextlib.contextmanager
def _build_lock(root: Path, key: str) -> Iterator[None]:
    """Holds an exclusive lock on `root/.key.lock` (released by the kernel if the holder dies);
    where file locks do not exist, builds may run side by side and the first rename wins."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    with (root / f".{key}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _move_into_place(
    building: Path, folder: Path, *, replace: bool, required: Sequence[str]
) -> None:
    """Rename the finished build to `folder`; an existing folder is set aside first (atomic
    renames only: a reader sees either the old folder, no folder, or the new one)."""
    try:
        building.rename(folder)
        return
    except OSError:
        if not replace and verified(folder, required):  # another one finished it first
            return
    aside = folder.with_name(f".{folder.name}-{uuid.uuid4().hex[:8]}.old")
    with contextlib.suppress(FileNotFoundError):
        folder.rename(aside)
    try:
        building.rename(folder)
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _remove_stale_builds(root: Path) -> None:
    now = time.time()
    for path in root.glob(".*.part"):
        with contextlib.suppress(OSError):
            if path.is_dir() and now - path.stat().st_mtime > _STALE_BUILD_S:
                shutil.rmtree(path, ignore_errors=True)
                log.info("removed %s, left by an interrupted model build", path)


def read_cached_model(
    core: Any,
    key: str,
    build: Callable[[Path], None],
    cache_dir: Path | None = None,
) -> tuple[Any, Path]:
    """(the OpenVINO model read from the cached IR, its folder); a cache that verifies but that
    OpenVINO cannot read (e.g. written by a newer OpenVINO) is rebuilt once."""
    folder = cached_ir(key, build, cache_dir)
    try:
        return core.read_model(str(folder / IR_XML)), folder
    except RuntimeError as exc:
        log.warning("OpenVINO cannot read its cached model %s (%s); rebuilding it", folder, exc)
    folder = cached_ir(key, build, cache_dir, rebuild=True)
    return core.read_model(str(folder / IR_XML)), folder
