"""The clip process (inference/clip_process.py): a real helper process putting real clips
together from real footage, killed, hung and orphaned."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inference.clip_assembly import ClipError, ClipFacts, assemble_clip, file_sha256
from inference.clip_process import ClipProcess, ClipProcessError
from inference.recording import Segment
from tests.media import media

T0 = 1_700_000_000.0  # the wall time the footage is said to begin at


@pytest.fixture
def footage() -> list[Segment]:
    """vtest.avi as one recorded segment (its first frame is a keyframe)."""
    return [Segment(media("vtest.avi"), T0, T0 + 79.0, T0)]


@pytest.fixture
def clips() -> Iterator[ClipProcess]:
    process = ClipProcess()
    yield process
    process.close()


@pytest.fixture
def never_ending(tmp_path: Path) -> list[Segment]:
    """A segment nobody ever writes to (a FIFO): opening it waits for ever."""
    fifo = tmp_path / "never.mkv"
    os.mkfifo(fifo)
    return [Segment(fifo, T0, T0 + 10.0, T0)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has not gone yet, but it is not running either
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def without_file_identity(facts: ClipFacts) -> ClipFacts:
    """Matroska gives each file a random segment id, so two runs differ in hash and may in size."""
    return dataclasses.replace(facts, sha256="", size_bytes=0)


def test_a_clip_made_in_the_clip_process_is_the_clip_the_console_would_make(
    footage: list[Segment], clips: ClipProcess, tmp_path: Path
) -> None:
    here = assemble_clip(footage, tmp_path / "here.mkv", T0 + 1, T0 + 6, title="alarm 1")
    there = clips.assemble(footage, tmp_path / "there.mkv", T0 + 1, T0 + 6, title="alarm 1")
    assert without_file_identity(there) == without_file_identity(here)
    assert there.packets > 0
    assert file_sha256(tmp_path / "there.mkv") == there.sha256
    pid = clips.pid
    assert pid is not None
    assert pid != os.getpid()
    # it runs lower in CPU priority than the console (inference/priority.py)
    assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)


def test_the_recordings_own_faults_come_back_as_the_same_errors(
    clips: ClipProcess, tmp_path: Path
) -> None:
    with pytest.raises(ClipError, match="nothing was recorded") as nothing:
        clips.assemble([], tmp_path / "none.mkv", T0, T0 + 5)
    assert not isinstance(nothing.value, ClipProcessError)  # the recording's fault
    not_a_video = tmp_path / "notes.txt"
    not_a_video.write_text("not a video")
    with pytest.raises(ClipError, match="cannot be read"):
        clips.assemble([Segment(not_a_video, T0, T0 + 5, T0)], tmp_path / "x.mkv", T0, T0 + 5)
    assert clips.started == 1  # the process lived through both


def test_a_killed_clip_process_fails_its_clip_with_the_reason_and_the_next_clip_is_made(
    footage: list[Segment], never_ending: list[Segment], clips: ClipProcess, tmp_path: Path
) -> None:
    errors: list[BaseException] = []

    def stuck() -> None:
        try:
            clips.assemble(never_ending, tmp_path / "stuck.mkv", T0, T0 + 5)
        except BaseException as exc:
            errors.append(exc)

    caller = threading.Thread(target=stuck)
    caller.start()
    wait_until(lambda: clips.pid is not None, 30, "the clip process started")
    pid = clips.pid
    assert pid is not None
    time.sleep(0.5)  # it is inside the request, waiting on the FIFO
    os.kill(pid, signal.SIGKILL)
    caller.join(30)
    assert not caller.is_alive()
    (error,) = errors
    assert isinstance(error, ClipProcessError)
    assert "ended while making this clip" in str(error)
    assert "signal 9" in str(error)
    facts = clips.assemble(footage, tmp_path / "next.mkv", T0 + 1, T0 + 3)
    assert facts.packets > 0
    assert clips.started == 2
    assert clips.pid != pid


def test_a_clip_that_hangs_is_given_up_after_its_time_and_its_process_ended(
    never_ending: list[Segment], tmp_path: Path
) -> None:
    clips = ClipProcess(timeout_s=1.0)
    try:
        with pytest.raises(ClipProcessError, match="took longer than 1 s"):
            clips.assemble(never_ending, tmp_path / "stuck.mkv", T0, T0 + 5)
        assert clips.pid is None  # given up: killed and reaped, a new one for the next clip
    finally:
        clips.close()


def test_close_ends_the_process_and_later_clips_fail_with_the_reason(
    footage: list[Segment], clips: ClipProcess, tmp_path: Path
) -> None:
    clips.assemble(footage, tmp_path / "one.mkv", T0 + 1, T0 + 2)
    pid = clips.pid
    assert pid is not None
    clips.close()
    assert not alive(pid)
    with pytest.raises(ClipProcessError, match="the console stopped"):
        clips.assemble(footage, tmp_path / "two.mkv", T0 + 1, T0 + 2)


def test_a_clip_process_whose_console_was_killed_ends_by_itself(tmp_path: Path) -> None:
    """SIGKILL of the console leaves no clip process behind (it checks for its parent)."""
    script = tmp_path / "console.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, time
            from pathlib import Path
            from inference.clip_process import ClipProcess
            from inference.clip_assembly import ClipError

            if __name__ == "__main__":
                clips = ClipProcess()
                try:
                    clips.assemble([], Path(sys.argv[1]), 0.0, 1.0)
                except ClipError:
                    pass
                print(clips.pid, flush=True)
                time.sleep(600)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    console = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "x.mkv")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert console.stdout is not None
        pid = int(console.stdout.readline())
        assert alive(pid)
        console.kill()
        console.wait(30)
        wait_until(lambda: not alive(pid), 15, "the orphaned clip process ended")
    finally:
        console.kill()
        console.wait(30)


def test_started_with_the_console_the_process_is_there_before_any_clip(
    footage: list[Segment], clips: ClipProcess, tmp_path: Path
) -> None:
    """Like the other helpers, it is there from the start (a process count that grows at the
    first alarm would look like a leak), and the first clip uses it."""
    clips.start()
    pid = clips.pid
    assert pid is not None
    assert alive(pid)
    clips.assemble(footage, tmp_path / "one.mkv", T0 + 1, T0 + 2)
    assert clips.pid == pid
    assert clips.started == 1
