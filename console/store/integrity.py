"""Everything an auditor can check of a store, in one pass: `verify_store`.

1. the audit chain: every row in place (no gap, linked), its payload hash, its keyed hash
   (HMAC-SHA-256 with the audit key; plain SHA-256 for rows from before keys);
2. the signed heads (outside the database): each signature, and the row each names still in
   the chain with that hash, so rows cut from the end, or a chain rewritten from some row on,
   are seen;
3. the tables the chain vouches for (alarms, alarm events, occurrences, dispatches, snapshots,
   clips, config changes, holds, user accounts, shifts, walk tests and their results): each
   row's digest against the newest one the chain recorded for it, so an edited row (an outcome, a
   note, a user, a role, a guard, a time), a deleted one and one added by hand are each named;
4. the files: each snapshot and clip not purged and each walk test's evidence frame is there and
   has the SHA-256 its row says.

Every finding names where (the audit row, the table row, the file), its kind, and what is wrong,
in words. `nightwatch audit verify` prints them and exits 1 if there is any.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import digests
from console.store.audit import (
    ChainWalk,
    chain_identity,
    record_key,
    recorded_entry,
    walk_chain,
)
from console.store.heads import SignedHead, read_signed_heads
from console.store.keys import AuditKeys
from console.store.models import AuditRecord, Clip, ClipState, Snapshot, WalkTestResult
from console.store.tasks import StoreFiles

MAX_PER_KIND = 50  # findings listed per kind and place; the rest are counted


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong: `where` (`audit_log seq 12`, `alarms id=7`, `snapshot file …`,
    `signed heads`), `kind` (`altered`, `removed`, `added`, `reordered`, `rebuilt`, `truncated`,
    `rewritten`, `unkeyed`, `missing`, `replaced`, `unreadable`, `not purged`, `wrong key`,
    `no key`, `empty`), and the `message` in words."""

    where: str
    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    ok: bool
    findings: tuple[Finding, ...]
    not_listed: int  # findings beyond those listed (counted, not kept)
    rows_checked: int
    head_seq: int
    head_hash: str
    keyed_from: int | None
    chain_id: str | None
    signed_heads: int
    newest_signed_seq: int | None
    rows_cross_checked: int
    files_checked: int
    warnings: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.ok

    @property
    def first(self) -> Finding | None:
        return self.findings[0] if self.findings else None


class _Findings:
    def __init__(self) -> None:
        self.items: list[Finding] = []
        self.counts: dict[tuple[str, str], int] = {}
        self.not_listed = 0

    def add(self, where: str, kind: str, message: str, *, group: str | None = None) -> None:
        key = (group or where.split(" ")[0], kind)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] > MAX_PER_KIND:
            self.not_listed += 1
            return
        self.items.append(Finding(where, kind, message))


