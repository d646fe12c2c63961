"""Storage faults in words a monitor understands: which errors are the disk's (held and retried)
and which are a task's own (refused at once), the store's health, and what `close()` reports.

A fault message always names the file: "cannot write /var/lib/nightwatch/nightwatch.db: the disk
is full".
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

# What the disk, not the task, got wrong: worth holding the queue and trying again.
ERRNO_REASONS: dict[int, str] = {
    errno.ENOSPC: "the disk is full",
    errno.EIO: "a disk I/O error (the disk may be failing or was removed)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the file may not be changed (immutable, or permission denied)",
    errno.EFBIG: "the file size limit is reached",
}
if hasattr(errno, "EDQUOT"):
    ERRNO_REASONS[errno.EDQUOT] = "the disk quota is used up"

SQLITE_REASONS: dict[int, str] = {  # primary result codes
    sqlite3.SQLITE_PERM: "permission denied",
    sqlite3.SQLITE_BUSY: "the database is locked by another program",
    sqlite3.SQLITE_READONLY: "the database is read-only",
    sqlite3.SQLITE_IOERR: "a disk I/O error (the disk may be full, failing or removed)",
    sqlite3.SQLITE_CORRUPT: "the database file reads as damaged (after a disk error)",
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened",
    sqlite3.SQLITE_PROTOCOL: "a locking error between programs using the database",
    sqlite3.SQLITE_NOTADB: "the file is not a database (replaced or damaged)",
}
SQLITE_EXTENDED_REASONS: dict[int, str] = {
    sqlite3.SQLITE_READONLY_DBMOVED: "the database file was moved or deleted",
}
NEARLY_FULL_BYTES = 256 * 1024


def describe_errno(code: int | None) -> str | None:
    """Words for an OSError that is the disk's fault; None when it is not one."""
    if code is None:
        return None
    return ERRNO_REASONS.get(code)


def _free_bytes(folder: Path) -> int | None:
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def disk_fault(exc: BaseException, where: str, folder: Path | None) -> str | None:
    """The fault message for `exc` when the disk (not the task) failed; None otherwise.

    `where` names the database for database errors; an OSError names its own file.
    """
    if isinstance(exc, OSError):
        reason = describe_errno(exc.errno)
        if reason is None:
            return None
        return f"cannot write {exc.filename or where}: {reason}"
    if not isinstance(exc, DBAPIError) or isinstance(exc, IntegrityError):
        return None
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        reason = SQLITE_EXTENDED_REASONS.get(code) or SQLITE_REASONS.get(code & 0xFF)
        if reason is None:
            return None
        if code & 0xFF in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL) and folder is not None:
            free = _free_bytes(folder)
            if free is not None and free < NEARLY_FULL_BYTES:
                reason = "the disk is full"
        return f"cannot write {where}: {reason} ({orig})"
    # Other databases (PostgreSQL): a lost or refused connection is the fault of the link.
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return f"cannot write {where}: {orig}"
    return None


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether writes reach the disk now.

    `fault`: what is wrong, naming the file ("cannot write …/nightwatch.db: the disk is full"),
    since `since`; `pending`: writes queued or in flight (held while there is a fault);
    `unstored`: writes given up at close (0 while the store is open).
    """

    ok: bool
    fault: str | None = None
    since: datetime | None = None
    pending: int = 0
    unstored: int = 0


@dataclass(frozen=True, slots=True)
class CloseReport:
    """What `Store.close()` could not write: the names of the tasks given up, in queue order,
    and the fault that kept them out. Empty when every write is stored."""

    unstored_tasks: tuple[str, ...] = ()
    fault: str | None = None

    @property
    def unstored(self) -> int:
        return len(self.unstored_tasks)

    @property
    def all_stored(self) -> bool:
        return not self.unstored_tasks

    def __bool__(self) -> bool:
        return self.all_stored

    def __str__(self) -> str:
        if self.all_stored:
            return "every write is stored"
        counts = Counter(self.unstored_tasks)
        names = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in counts.items())
        plural = "s" if self.unstored > 1 else ""
        return f"{self.unstored} write{plural} NOT stored ({names}): {self.fault}"
