"""Watching a SQLite database's files while the store has them open.

A console that keeps writing into a deleted, replaced or read-only file tells the monitor "stored"
when nothing will be found there; and SQLite keeps its WAL index (`<db>-shm`) memory-mapped, so a
`-shm` that became unwritable (a read-only remount, `chattr +i`) or was cut short kills the
process with SIGBUS at the next write to that page. The store therefore asks, before each write
and each read (`guard`, a few `access`/`stat` calls), and at least once a second (`check`, also
whether the files are still where they were), and turns any of these into a fault instead. A
`-shm` cut short is given its length back, which SQLite survives (it rebuilds the index from the
WAL).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SUFFIXES = ("", "-wal", "-shm")


class DatabaseWatch:
    """The files of one open SQLite database, as they were when it was opened."""

    def __init__(self, db_path: Path, *, writer: bool) -> None:
        self.db_path = db_path
        self.folder = db_path.parent
        self.writer = writer
        st = os.stat(db_path)
        self._identity = (st.st_dev, st.st_ino)
        self._shm = Path(f"{db_path}-shm")
        # A reader that mapped the index read-only never writes to it; one that mapped it
        # writable does (read marks), and must not once it is no longer writable.
        self._guard_shm = writer or os.access(self._shm, os.W_OK)
        self._shm_size = 0
        self.repair_note: str | None = None  # a repair the writer has not reported yet

    def forget_shm_size(self) -> None:
        """Our connections were closed: SQLite may start the index afresh (smaller)."""
        self._shm_size = 0

    def guard(self, *, reading: bool = False) -> str | None:
        """Why touching the database now would fail or crash, or None: the cheap check made
        before every write (all three files must be writable) and read (the index must be, if it
        was)."""
        writing = self.writer and not reading
        paths = [Path(f"{self.db_path}{s}") for s in SUFFIXES] if writing else []
        if self._guard_shm and self._shm not in paths:
            paths.append(self._shm)
        for path in paths:
            if not os.access(path, os.W_OK) and os.path.lexists(path):
                return f"cannot write {path}: {unwritable_reason(path)}"
        try:
            size = os.stat(self._shm).st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"cannot write {self._shm}: {exc.strerror}"
        if size < self._shm_size:
            # Our connections map the old length: touching a page past the new end is SIGBUS.
            # Giving the file its length back (by path: closing a descriptor of it would drop
            # SQLite's locks) makes the pages valid again; their content is zeros, and SQLite
            # rebuilds the index from the WAL, losing nothing (measured).
            cut = f"another program cut the database's index file short ({size} bytes, was "
            try:
                os.truncate(self._shm, self._shm_size)
            except OSError as exc:
                return f"cannot write {self._shm}: {cut}{self._shm_size}): {exc.strerror}"
            note = f"cannot write {self._shm}: {cut}{self._shm_size}); its length was restored"
            if reading:
                self.repair_note = note  # for the writer to report
                return None
            return note
        self._shm_size = size
        return None

    def check(self) -> str | None:
        """Why writes must be held, or None: the once-a-second check."""
        note, self.repair_note = self.repair_note, None
        if note is not None:
            return note  # reported once; the next check finds the file whole again
        if not self.folder.is_dir():
            return f"cannot write {self.db_path}: the database folder {self.folder} was deleted"
        try:
            st = os.stat(self.db_path)
        except FileNotFoundError:
            return f"cannot write {self.db_path}: the database file was deleted or moved"
        except OSError as exc:
            return f"cannot write {self.db_path}: {exc.strerror}"
        if (st.st_dev, st.st_ino) != self._identity:
            return f"cannot write {self.db_path}: the database file was replaced by another file"
        deleted = self._deleted_open_file()
        if deleted is not None:
            return f"cannot write {deleted}: the file was deleted while the database was open"
        return self.guard()

    def _deleted_open_file(self) -> str | None:
        """A database file this process holds open that is no longer in the folder (Linux)."""
        names = {f"{self.db_path}{s} (deleted)" for s in SUFFIXES}
        try:
            fds = os.listdir("/proc/self/fd")
        except OSError:
            return None
        for fd in fds:
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target in names:
                return target.removesuffix(" (deleted)")
        return None


def unwritable_reason(path: Path) -> str:
    """Why `path` cannot be written, in words."""
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return "the file system is read-only"
    except OSError:
        pass
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "the file is marked immutable (chattr +i)"  # root ignores permission bits
    try:
        mode = stat.filemode(os.stat(path).st_mode)
    except OSError:
        return "permission denied"
    return f"permission denied ({mode})"