def verify_store(
    session: Session, keys: AuditKeys | None, files: StoreFiles | None = None
) -> IntegrityReport:
    """Check the chain, the signed heads, the cross-checked tables, the snapshot and clip files."""
    found = _Findings()
    warnings: list[str] = []
    chain_id, _ = chain_identity(session)
    heads: list[SignedHead] = []
    if keys is not None and chain_id is not None:
        heads_path = keys.heads_file(chain_id)
        heads, head_problems = read_signed_heads(heads_path, keys)
        for head_problem in head_problems:
            found.add("signed heads", "altered", head_problem)
        if not heads and not head_problems:
            found.add(
                "signed heads",
                "missing",
                f"no signed heads for this chain ({heads_path} is missing or empty): rows cut "
                "from the end of the audit log cannot be ruled out (copy the console's key "
                "folder with its heads/)",
            )
    walk = walk_chain(
        session,
        keys,
        collect_digests=True,
        want_hashes=frozenset(h.seq for h in heads),
    )
    for problem in walk.problems:
        where = f"audit_log seq {problem.seq}" if problem.seq is not None else "audit_log"
        found.add(where, problem.kind, problem.message)
    if walk.more_problems:
        found.not_listed += walk.more_problems
    _check_heads(found, walk, heads)
    checked = _cross_check(session, found, walk)
    uncovered = [t for t in digests.TABLE_NAMES if t not in walk.covered]
    if walk.keyed_from is not None and uncovered:
        warnings.append(
            f"{', '.join(uncovered)}: not cross-checked (the chain was keyed by an earlier "
            "release; the console covers them when it next opens the database)"
        )
    files_checked = 0
    if files is not None and files.root is not None:
        files_checked = _check_files(session, found, files)
    elif files is None:
        warnings.append("snapshot and clip files not checked (no snapshots folder given)")
    if walk.keyed_from is not None and walk.keyed_from > 1:
        warnings.append(
            f"audit rows seq 1..{walk.keyed_from - 1} were written before the chain was keyed: "
            "they are checked with plain SHA-256, and the keyed row audit.keyed at seq "
            f"{walk.keyed_from} vouches for them as they were then"
        )
    return IntegrityReport(
        ok=not found.items and not found.not_listed,
        findings=tuple(found.items),
        not_listed=found.not_listed,
        rows_checked=walk.rows_checked,
        head_seq=walk.head_seq,
        head_hash=walk.prev_hash,
        keyed_from=walk.keyed_from,
        chain_id=walk.chain_id or chain_id,
        signed_heads=len(heads),
        newest_signed_seq=max((h.seq for h in heads), default=None),
        rows_cross_checked=checked,
        files_checked=files_checked,
        warnings=tuple(warnings),
    )


def _check_heads(found: _Findings, walk: ChainWalk, heads: list[Any]) -> None:
    if not heads:
        return
    newest = max(heads, key=lambda h: h.seq)
    if newest.seq > walk.head_seq:
        found.add(
            "signed heads",
            "truncated",
            f"the audit log ends at seq {walk.head_seq}, but the console signed its head at seq "
            f"{newest.seq} on {newest.signed_at}: rows seq {walk.head_seq + 1}..{newest.seq} were "
            "cut from the end",
        )
    rewritten = sorted(
        (h for h in heads if h.seq <= walk.head_seq and walk.hashes.get(h.seq) != h.row_hash),
        key=lambda h: h.seq,
    )
    if rewritten:
        first = rewritten[0]
        found.add(
            f"audit_log seq {first.seq}",
            "rewritten",
            f"audit row seq {first.seq} does not have the hash the console signed on "
            f"{first.signed_at} (line {first.line} of the signed heads): the log was rewritten "
            f"from there ({len(rewritten)} signed head(s) no longer match)",
        )


# --------------------------------------------------------------------------- tables


def _audit_row(session: Session, seq: int) -> Any:
    return session.execute(
        select(AuditRecord.seq, AuditRecord.user, AuditRecord.action, AuditRecord.detail).where(
            AuditRecord.seq == seq
        )
    ).first()


# which audit detail key says which column, per table
_FACT_COLUMNS: dict[str, dict[str, str]] = {
    "alarms": {
        "to": "state",
        "outcome": "outcome",
        "note": "note",
        "camera_id": "camera_id",
        "rule": "rule",
        "subject": "subject",
        "severity": "severity",
        "track_id": "track_id",
        "episode_key": "episode_key",
    },
    "dispatches": {"guard_id": "guard_id", "post": "post", "outcome": "outcome"},
    "alarm_occurrences": {
        "camera_id": "camera_id",
        "track_id": "track_id",
        "started_at": "started_at",
        "ended_at": "ended_at",
        "closest_m": "closest_m",
    },
    "snapshots": {"sha256": "sha256", "path": "path"},
    "clips": {"sha256": "sha256", "path": "path", "state": "state"},
    "config_changes": {"before": "before_digest", "after": "after_digest"},
    "users": {"role": "role"},
    "holds": {
        "reason": "reason",
        "case_ref": "case_ref",
        "placed_by": "placed_by",
        "released_by": "released_by",
    },
}


