"""Child processes of the battery: a module run with this checkout's Python, its stdout read line
by line on a thread (each line with the moment it arrived), its stdin open for commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}


class Child:
    """`python -m module *args`; every start has its `kill()` (or `wait()`)."""

    def __init__(self, module: str, args: list[str], *, stdin: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=child_env(),
            text=True,
        )
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, name="child-stdout", daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(
            target=lambda: self._stderr.extend(self.proc.stderr or []),
            name="child-stderr",
            daemon=True,
        )
        self._err_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                # a line without its newline was cut by a kill: not a report
                if line.endswith("\n"):
                    self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(
        self, prefix: str, timeout_s: float = START_TIMEOUT_S, *, after: int = 0
    ) -> tuple[float, str] | None:
        """The first line (from line number `after` on) starting with `prefix`, with the moment
        it arrived; None if the child ended or the time ran out first."""
        end = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for at, line in self.lines[after:]:
                    if line.startswith(prefix):
                        return at, line
                left = end - time.monotonic()
                if self._closed or left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))

    def mark(self) -> int:
        """The number of lines so far (for `wait_for(after=...)`)."""
        with self._cond:
            return len(self.lines)

    def kill(self) -> int:
        """SIGKILL (if still running), reap, and read what it wrote; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        return self.wait(60)

    def wait(self, timeout_s: float) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=60)
        self._err_reader.join(timeout=60)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)[-3000:]
