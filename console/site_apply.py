"""Saving an edited site and applying it without a restart.

    editor / CLI ── save_site(path, text or Site, user, records, runtime=) ──► SaveReport
                      check (as `nightwatch check`) ─ refused: problems, nothing written
                      previous version kept beside it: site.yaml.1, .2, ... (the last `keep`)
                      written atomically (temp file, fsync, rename, folder fsync)
                      recorded: config_changes (who, digests) + audit `site.edit` (readable diff)
                      runtime.apply_site(site) ─► Future[ApplyReport] (console.runtime)
    hand edit ───── SiteFileWatch (nightwatch run): the core's tick stats the file; a changed
                      file is read and checked on the watch's own thread, then recorded and
                      applied the same way; a bad one is refused, shown and audited, and the
                      running site stays

Who saved: the editor and `nightwatch site apply --user NAME` name the user. A change made
outside the console (a text editor) is recorded as made by `system`, with the file's owner in
the audit row. `nightwatch site apply` run beside a console (whose database it cannot open: one
console per database) leaves a note beside the file (`.NAME.saved-by`, the user and the new
text's SHA-256), so the console's watch records the change as that user's.

Permission: saving is the supervisor's (issue 21's role table, `Act.CONFIGURE`). That check is
not on main yet: `save_site(..., authorize=)` is the hook; the service layer passes a callable
that raises `PermissionError` for anyone else (see `ConfigurePermission`).

Threads: `save_site` does file I/O on the calling thread (the editor calls it off the GUI
thread) and hands its store writes to `records` (a `Store` in the CLI; `SiteRuntime.records` in
the console, which goes through the core thread). `SiteFileWatch.poll` runs on the core
thread; its loading runs on its own owned thread, joined at `close`.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from console.site_file import Site, SiteFileError, load_site_text, read_site_text
from console.store.audit import AppendAudit
from console.store.config_changes import RecordConfigChange, digest
from console.store.tasks import SYSTEM_USER, fsync_dir
from inference.sources import mask_credentials

if TYPE_CHECKING:
    from console.runtime import ApplyReport, SiteRuntime

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_KEEP",
    "ConfigurePermission",
    "SaveReport",
    "SiteCheck",
    "SiteFileWatch",
    "TaskWriter",
    "check_site_text",
    "readable_diff",
    "save_site",
    "saved_by_note",
    "site_to_yaml",
    "versions_beside",
]

DEFAULT_KEEP = 10  # previous versions kept beside the site file
MAX_DIFF_CHARS = 16_000  # of the audit row's diff; the rest is counted
MAX_DIFF_LINES = 400


class TaskWriter(Protocol):
    """Where change records go: a `Store`, or `SiteRuntime.write_record` (through the core)."""

    def write(self, task: Any) -> Future[Any]: ...


class ConfigurePermission(Protocol):
    """The role check of issue 21: raises PermissionError (with the words to show) when `user`
    may not change the configuration."""

    def __call__(self, user: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SiteCheck:
    """An edit checked as `nightwatch check` checks a file: the site, or the problems."""

    site: Site | None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.site is not None and not self.problems


@dataclass(frozen=True)
class SaveReport:
    """What `save_site` did. `saved` is False when it refused (`problems`, nothing written) or
    when the text was the same as the file's (`unchanged`)."""

    saved: bool
    path: Path
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    unchanged: bool = False
    backup: Path | None = None
    before_digest: str | None = None
    after_digest: str | None = None
    diff: str = ""
    recorded: tuple[Future[Any], ...] = ()  # the store writes (config change, audit row)
    applied: Future[ApplyReport] | None = None  # the running console's answer
    site: Site | None = None


def check_site_text(text: str, path: str | os.PathLike[str]) -> SiteCheck:
    """Check an edit as `nightwatch check` would check it saved at `path` (video files probed,
    frame outlines checked; the warnings `check` prints)."""
    from console.site_file.view_warnings import check_warnings

    file = os.fspath(path)
    try:
        site = load_site_text(text, file, Path(file).resolve().parent, probe_videos=True)
    except SiteFileError as exc:
        return SiteCheck(None, tuple(exc.problems))
    warnings = tuple(f"{file}: warning: {w.path}: {w.text}" for w in check_warnings(site))
    return SiteCheck(site, (), warnings)