def _explain(session: Session, table: str, values: Mapping[str, Any], seq: int) -> str:
    """Which columns differ from what the audit row at `seq` spelled out, in words."""
    row = _audit_row(session, seq)
    if row is None:
        return ""
    try:
        detail = json.loads(row.detail)
    except ValueError:
        return ""
    facts = dict(_FACT_COLUMNS.get(table, {}))
    expected: dict[str, Any] = {}
    for key, column in facts.items():
        if key in detail:
            expected[column] = detail[key]
    if table == "config_changes":  # a setting's change records the values, not their digests
        for column in ("before_digest", "after_digest"):
            want = expected.get(column)
            if want is not None and not (isinstance(want, str) and len(want) == 64):
                expected.pop(column)
    if table == "alarm_events" and detail.get("event_id") == values.get("id"):
        expected["user"] = row.user
        expected["kind"] = str(row.action).removeprefix("alarm.")
        event_detail = {k: v for k, v in detail.items() if k != "event_id"}
        expected["detail"] = event_detail or None
    if table == "config_changes":
        expected["user"] = row.user
    if table == "dispatches" and row.action == "alarm.arrive" and "outcome" not in detail:
        expected.pop("outcome", None)
    differences = [
        f"{column} is {values.get(column)!r} where the audit log recorded {want!r}"
        for column, want in expected.items()
        if column in values and values.get(column) != want
    ]
    return "; ".join(differences)


def _cross_check(session: Session, found: _Findings, walk: ChainWalk) -> int:
    checked = 0
    recorded = walk.recorded
    for index, model in enumerate(digests.CROSS_CHECKED):
        table = model.__tablename__
        word = digests.ROW_WORDS[table]
        if table not in walk.covered:
            continue
        for row_id, values in digests.stored_rows(session, model):
            checked += 1
            where = f"{table} id={row_id}"
            entry = recorded.pop(record_key(index, row_id), None)
            if isinstance(values, str):
                found.add(where, "unreadable", f"{word} {row_id} ({table} id={row_id}): {values}")
                continue
            if entry is None:
                found.add(
                    where,
                    "added",
                    f"{word} {row_id} ({table} id={row_id}): no audit row records it (added to "
                    "the table by hand)",
                )
                continue
            digest, seq = recorded_entry(entry)
            if not digests.digest_values(table, values).startswith(digest):
                what = _explain(session, table, values, seq)
                found.add(
                    where,
                    "altered",
                    f"{word} {row_id} ({table} id={row_id}) was altered after audit row seq "
                    f"{seq} recorded it: "
                    + (what or "a column the audit row does not spell out differs"),
                )
    for key, entry in sorted(recorded.items()):
        index, row_id = key >> 48, key & ((1 << 48) - 1)
        _digest, seq = recorded_entry(entry)
        table = digests.TABLE_NAMES[index]
        if table not in walk.covered:
            continue
        found.add(
            f"{table} id={row_id}",
            "removed",
            f"{digests.ROW_WORDS[table]} {row_id} ({table} id={row_id}) is gone: audit row seq "
            f"{seq} recorded it (deleted from the table)",
        )
    return checked


def _check_files(session: Session, found: _Findings, files: StoreFiles) -> int:
    """Every snapshot and kept clip not purged: its file is there with its SHA-256; every purged
    one: its file is gone; every walk test's evidence frame is there with its SHA-256."""
    snapshots = session.execute(
        select(Snapshot.id, Snapshot.path, Snapshot.sha256, Snapshot.purged_at)
        .order_by(Snapshot.id)
        .execution_options(yield_per=2000)
    )
    clips = session.execute(
        select(Clip.id, Clip.path, Clip.sha256, Clip.purged_at)
        .where(Clip.state == ClipState.KEPT)
        .order_by(Clip.id)
        .execution_options(yield_per=2000)
    )
    return (
        _check_kind(found, files, "snapshot", "snapshots", snapshots)
        + _check_kind(found, files, "clip", "clips", clips)
        + _check_walk_test_frames(session, found, files)
    )


