"""The console's helper processes yield the CPU to the console itself.

Capture, detector, recorder and clip processes run at a lower CPU priority (a higher `nice`
value) than the console process that holds the window and the core. On a machine whose cores are all
busy (the normal state of a 2-core console with dozens of cameras), the kernel then gives the
console's threads the CPU as soon as they want it: the screen keeps answering and the core keeps
judging, and the helpers take what is left. When the console has nothing to do, the helpers
get every core, so a quiet night loses no detection.

They run as low as Linux allows (nice 19 above the console's own) by default. The kernel shares
a busy core by weight, and each runnable thread counts: a nice-10 thread weighs about a ninth of
a nice-0 one, so the 144 capture threads of 64 cameras, about ten of them runnable at a time,
outweighed the window's one thread, and in the reliability flood it waited in the run queue
longer than it ran (34% of the time waiting, 26% running). At nice 19 a thread weighs 1/68 of
the window's; the window then waited 18%, and its latency p99 in the flood fell from 216-277 ms
to 67-92 ms (3 alternating runs each, docs/reliability.md).

Measured with `bench/alarm_burst.py` (docs/ARCHITECTURE.md, "The window and the interpreter
lock"). Linux gives each thread its own nice value and new threads inherit their creator's, so
each helper lowers its own priority first thing, for each thread it already has. Inside the
console process, the threads nobody waits for on screen (the store's writer, the evidence
worker, the alert deliveries) are lowered by half the helpers' step (`lower_threads`,
`console_background_nice`): after the window and the core, before the helpers.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable

log = logging.getLogger(__name__)

BACKGROUND_NICE = 19
"""How much lower than the console the helper processes run (0: the same priority; 19, the
default: as low as the kernel goes)."""


def console_background_nice(background_nice: int) -> int:
    """How much lower than the window and the core the console's own background threads run
    (the store's writer, the evidence worker, the alert deliveries): half the helpers' step,
    so they come after the window and before the helpers."""
    return checked_nice(background_nice) // 2


MAX_NICE = 19


def checked_nice(value: int, what: str = "background_nice") -> int:
    """`value` when it is a nice increment the kernel takes (0..19), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NICE:
        raise ValueError(f"{what} must be a whole number from 0 to {MAX_NICE}, got {value!r}")
    return value


def run_as_background(nice: int, what: str) -> None:
    """Lower this process's CPU priority by `nice` (0: leave it), every thread of it. Called
    first thing in a helper process: threads it starts later inherit the priority, and the
    ones already there (a numerical library's pool, started when the process imported it) are
    lowered one by one, since Linux keeps a nice value per thread. A refusal (a sandbox
    without the call) is logged, and the helper runs on at the console's priority."""
    try:
        threads = [int(task) for task in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: this thread only (and those it starts)
        threads = [0]
    _lower(threads, nice, what, "; it runs at the console's")


def lower_threads(threads: Iterable[threading.Thread], nice: int, what: str) -> list[int]:
    """Lower the CPU priority of each of `threads` (of this process) by `nice` from the
    process's own; the kernel ids of those lowered. Linux keeps a nice value per thread, so
    the window's and the core's threads keep the process's. A refusal is logged, as
    `run_as_background` does; threads that have not started or have ended are skipped."""
    alive = (t.native_id for t in threads if t.native_id is not None and t.is_alive())
    return _lower(alive, nice, what, "")


def _lower(thread_ids: Iterable[int], nice: int, what: str, refused_note: str) -> list[int]:
    """Set each thread (kernel id; 0: the calling one) `nice` below this process's priority;
    the ids set. A thread that ended meanwhile is skipped; a refusal is logged."""
    lowered: list[int] = []
    if nice <= 0:
        return lowered
    try:
        target = min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, 0) + nice)
        for tid in thread_ids:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, target)
            except ProcessLookupError:  # the thread ended meanwhile
                continue
            lowered.append(tid)
    except (OSError, AttributeError) as exc:  # AttributeError: no setpriority on this platform
        log.warning(
            "%s: could not lower the CPU priority by %d (%s)%s", what, nice, exc, refused_note
        )
    return lowered
