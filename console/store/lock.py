"""One console per database: an exclusive lock on `<database>.lock`, held while the store is open.

The lock is `flock(2)` on the lock file, so the kernel releases it when the holder exits, however
it exits: a lock file left by a dead console is simply taken over. The file says who holds it
(pid, command line, host, since when), so a second console is refused with a sentence a person
can act on. PostgreSQL stores take no lock (several consoles sharing one database is a separate,
deliberate mode).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from console.store.errors import StoreLockedError, StoreWriteError
from console.store.faults import describe_errno
from console.store.tasks import FILE_MODE

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None  # type: ignore[assignment]  # the module or None: checked before each use


def command_line() -> str:
    """This process's command, as a person typed it (`nightwatch run site.yaml`)."""
    argv = list(sys.argv) or ["python"]
    argv[0] = Path(argv[0]).name or argv[0]
    return " ".join(argv)


class DatabaseLock:
    """The held lock of one database; `release()` (idempotent) lets the next console in."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._fd: int | None = None
        # who held it and never let go (a console that was killed, or lost power): a clean
        # release empties the file, so a holder still written in it did not stop cleanly
        self.left_by: str | None = None
        if fcntl is None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            reason = describe_errno(exc.errno) or exc.strerror
            raise StoreWriteError(
                f"cannot write {db_path}: its lock file {self.path} cannot be opened: {reason}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise StoreLockedError(f"{db_path} is in use by {holder}") from None
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        if os.fstat(fd).st_size > 0:
            self.left_by = _read_holder(fd, taken_over=True)
        self._write_holder(fd)

    @staticmethod
    def _write_holder(fd: int) -> None:
        holder = {
            "pid": os.getpid(),
            "command": command_line(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        data = (json.dumps(holder) + "\n").encode("utf-8")
        with contextlib.suppress(OSError):  # who holds it is a courtesy; the lock is the flock
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock


def _read_holder(fd: int, *, taken_over: bool = False) -> str:
    try:
        raw = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        holder = json.loads(raw)
        who = (
            f"nightwatch pid {holder['pid']} ({holder['command']}) on {holder['host']} "
            f"since {holder['since']}"
        )
        if taken_over:
            return who
        return f"{who}; stop that console first, or open this database read-only"
    except (OSError, ValueError, KeyError, TypeError):
        return "another program (its lock file names no holder)"
