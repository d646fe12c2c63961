"""The hash-chained audit log: appending a row (inside any task's transaction), the `AppendAudit`
task, reading rows, and verifying the chain.

Row *n* stores `row_hash = SHA-256(prev_hash ‖ canonical(n))`, where `prev_hash` is row *n−1*'s
`row_hash` (64 zeros for row 1) and `canonical(n)` is sorted-key compact JSON of
`seq, at, user, action, target, detail`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import String, select, text, type_coerce
from sqlalchemy.orm import Session

from console.store.models import AuditRecord
from console.store.tasks import StoreFiles, aware, canonical_json, frozen_detail, iso, set_field

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    seq: int
    at: datetime
    user: str
    action: str
    target: str | None
    detail: dict[str, Any]
    prev_hash: str
    row_hash: str


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of `verify_chain`: `ok`, or the first bad row and why."""

    ok: bool
    rows_checked: int
    head_seq: int
    head_hash: str
    first_bad_id: int | None = None
    first_bad_seq: int | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok


# --------------------------------------------------------------------------- hashing


def audit_content(
    seq: int, at: datetime, user: str, action: str, target: str | None, detail_json: str
) -> bytes:
    """The canonical bytes of one audit row (everything but its hashes)."""
    fields = {
        "seq": seq,
        "at": iso(at),
        "user": user,
        "action": action,
        "target": target,
        "detail": detail_json,
    }
    return canonical_json(fields).encode("utf-8")


def chain_hash(prev_hash: str, content: bytes) -> str:
    """SHA-256 (hex) of the previous row's hash followed by this row's canonical content."""
    return hashlib.sha256(prev_hash.encode("ascii") + content).hexdigest()


# --------------------------------------------------------------------------- writing


def append(
    session: Session,
    user: str,
    action: str,
    target: str | None,
    detail: Mapping[str, Any] | None,
    at: datetime,
) -> AuditRecord:
    """Append one row inside the caller's transaction (every task that changes the record calls
    this, so the audit log is complete)."""
    if session.get_bind().dialect.name == "postgresql":
        # Several consoles may share the database: one appender at a time.
        session.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    last = session.execute(
        select(AuditRecord.seq, AuditRecord.row_hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS_HASH) if last is None else (last.seq + 1, last.row_hash)
    detail_json = canonical_json(dict(detail or {}))
    row = AuditRecord(
        seq=seq,
        at=at,
        user=user,
        action=action,
        target=target,
        detail=detail_json,
        prev_hash=prev,
        row_hash=chain_hash(prev, audit_content(seq, at, user, action, target, detail_json)),
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class AppendAudit:
    """A row of its own in the audit log (a login, a view, an export):
    `AppendAudit("ana", "export.pdf", "alarm:7", {"rows": 3})`. Returns the `AuditEntry`."""

    name: ClassVar[str] = "audit.append"

    user: str
    action: str
    target: str | None = None
    detail: Mapping[str, Any] | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "detail", frozen_detail(self.detail))  # TypeError here, in the caller
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> AuditEntry:
        assert self.at is not None
        row = append(session, self.user, self.action, self.target, self.detail, self.at)
        return audit_entry(row)


# --------------------------------------------------------------------------- reading


def audit_entry(r: AuditRecord) -> AuditEntry:
    return AuditEntry(
        id=r.id,
        seq=r.seq,
        at=r.at,
        user=r.user,
        action=r.action,
        target=r.target,
        detail=json.loads(r.detail),
        prev_hash=r.prev_hash,
        row_hash=r.row_hash,
    )


def audit_entries(
    session: Session, *, since: datetime | None = None, limit: int | None = None
) -> list[AuditEntry]:
    query = select(AuditRecord).order_by(AuditRecord.seq)
    if since is not None:
        query = query.where(AuditRecord.at >= aware(since, "since"))
    if limit is not None:
        query = query.limit(limit)
    return [audit_entry(r) for r in session.scalars(query)]


def verify_chain(session: Session, *, expected_head: str | None = None) -> AuditVerification:
    """Re-hash the whole audit log. Finds an edited row (its hash no longer matches), a removed
    row (a gap in `seq`, or a `prev_hash` that no longer links), and, given the head hash an
    auditor noted earlier (`head_hash` of an earlier result), rows cut from the end."""
    cols = (
        AuditRecord.id,
        AuditRecord.seq,
        type_coerce(AuditRecord.at, String).label("at"),  # raw: a mangled time is a finding
        AuditRecord.user,
        AuditRecord.action,
        AuditRecord.target,
        AuditRecord.detail,
        AuditRecord.prev_hash,
        AuditRecord.row_hash,
    )
    prev, expected_seq, checked = GENESIS_HASH, 1, 0
    head_seen = expected_head is None or expected_head == GENESIS_HASH

    def bad(row: Any, reason: str) -> AuditVerification:
        return AuditVerification(
            ok=False,
            rows_checked=checked,
            head_seq=expected_seq - 1,
            head_hash=prev,
            first_bad_id=row.id,
            first_bad_seq=row.seq,
            reason=f"audit row id={row.id} seq={row.seq}: {reason}",
        )

    rows = session.execute(
        select(*cols).order_by(AuditRecord.seq).execution_options(yield_per=1000)
    )
    for row in rows:
        if row.seq != expected_seq:
            missing = (
                f"seq {expected_seq}"
                if row.seq == expected_seq + 1
                else f"seq {expected_seq}..{row.seq - 1}"
            )
            return bad(row, f"row(s) {missing} missing before it (removed)")
        if row.prev_hash != prev:
            return bad(row, "prev_hash does not link to the previous row (altered)")
        try:
            at = _parse_time(row.at)
            content = audit_content(row.seq, at, row.user, row.action, row.target, row.detail)
        except (TypeError, ValueError) as exc:
            return bad(row, f"unreadable content ({exc})")
        if chain_hash(prev, content) != row.row_hash:
            return bad(row, "content does not match its hash (altered)")
        prev, expected_seq, checked = row.row_hash, expected_seq + 1, checked + 1
        head_seen = head_seen or row.row_hash == expected_head
    if not head_seen:
        return AuditVerification(
            ok=False,
            rows_checked=checked,
            head_seq=expected_seq - 1,
            head_hash=prev,
            reason=(
                f"the noted head {expected_head} is no longer in the log, which ends at "
                f"seq {expected_seq - 1} (rows removed from the end, or the log rewritten)"
            ),
        )
    return AuditVerification(
        ok=True, rows_checked=checked, head_seq=expected_seq - 1, head_hash=prev
    )


def _parse_time(raw: object) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        value = datetime.fromisoformat(raw)
    else:
        raise TypeError(f"time stored as {type(raw).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
