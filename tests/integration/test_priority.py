"""The helper processes (capture, detector workers, recorders) run lower in CPU priority than the
console, every thread of them, and by exactly what was asked (inference/priority.py).

Real processes: a file camera through the real pipeline (capture process, SSDLite worker) and a
real recorder process; each thread's nice value is read from /proc."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from console.commands.run import add_priority_argument, runtime_options
from inference.pipeline import CameraSpec, PipelineConfig, TrackedFrame, VisionPipeline
from inference.priority import (
    BACKGROUND_NICE,
    MAX_NICE,
    checked_nice,
    console_background_nice,
    run_as_background,
)
from inference.recording import RecorderState, RecordingSettings, RecordingSpec, StreamRecorders
from inference.worker_pool import DetectorSpec
from tests.media import media


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def thread_nices(pid: int) -> dict[int, int]:
    """Each thread of a process and its nice value (/proc/PID/task/TID/stat, field 19)."""
    nices: dict[int, int] = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            raw = Path(f"/proc/{pid}/task/{task}/stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        nices[int(task)] = int(raw.rsplit(")", 1)[1].split()[16])
    return nices


def helpers() -> dict[str, int]:
    """Our helper processes by name (nightwatch-capture-0, nightwatch-detector-0, ...)."""
    return {p.name: p.pid for p in multiprocessing.active_children() if p.pid is not None}


def ours() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def expected(nice: int) -> int:
    return min(MAX_NICE, ours() + nice)


@pytest.mark.parametrize("nice", [5, 0])
def test_capture_and_detector_processes_run_lower_by_what_was_asked(nice: int) -> None:
    frames: list[TrackedFrame] = []
    config = PipelineConfig(detector=DetectorSpec("ssdlite"), cpu_workers=1, background_nice=nice)
    with VisionPipeline(
        [CameraSpec("cam-a", str(media("vtest.avi")))], config, on_tracks=frames.append
    ):
        # a frame judged: the capture process reads (its reader thread runs) and the worker
        # detects (its model's threads run)
        assert wait_for(lambda: len(frames) >= 3, 120)
        running = helpers()
        capture = running["nightwatch-capture-0"]
        worker = running["nightwatch-detector-0"]
        for pid in (capture, worker):
            nices = thread_nices(pid)
            assert len(nices) >= 2, nices  # more than the main thread: the started ones too
            assert set(nices.values()) == {expected(nice)}, (pid, nices)
        assert set(thread_nices(os.getpid()).values()) == {ours()}  # the console is untouched
    assert multiprocessing.active_children() == []


def test_recorder_processes_run_lower_by_what_was_asked(tmp_path: Path) -> None:
    recorders = StreamRecorders(
        [RecordingSpec("cam-a", str(media("vtest.avi")))],
        tmp_path / "rec",
        RecordingSettings(segment_s=1.0, keep_s=20.0, background_nice=7),
    )
    recorders.start()
    try:
        assert wait_for(lambda: recorders.status("cam-a")[0] == RecorderState.RECORDING, 60)
        (pid,) = recorders.pids()
        nices = thread_nices(pid)
        assert len(nices) >= 2, nices  # the recorder thread started inside it too
        assert set(nices.values()) == {expected(7)}, nices
    finally:
        recorders.stop()


def test_a_helper_lowers_its_own_priority_and_threads_it_starts_inherit_it() -> None:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_lowered_child, args=(3, child))
    process.start()
    try:
        assert parent.poll(60)
        main_nice, thread_nice = parent.recv()
    finally:
        process.join(30)
    assert (main_nice, thread_nice) == (expected(3), expected(3))


def _lowered_child(nice: int, pipe: Connection) -> None:
    import threading

    run_as_background(nice, "test helper")
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))
    thread.start()
    thread.join()
    pipe.send((os.getpriority(os.PRIO_PROCESS, 0), seen[0]))


@pytest.mark.parametrize("bad", [-1, 20, 2.5, True, "5"])
def test_a_nice_value_outside_what_the_kernel_takes_is_refused_with_its_value(bad: object) -> None:
    with pytest.raises(
        ValueError, match=f"background_nice must be a whole number from 0 to 19, got {bad!r}"
    ):
        checked_nice(bad)  # type: ignore[arg-type] # wrong on purpose
    with pytest.raises(ValueError, match="background_nice"):
        PipelineConfig(background_nice=bad)  # type: ignore[arg-type] # wrong on purpose
    with pytest.raises(ValueError, match="background_nice"):
        RecordingSettings(background_nice=bad)  # type: ignore[arg-type] # wrong on purpose


def test_the_command_line_sets_the_priority_and_refuses_a_bad_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser(prog="nightwatch run")
    parser.add_argument("--detector")
    parser.add_argument("--weights")
    parser.add_argument("--device")
    parser.add_argument("--workers", type=int)
    add_priority_argument(parser)
    assert runtime_options(parser.parse_args([])).background_nice == BACKGROUND_NICE
    assert runtime_options(parser.parse_args(["--background-nice", "0"])).background_nice == 0
    with pytest.raises(SystemExit):
        parser.parse_args(["--background-nice", "25"])
    assert (
        "--background-nice must be a whole number from 0 to 19, got 25" in capsys.readouterr().err
    )


@pytest.mark.parametrize("nice", [BACKGROUND_NICE, 0])
def test_the_consoles_background_threads_run_below_the_window_and_the_core(
    nice: int, tmp_path: Path
) -> None:
    """A real runtime on the courtyard site: the store's writer and the evidence worker run
    `console_background_nice` below the process (half the helpers' step); the core, the
    dispatch thread and this (the window's) thread keep the process's priority."""
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site
    from console.store import Store
    from tests.sites import courtyard_site

    site = load_site(courtyard_site(tmp_path))
    store = Store(f"sqlite:///{tmp_path / 'console' / 'alarms.db'}")
    runtime = SiteRuntime(
        site,
        store,
        RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1, background_nice=nice),
    )
    runtime.start()
    try:
        nices = thread_nices(os.getpid())
        writer, evidence = store.writer_thread, runtime.evidence
        assert writer is not None
        assert evidence is not None
        assert evidence.thread is not None
        lowered = min(MAX_NICE, ours() + console_background_nice(nice))
        assert console_background_nice(nice) == nice // 2
        assert nices[writer.native_id] == lowered
        assert nices[evidence.thread.native_id] == lowered
        for name in ("nightwatch-core", "nightwatch-dispatch"):
            (thread,) = [t for t in threading.enumerate() if t.name == name]
            assert nices[thread.native_id] == ours(), name
        assert nices[threading.get_native_id()] == ours()
    finally:
        runtime.stop()
        store.close()
