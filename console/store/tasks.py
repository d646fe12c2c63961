"""What a write task is, and what it is given: a session and the store's file area.

A write task is a frozen dataclass with a `name` (`"alarm.raise"`, used in logs and fault
messages) and `run(session, files)`. `Store.write(task)` runs it on the store's one writer thread
inside one transaction, committed before its future completes. Arguments are checked and copied
when the task is made (in the caller's thread), so a bad one fails there, and a caller that changes
its own dict afterwards cannot change what is written.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy.orm import Session

from console.store.errors import StoreError

log = logging.getLogger(__name__)

T_co = TypeVar("T_co", covariant=True)

SYSTEM_USER = "system"
FILE_MODE = 0o600  # every file the store creates: the database, its lock, snapshots
FOLDER_MODE = 0o700


class WriteTask(Protocol[T_co]):
    """One named write: runs on the writer thread inside one transaction."""

    name: ClassVar[str]

    def run(self, session: Session, files: StoreFiles) -> T_co: ...


# --------------------------------------------------------------------------- times and JSON


def now() -> datetime:
    return datetime.now(UTC)


def aware(at: datetime | None, name: str = "time") -> datetime:
    """`at` in UTC (None: now); a naive datetime is refused with ValueError."""
    if at is None:
        return now()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} {at.isoformat()} is naive: pass an aware datetime")
    return at.astimezone(UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def canonical_json(value: object) -> str:
    """The one JSON spelling of `value`: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def frozen_detail(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-safe copy of `detail` as it will be stored (times as ISO text, enums as values);
    TypeError for what cannot be stored."""
    if not detail:
        return None
    copied: dict[str, Any] = json.loads(canonical_json(dict(detail)))
    return copied


INFO_HELD = "nightwatch.held_rows"


def hold(session: Session, row: object) -> None:
    """Keep `row` in the session for the rest of its transaction. A session holds the rows it
    loaded only weakly, so without this each task of a group (an alarm's raise, its sighting,
    its two snapshots) would read the same alarm again (bench/store_writes.py). A row whose
    savepoint is rolled back leaves the session as it would anyway; holding it changes no
    answer, only saves the query."""
    held: list[object] = session.info.setdefault(INFO_HELD, [])
    held.append(row)


def set_field(task: object, name: str, value: object) -> None:
    """Normalise a field of a frozen task in its `__post_init__`."""
    object.__setattr__(task, name, value)


# --------------------------------------------------------------------------- the file area


def fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folders(folders: set[Path]) -> None:
    """Make the names written into these folders durable (each folder fsynced once)."""
    for folder in sorted(folders):
        fsync_dir(folder)
    folders.clear()


def make_folders(folder: Path) -> None:
    """Create `folder` and any missing parents with mode 0700; each new folder's name is made
    durable (its parent fsynced)."""
    missing: list[Path] = []
    probe = folder
    while not probe.is_dir():
        missing.append(probe)
        if probe == probe.parent:
            break
        probe = probe.parent
    for new in reversed(missing):
        try:
            os.mkdir(new, FOLDER_MODE)
        except FileExistsError:
            if not new.is_dir():
                raise
            continue
        fsync_dir(new.parent)


def remove_if_older(path: Path, before: float, what: str) -> bool:
    """Remove `path` if it was last written before `before` (a dead console's file, never a
    live write's); True when it went. A file that cannot be removed is logged (as `what`) and
    left."""
    try:
        if path.stat().st_mtime >= before:
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("cannot remove the %s %s: %s", what, path, exc.strerror)
        return False
    return True


def sweep_half_written(root: Path, before: float) -> int:
    """Remove the `.part` files a killed console left in the file area: those last written
    before `before` (this store's opening; one console per database, so nobody else writes
    them), never one a live write is filling. Returns how many went; a file that cannot be
    removed is logged and left."""
    removed = 0
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".part"):
                removed += remove_if_older(Path(folder) / name, before, "half-written")
    if removed:
        log.info("removed %d half-written file(s) a stopped console left in %s", removed, root)
    return removed


class StoreFiles:
    """The store's file area (the snapshots folder) as a task sees it.

    `write_file` is atomic and durable: the bytes go to `<name>.part` (mode 0600), are fsynced,
    renamed over the name, and the folder (and any folder it created) is fsynced, all before the
    task's row is committed. Files written by a task whose transaction then fails are removed by
    the store. An `OSError` is not caught here: the store tells a disk fault (retried) from a
    mistake (the task fails).
    """

    def __init__(self, root: Path | None, where: str, folders: set[Path] | None = None) -> None:
        self.root = root
        self._where = where
        self.written: list[Path] = []  # by this attempt of a task; removed if it fails
        # Given: the folders to fsync are collected here, and whoever gave the set fsyncs each
        # once before the rows commit (a group of tasks writing 30 snapshots into one folder
        # then waits for one folder fsync, not 30: on a slow disk each one is a round trip).
        self._folders = folders

    def path(self, relative: str | PurePosixPath) -> Path:
        """The absolute path of `relative` (a POSIX path inside the file area)."""
        if self.root is None:
            raise StoreError(f"{self._where}: an in-memory store has no file area (snapshots_dir=)")
        rel = PurePosixPath(relative)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"{relative!r}: not a relative path inside the store's file area")
        return self.root.joinpath(*rel.parts)

    def write_file(self, relative: str | PurePosixPath, data: bytes) -> Path:
        """Write `data` at `relative`, durably and atomically; returns its absolute path."""
        target = self.path(relative)
        assert self.root is not None
        part = target.with_name(target.name + ".part")
        make_folders(target.parent)
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(part, target)
            self.written.append(target)
            if self._folders is None:
                fsync_dir(target.parent)
            else:
                self._folders.add(target.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            if exc.filename is None:
                exc.filename = str(target)
            raise
        return target

    def remove(self, relative: str | PurePosixPath) -> bool:
        """Delete the file at `relative` (its folder fsynced); False if it was not there."""
        target = self.path(relative)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            if exc.filename is None:
                exc.filename = str(target)
            raise
        with contextlib.suppress(FileNotFoundError):
            fsync_dir(target.parent)
        return True

    def undo(self) -> None:
        """Remove what this attempt wrote (its transaction failed)."""
        for target in self.written:
            with contextlib.suppress(OSError):
                target.unlink(missing_ok=True)
        self.written.clear()