def save_site(
    path: str | os.PathLike[str],
    new: str | Site,
    user: str,
    records: TaskWriter | None = None,
    *,
    runtime: SiteRuntime | None = None,
    expected_digest: str | None = None,
    keep: int = DEFAULT_KEEP,
    authorize: ConfigurePermission | None = None,
    leave_note: bool = False,
) -> SaveReport:
    """Check, write, record and apply an edited site (see the module doc).

    `new` is the file's new text, or a `Site` (written in the editor's layout, see
    `site_to_yaml`: comments are not kept). `expected_digest` is the SHA-256 of the text the
    editor started from: when the file changed since (someone else saved), the save is refused
    rather than overwriting their change. `leave_note` (the CLI beside a running console)
    leaves the `.NAME.saved-by` note for its watch.
    """
    target = Path(path)
    if authorize is not None:
        try:
            authorize(user)
        except PermissionError as exc:
            return SaveReport(False, target, (f"{target}: {exc}",))
    text = new if isinstance(new, str) else site_to_yaml(new)
    checked = check_site_text(text, target)
    if not checked.ok:
        return SaveReport(False, target, checked.problems, checked.warnings)
    try:
        before: str | None = read_site_text(target) if target.exists() else None
    except SiteFileError as exc:  # the old file is unreadable: the new one replaces it
        log.warning("%s: the previous version cannot be read: %s", target, exc)
        before = None
    before_digest, after_digest = digest(before), digest(text)
    if expected_digest is not None and before_digest != expected_digest:
        return SaveReport(
            False,
            target,
            (
                f"{target}: the file changed since it was opened (someone else saved it): "
                "reload it and make the edit again",
            ),
            checked.warnings,
            before_digest=before_digest,
        )
    if before == text:
        return SaveReport(
            False, target, (), checked.warnings, unchanged=True, site=checked.site,
            before_digest=before_digest, after_digest=after_digest,
        )  # fmt: skip
    if runtime is not None and runtime.site_watch is not None:
        runtime.site_watch.expect(text, user)  # its watch must not apply it again
    if leave_note:
        _write_note(target, user, after_digest)
    backup = _write_atomically(target, text, keep)
    diff = readable_diff(before, text, target.name)
    recorded: list[Future[Any]] = []
    if records is not None:
        recorded = record_change(records, target, user, before, text, diff, "editor")
    applied = None
    if runtime is not None:
        assert checked.site is not None
        applied = runtime.apply_site(checked.site, applied_by=user, digest=after_digest)
    log.info("%s saved by %s (%s -> %s)", target, user, before_digest, after_digest)
    return SaveReport(
        True,
        target,
        (),
        checked.warnings,
        backup=backup,
        before_digest=before_digest,
        after_digest=after_digest,
        diff=diff,
        recorded=tuple(recorded),
        applied=applied,
        site=checked.site,
    )


def record_change(
    records: TaskWriter,
    target: Path,
    user: str,
    before: str | None,
    after: str,
    diff: str,
    via: str,
    extra: dict[str, Any] | None = None,
) -> list[Future[Any]]:
    """The change in `config_changes` (with its own `config.change` audit row: digests) and an
    audit row `site.edit` with the readable diff."""
    at = datetime.now(UTC)
    what = f"site:{target}"
    detail: dict[str, Any] = {
        "file": str(target),
        "via": via,
        "before": digest(before),
        "after": digest(after),
        "diff": diff,
        **(extra or {}),
    }
    return [
        records.write(
            RecordConfigChange(user=user, what=what[:255], before=before, after=after, at=at)
        ),
        records.write(
            AppendAudit(user=user, action="site.edit", target=what[:255], detail=detail, at=at)
        ),
    ]


def readable_diff(before: str | None, after: str, name: str = "site.yaml") -> str:
    """A unified diff of two versions, credentials in URLs masked, cut at `MAX_DIFF_LINES`
    lines or `MAX_DIFF_CHARS` characters (a last line counts the rest)."""
    lines = list(
        difflib.unified_diff(
            (before or "").splitlines(),
            after.splitlines(),
            f"{name} (before)",
            f"{name} (after)",
            lineterm="",
            n=2,
        )
    )
    out: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        shown = mask_credentials(line, hide_user=True) if "://" in line else line
        if index >= MAX_DIFF_LINES or size + len(shown) + 1 > MAX_DIFF_CHARS:
            out.append(f"... {len(lines) - index} more lines of diff not shown")
            break
        out.append(shown)
        size += len(shown) + 1
    return "\n".join(out)


