"""Alarm clips put together in a helper process, not in the console's.

    evidence worker (console thread) ──► ClipProcess.assemble(...) ──pipe──► clip process
                                          waits, holding no lock          assemble_clip(...)
                                      ◄── ClipFacts, or the ClipError ◄──  at background priority

Copying a clip's packets is a Python loop over every packet (`inference.clip_assembly`). Run on
a thread of the console, it held the interpreter lock for about 15% of a core in the 1,000-alarm
flood of the reliability battery, and the window waited for the lock behind it. In its own
process it shares no lock with the window or the core, and it runs at the helpers' lower CPU
priority (`inference/priority.py`): the screen and the core come first, clips when there is
time, which is what they can afford (they are kept for later, not watched live).

The process is started with the console (`start`) and kept. A process that dies (killed, out
of memory) fails the clip it was making, with the reason (the clip's row says so), and the next
clip starts a new one. A clip that takes longer than `timeout_s` is given up the same way. The
process ends when the console closes it, when its pipe closes, or when the console is gone
(orphaned: it checks its parent every second), so a killed console leaves none behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from inference.clip_assembly import ClipError, ClipFacts, assemble_clip
from inference.priority import BACKGROUND_NICE, checked_nice, run_as_background
from inference.processes import reap
from inference.recording import Segment
from inference.worker_pool import SPAWN

log = logging.getLogger(__name__)

__all__ = ["CLIP_TIMEOUT_S", "ClipProcess", "ClipProcessError"]

CLIP_TIMEOUT_S = 300.0  # one clip (max_clip_s of packets copied) is given up after this long
ORPHAN_CHECK_S = 1.0


class ClipProcessError(ClipError):
    """The clip process, not the recording, failed the clip: it died, hung or was closed."""


def clip_process_main(pipe: Connection, nice: int) -> None:
    """Entry point of the clip process: one request at a time, until told to stop (None), its
    pipe closes, or its parent is gone."""
    run_as_background(nice, "clip process")  # first thing
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the console decides when to stop
    parent = os.getppid()
    while True:
        try:
            if not pipe.poll(ORPHAN_CHECK_S):
                if os.getppid() != parent:
                    return
                continue
            request = pipe.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        segments, out, start, end, title = request
        try:
            answer: tuple[object, ...] = (
                "ok",
                assemble_clip(segments, Path(out), start, end, title=title),
            )
        except ClipError as exc:
            answer = ("clip", str(exc))
        except OSError as exc:
            answer = ("os", exc.errno, exc.strerror or str(exc), exc.filename)
        except Exception as exc:  # a bug or a file PyAV chokes on: said, the process goes on
            answer = ("clip", f"the clip process failed: {type(exc).__name__}: {exc}")
        try:
            pipe.send(answer)
        except (OSError, ValueError):
            return


class ClipProcess:
    """`assemble()` has the signature of `assemble_clip` and runs it in the helper process.

    One caller at a time (the evidence worker); `close()` may come from another thread."""

    def __init__(self, *, nice: int = BACKGROUND_NICE, timeout_s: float = CLIP_TIMEOUT_S) -> None:
        self.nice = checked_nice(nice)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()  # the process and pipe, against close() from elsewhere
        self._process: BaseProcess | None = None
        self._pipe: Connection | None = None
        self._closed = False
        self.started = 0  # processes started (a test sees a restart)

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the process now (with the console, so that it is there from the start, like
        the other helpers) rather than at the first clip; a refusal to start is logged, and
        the first clip tries again (and fails with the reason when it cannot)."""
        try:
            self._running_pipe()
        except (OSError, ClipProcessError) as exc:
            log.error("the clip process could not be started: %s", exc)

    def assemble(
        self, segments: list[Segment], out: Path, start: float, end: float, *, title: str = ""
    ) -> ClipFacts:
        """Put the clip together in the helper process; raises `ClipError` or `OSError` as
        `assemble_clip` does, and `ClipProcessError` (a `ClipError`) when the process failed
        it (died, hung, closed)."""
        pipe = self._running_pipe()
        try:
            pipe.send((segments, str(out), start, end, title))
            if not pipe.poll(self.timeout_s):
                self._end(f"it took longer than {self.timeout_s:.0f} s")
                raise ClipProcessError(f"the clip process took longer than {self.timeout_s:.0f} s")
            answer = pipe.recv()
        except (EOFError, OSError) as exc:
            why = self._end(f"its pipe broke ({type(exc).__name__})")
            raise ClipProcessError(
                f"the clip process ended while making this clip ({why})"
            ) from None
        kind = answer[0]
        if kind == "ok":
            facts: ClipFacts = answer[1]
            return facts
        if kind == "os":
            raise OSError(answer[1], answer[2], answer[3])
        raise ClipError(answer[1])

    def close(self, timeout_s: float = 5.0) -> None:
        """Ask the process to stop and reap it (killed after `timeout_s`); a clip it was making
        fails with the reason. Later `assemble()` calls fail."""
        with self._lock:
            self._closed = True
            process, pipe = self._process, self._pipe
            self._process = self._pipe = None
        if process is None:
            return
        if pipe is not None:
            with contextlib.suppress(OSError, ValueError):
                pipe.send(None)
        reap(process, pipe, timeout_s=timeout_s, name="clip process")

    def _running_pipe(self) -> Connection:
        with self._lock:
            if self._closed:
                raise ClipProcessError("the console stopped before it got to this clip")
            if self._process is not None and self._process.is_alive() and self._pipe is not None:
                return self._pipe
            stale = (self._process, self._pipe)
            ours, theirs = SPAWN.Pipe(duplex=True)
            process = SPAWN.Process(
                target=clip_process_main,
                args=(theirs, self.nice),
                name="nightwatch-clips",
                daemon=True,
            )
            try:
                process.start()
            except BaseException:  # no process (too many, no memory): no pipe left open either
                ours.close()
                theirs.close()
                raise
            theirs.close()
            self._process, self._pipe = process, ours
            self.started += 1
        if stale[0] is not None:  # a process that died: reaped, said
            ended = reap(stale[0], stale[1], timeout_s=0.0, name="clip process")
            log.warning("the clip process had ended (exit code %s); started again", ended.exitcode)
        return ours

    def _end(self, why: str) -> str:
        """Kill the process after a broken or hung request; how it ended, in words."""
        with self._lock:
            process, pipe = self._process, self._pipe
            self._process = self._pipe = None
        if process is None:
            return why
        ended = reap(process, pipe, timeout_s=0.0, name="clip process")
        log.error("the clip process was given up: %s (exit code %s)", why, ended.exitcode)
        if ended.exitcode is not None and ended.exitcode < 0:
            return f"{why}; it was ended by signal {-ended.exitcode}"
        return why
