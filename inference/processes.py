"""Ending a child process the vision layer owns: capture hosts (inference/pipeline.py), recorder
hosts (inference/recording.py) and detector workers (inference/worker_pool.py).

The caller has already asked the process to stop (a `stop` command on its pipe) or found it
dead. `reap` waits for it until the deadline, kills it (SIGKILL) if it is still there, waits
for that, releases the process object and closes the caller's end of its pipe, and says how it
ended:

    ended = reap(host.process, host.pipe, timeout_s=10.0, name="capture process 3")
    host.process, host.pipe = None, None
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

__all__ = ["KILL_WAIT_S", "Reaped", "reap"]

KILL_WAIT_S = 5.0  # how long a killed process is waited for (the kernel ends it at once)


@dataclass(frozen=True, slots=True)
class Reaped:
    """How a reaped process ended: its exit code (negative: the signal), whether it had to be
    killed, and whether it was still there even after the kill (then it is left unclosed)."""

    exitcode: int | None
    killed: bool = False
    still_alive: bool = False


def reap(process: BaseProcess, pipe: Connection | None, *, timeout_s: float, name: str) -> Reaped:
    """Join `process` for up to `timeout_s` (a negative time counts as 0), kill it if it is
    still alive and join it again, close it and `pipe`."""
    process.join(max(0.0, timeout_s))
    killed = process.is_alive()
    if killed:
        log.warning("%s did not stop; killing it", name)
        process.kill()
        process.join(KILL_WAIT_S)
    still_alive = process.is_alive()
    exitcode = process.exitcode
    if still_alive:  # cannot be closed while it runs; said, and left to the system
        log.error("%s (pid %s) is still there %.0f s after SIGKILL", name, process.pid, KILL_WAIT_S)
    else:
        process.close()
    if pipe is not None:
        pipe.close()
    return Reaped(exitcode, killed, still_alive)