# --------------------------------------------------------------------------- files


def versions_beside(path: str | os.PathLike[str]) -> list[Path]:
    """The previous versions kept beside a site file, newest first (site.yaml.1, .2, ...)."""
    target = Path(path)
    found = []
    for candidate in target.parent.glob(f"{glob_escape(target.name)}.*"):
        suffix = candidate.name[len(target.name) + 1 :]
        if suffix.isdigit():
            found.append((int(suffix), candidate))
    return [p for _, p in sorted(found)]


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _write_atomically(target: Path, text: str, keep: int) -> Path | None:
    """Write `text` over `target`: the previous version moves to `target.1` (older ones to .2,
    ...; the last `keep` kept), the new one is written to a temporary file in the same folder,
    fsynced and renamed over the name, and the folder fsynced. Returns the backup's path."""
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    backup: Path | None = None
    mode = 0o644
    if target.exists():
        mode = target.stat().st_mode & 0o777
        keep = max(1, keep)
        for n in range(keep, 0, -1):  # .keep goes; .n -> .n+1
            older = target.with_name(f"{target.name}.{n}")
            if not older.exists():
                continue
            if n == keep:
                older.unlink()
            else:
                os.replace(older, target.with_name(f"{target.name}.{n + 1}"))
        backup = target.with_name(f"{target.name}.1")
        try:
            os.link(target, backup)  # the old file's inode: no copy, nothing half-written
        except OSError:
            shutil.copy2(target, backup)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".saving", dir=folder)
    temp = Path(temp_name)
    try:
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return backup


def _note_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.saved-by")


def _write_note(target: Path, user: str, after_digest: str | None) -> None:
    note = {"user": user, "sha256": after_digest, "at": datetime.now(UTC).isoformat()}
    path = _note_path(target)
    temp = path.with_name(path.name + ".part")
    temp.write_text(json.dumps(note) + "\n", encoding="utf-8")
    os.replace(temp, path)


def saved_by_note(target: str | os.PathLike[str], text_digest: str) -> str | None:
    """The user `nightwatch site apply` named for this very text (its note), or None."""
    path = _note_path(Path(target))
    try:
        note = json.loads(path.read_text(encoding="utf-8")[:4096])
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or note.get("sha256") != text_digest:
        return None
    user = note.get("user")
    return str(user)[:64] if isinstance(user, str) and user else None


# --------------------------------------------------------------------------- a Site as YAML