def _check_kind(
    found: _Findings, files: StoreFiles, word: str, table: str, rows: Iterable[Any]
) -> int:
    checked = 0
    for row in rows:
        try:
            path = files.path(row.path)
        except ValueError as exc:
            found.add(f"{table} id={row.id}", "altered", f"{word} {row.id}: {exc}")
            continue
        where = f"{word} file {row.path}"
        if row.purged_at is not None:
            if path.exists():
                found.add(
                    where,
                    "not purged",
                    f"{word} {row.id} ({path}) was purged by retention but its file is still there",
                    group=f"{word} file",
                )
            continue
        checked += 1
        sha = _sha256_of(path)
        if sha is None:
            found.add(
                where,
                "missing",
                f"{word} {row.id} ({path}): the file is missing (deleted; it was not purged)",
                group=f"{word} file",
            )
        elif sha != row.sha256:
            found.add(
                where,
                "replaced",
                f"{word} {row.id} ({path}): the file was replaced or altered (its SHA-256 is "
                f"{sha[:16]}…, the record says {row.sha256[:16]}…)",
                group=f"{word} file",
            )
    return checked


def _check_walk_test_frames(session: Session, found: _Findings, files: StoreFiles) -> int:
    """Each walk test's evidence frame against its recorded SHA-256 (they are never purged)."""
    checked = 0
    rows = session.execute(
        select(
            WalkTestResult.id,
            WalkTestResult.walk_test_id,
            WalkTestResult.evidence_path,
            WalkTestResult.evidence_sha256,
        )
        .where(WalkTestResult.evidence_path.is_not(None))
        .order_by(WalkTestResult.id)
        .execution_options(yield_per=2000)
    )
    for row in rows:
        what = f"walk test {row.walk_test_id}'s evidence frame (walk_test_results id={row.id})"
        try:
            path = files.path(row.evidence_path)
        except ValueError as exc:
            found.add(f"walk_test_results id={row.id}", "altered", f"{what}: {exc}")
            continue
        checked += 1
        sha = _sha256_of(path)
        where = f"walk test file {row.evidence_path}"
        if sha is None:
            found.add(
                where, "missing", f"{what} {path}: the file is missing", group="walk test file"
            )
        elif sha != row.evidence_sha256:
            found.add(
                where,
                "replaced",
                f"{what} {path}: the file was replaced or altered (its SHA-256 is {sha[:16]}…, "
                f"the record says {str(row.evidence_sha256)[:16]}…)",
                group="walk test file",
            )
    return checked


def _sha256_of(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except (FileNotFoundError, IsADirectoryError):
        return None
    return digest.hexdigest()


def describe(report: IntegrityReport) -> list[str]:
    """The report in lines, as `nightwatch audit verify` prints it."""
    lines: list[str] = []
    if report.ok:
        lines.append(
            f"ok: {report.rows_checked} audit rows (keyed from seq {report.keyed_from}), "
            f"{report.rows_cross_checked} table rows cross-checked, {report.files_checked} "
            f"files (snapshots, clips, walk test frames), {report.signed_heads} signed heads "
            f"(newest at seq {report.newest_signed_seq}); head seq {report.head_seq} "
            f"{report.head_hash}"
        )
    else:
        first = report.first
        assert first is not None or report.not_listed
        total = len(report.findings) + report.not_listed
        lines.append(f"FAILED: {total} problem(s); the first: {first}")
        lines.extend(f"  [{f.kind}] {f.message}" for f in report.findings)
        if report.not_listed:
            lines.append(f"  … and {report.not_listed} more not listed")
        lines.append(
            f"checked {report.rows_checked} audit rows, {report.rows_cross_checked} table rows, "
            f"{report.files_checked} files, {report.signed_heads} signed heads"
        )
    lines.extend(f"note: {w}" for w in report.warnings)
    return lines


__all__ = ["Finding", "IntegrityReport", "describe", "verify_store"]
