"""`inference.processes.reap` on real child processes (spawned, as the vision layer spawns its
capture hosts, recorders and detector workers): one that ends by itself is joined, not killed;
one that does not stop by the deadline is killed; the process object and the pipe are released
either way."""

from __future__ import annotations

import multiprocessing as mp
import signal
import time

import pytest

from inference.processes import reap

SPAWN = mp.get_context("spawn")


def test_a_process_that_ends_is_joined_not_killed() -> None:
    process = SPAWN.Process(target=time.sleep, args=(0.0,), name="ends-by-itself")
    ours, theirs = SPAWN.Pipe()
    process.start()
    theirs.close()
    ended = reap(process, ours, timeout_s=60.0, name="test process")
    assert (ended.exitcode, ended.killed, ended.still_alive) == (0, False, False)
    assert ours.closed
    with pytest.raises(ValueError, match="closed"):
        process.is_alive()  # released: the object was closed


def test_a_process_that_does_not_stop_is_killed(caplog: pytest.LogCaptureFixture) -> None:
    process = SPAWN.Process(target=time.sleep, args=(600.0,), name="never-stops")
    process.start()
    ended = reap(process, None, timeout_s=0.2, name="stubborn process")
    assert ended.killed
    assert ended.exitcode == -signal.SIGKILL
    assert not ended.still_alive
    assert "stubborn process did not stop; killing it" in caplog.text