class _SiteDumper(yaml.SafeDumper):
    """Block mappings, points and polygons in flow style, times quoted."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(v, dict | list) for v in data)
    points = all(
        isinstance(v, list) and all(not isinstance(x, dict | list) for x in v) for v in data
    )
    flow = bool(data) and (flat or points)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = '"' if re.search(r"[0-9]:[0-9]", data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_float(dumper: yaml.SafeDumper, data: float) -> yaml.Node:
    if data.is_integer() and abs(data) < 1e15:
        return dumper.represent_int(int(data))
    return dumper.represent_float(data)


_SiteDumper.add_representer(list, _represent_list)
_SiteDumper.add_representer(str, _represent_str)
_SiteDumper.add_representer(float, _represent_float)


def site_to_yaml(site: Site) -> str:
    """The site as the text of a site file (what the editor saves): every value that differs
    from its default, in the order of docs/site-file.md; points as `[x, y]`."""
    data = site.model_dump(mode="json", exclude_defaults=True)
    data = {"version": site.version, **data}
    header = (
        "# Nightwatch site file (format version 1), saved by the site editor.\n"
        "# See docs/site-file.md. Previous versions are kept beside it (NAME.1, NAME.2, ...).\n"
    )
    body = yaml.dump(data, Dumper=_SiteDumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body


# --------------------------------------------------------------------------- the file watch


@dataclass
class _Seen:
    stat: tuple[int, int, int] | None  # (inode, mtime_ns, size); None: no file
    since: float = 0.0


class SiteFileWatch:
    """Applies a site file edited while the console runs (see the module doc).

    `poll()` (the core's tick, once a second) compares the file's inode, mtime and size with
    what it saw; a change that has stood for `settle_s` (an editor writes in steps) is read and
    checked on the watch's own thread, then recorded and applied (`SiteRuntime.apply_site`), or
    refused: the running site stays, the window is told (`SiteNotice`), and the audit log gets a
    `site.edit_refused` row with the problems. The same refused text is not reported twice.
    """

    def __init__(
        self, path: str | os.PathLike[str], runtime: SiteRuntime, *, settle_s: float = 1.0
    ) -> None:
        self.path = Path(path)
        self._runtime = runtime
        self._settle_s = settle_s
        self._lock = threading.Lock()
        self._expected: dict[str, str] = {}  # digest -> user: saved through save_site
        self._loading: Future[None] | None = None
        self._refused: str | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="nightwatch-site-watch")
        self._seen = _Seen(self._stat())
        self._changed: _Seen | None = None
        try:
            self._text: str | None = read_site_text(self.path)
        except SiteFileError:
            self._text = None
        if runtime.applied_digest is None:
            runtime.applied_digest = digest(self._text)

    def expect(self, text: str, user: str) -> None:
        """(any thread) `save_site` is about to write this text and applies it itself: the watch
        will not apply it again, and diffs a later hand edit against it."""
        with self._lock:
            self._expected[digest(text) or ""] = user
            self._text = text

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def poll(self, now: float | None = None) -> None:
        """(core thread) Notice a change; load it once it has settled."""
        import time

        moment = time.monotonic() if now is None else now
        current = self._stat()
        if current == self._seen.stat and self._changed is None:
            return
        if self._changed is None or self._changed.stat != current:
            self._changed = _Seen(current, moment)  # (still) being written
            return
        if moment - self._changed.since < self._settle_s:
            return
        if self._loading is not None and not self._loading.done():
            return
        self._seen, self._changed = self._changed, None
        if current is None:
            self._runtime.notify_site(
                "refused", f"{self.path}: the site file is gone; the running site stays"
            )
            return
        self._loading = self._executor.submit(self._load)

    def _load(self) -> None:
        """(the watch's thread) Read and check the file; record and apply it, or refuse."""
        runtime = self._runtime
        try:
            text = read_site_text(self.path)
        except SiteFileError as exc:
            self._refuse(tuple(exc.problems), None)
            return
        text_digest = digest(text)
        with self._lock:
            expected_by = self._expected.pop(text_digest or "", None)
            if text_digest == runtime.applied_digest or expected_by is not None:
                self._text = text  # saved (and applied) by save_site, or touched, unchanged
                return
            before = self._text
        if text_digest == self._refused:
            return
        checked = check_site_text(text, self.path)
        if not checked.ok:
            self._refuse(checked.problems, text_digest)
            return
        self._refused = None
        user = saved_by_note(self.path, text_digest or "")
        extra: dict[str, Any] = {"warnings": list(checked.warnings)}
        if user is None:
            user = SYSTEM_USER
            extra["edited"] = "outside the console"
            extra["file_owner"] = _owner(self.path)
        diff = readable_diff(before, text, self.path.name)
        record_change(runtime.records, self.path, user, before, text, diff, "file", extra)
        with self._lock:
            self._text = text
        assert checked.site is not None
        runtime.apply_site(checked.site, applied_by=user, digest=text_digest)

    def _refuse(self, problems: tuple[str, ...], text_digest: str | None) -> None:
        self._refused = text_digest
        runtime = self._runtime
        text = (
            f"{self.path}: the edited site file is refused ({len(problems)} problem(s)); the "
            "running site stays"
        )
        log.error("%s: %s", text, "; ".join(problems[:5]))
        runtime.records.write(
            AppendAudit(
                user=SYSTEM_USER,
                action="site.edit_refused",
                target=f"site:{self.path}"[:255],
                detail={"problems": list(problems[:50]), "digest": text_digest},
            )
        )
        runtime.core.post(lambda: runtime.notify_site("refused", text, problems=problems))


def _owner(path: Path) -> str | None:
    """The file's owner's name (POSIX), or None."""
    with contextlib.suppress(OSError, KeyError, ImportError):
        import pwd

        return pwd.getpwuid(path.stat().st_uid).pw_name
    return None
