"""The keyed, hash-chained audit log: appending a row (inside any task's transaction), the
`AppendAudit` task, keying the chain, reading rows, and walking the chain to verify it.

From the chain's `audit.keyed` row on, row *n* stores

    payload_hash = SHA-256(detail ‖ "\\n" ‖ row_digests)
    row_hash     = HMAC-SHA-256(audit key, prev_hash ‖ canonical(n))

where `canonical(n)` is sorted-key compact JSON of `v, seq, at, user, action, target, payload`
and `row_digests` maps each table row the step wrote (`"alarms:7"`) to its digest
(`console.store.digests`). Rows written before the console had keys are plain
`SHA-256(prev_hash ‖ canonical_v1(n))` over `seq, at, user, action, target, detail`; the
`audit.keyed` row, the first keyed one, links to the last of them, so its keyed hash covers
the whole plain part, which cannot be rebuilt afterwards without breaking it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import String, func, insert, select, text, type_coerce
from sqlalchemy.orm import Session

from console.store import digests
from console.store.errors import StoreError
from console.store.keys import AuditKeys
from console.store.models import AuditRecord, Base
from console.store.tasks import (
    SYSTEM_USER,
    StoreFiles,
    aware,
    canonical_json,
    frozen_detail,
    iso,
    set_field,
)

GENESIS_HASH = "0" * 64
KEYED_ACTION = "audit.keyed"
BASELINE_ACTION = "audit.baseline"
COVER_ACTION = "audit.cover"  # the chain vouches for more tables from here on
BASELINE_CHUNK = 500  # row digests per `audit.baseline` row
CHAIN_FORMAT = 2

# what a store puts into each Session's `info`
INFO_KEYS = "nightwatch.audit_keys"
INFO_CHAIN = "nightwatch.audit_chain"
# (seq, row_hash) of the chain's head as this session's transaction knows it: read from the
# table at its first append, then each row it appends (the writer puts it back when a task's
# savepoint is rolled back)
INFO_HEAD = "nightwatch.audit_head"


class AuditKeyMismatchError(StoreError):
    """The database's chain was keyed with another key than the one given."""


@dataclass
class ChainState:
    """What a store's writer knows of its chain: its id and where keying began (set at open)."""

    keys: AuditKeys
    chain_id: str | None = None
    keyed_from: int | None = None


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
    payload_hash: str | None = None
    row_digests: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One thing wrong with the chain: the row (None: the chain as a whole), its kind (`removed`,
    `reordered`, `altered`, `rebuilt`, `unkeyed`, `unreadable`, `empty`, `no key`), in words."""

    seq: int | None
    row_id: int | None
    kind: str
    message: str


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
    problems: tuple[ChainProblem, ...] = ()
    keyed_from: int | None = None
    chain_id: str | None = None

    def __bool__(self) -> bool:
        return self.ok


# --------------------------------------------------------------------------- hashing


def audit_content(
    seq: int, at: datetime, user: str, action: str, target: str | None, detail_json: str
) -> bytes:
    """The canonical bytes of a plain (unkeyed, older) row: everything but its hashes."""
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
    """SHA-256 (hex) of the previous row's hash followed by a plain row's canonical content."""
    return hashlib.sha256(prev_hash.encode("ascii") + content).hexdigest()


def payload_hash(detail_json: str, row_digests_json: str | None) -> str:
    """SHA-256 over a row's detail and the digests of the rows its step wrote."""
    data = detail_json.encode("utf-8") + b"\n" + (row_digests_json or "").encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def keyed_content(
    seq: int, at: datetime, user: str, action: str, target: str | None, payload: str
) -> bytes:
    """The canonical bytes of a keyed row: everything but its hashes, the payload by its hash."""
    fields = {
        "v": CHAIN_FORMAT,
        "seq": seq,
        "at": iso(at),
        "user": user,
        "action": action,
        "target": target,
        "payload": payload,
    }
    return canonical_json(fields).encode("utf-8")


def keyed_hash(keys: AuditKeys, prev_hash: str, content: bytes) -> str:
    return keys.mac(prev_hash.encode("ascii") + content)


# --------------------------------------------------------------------------- writing


_INSERT_ROW = insert(AuditRecord)  # made once: the statement is the same for every row


def _writing_chain(session: Session) -> ChainState:
    chain = session.info.get(INFO_CHAIN)
    if not isinstance(chain, ChainState):
        raise StoreError(
            "no audit key in this session: audit rows are written by the store's writer"
        )
    return chain


def append(
    session: Session,
    user: str,
    action: str,
    target: str | None,
    detail: Mapping[str, Any] | None,
    at: datetime,
    rows: Iterable[Base] = (),
) -> AuditEntry:
    """Append one row inside the caller's transaction (every task that changes the record calls
    this, so the audit log is complete). `rows`: the table rows the step wrote, as they are now;
    their digests go into the row so that verify can check them later. The chain's head is read
    from the table once per transaction (`INFO_HEAD` after that): a group of tasks in one
    transaction spares a query per row (bench/store_writes.py)."""
    chain = _writing_chain(session)
    if chain.keyed_from is None and action != KEYED_ACTION:
        raise StoreError("the audit chain is not keyed yet (the store keys it when it opens)")
    if session.get_bind().dialect.name == "postgresql":
        # Several consoles may share the database: one appender at a time.
        session.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    written = list(rows)
    if written:
        session.flush()  # ids, defaults and every change are in the rows before they are hashed
    head = session.info.get(INFO_HEAD)
    if head is None:
        last = session.execute(
            select(AuditRecord.seq, AuditRecord.row_hash).order_by(AuditRecord.seq.desc()).limit(1)
        ).first()
        head = (0, GENESIS_HASH) if last is None else (last.seq, last.row_hash)
    seq, prev = head[0] + 1, head[1]
    detail_json = canonical_json(dict(detail or {}))
    row_digests = digests.digests_of(written)
    digests_json = canonical_json(row_digests) if row_digests else None
    payload = payload_hash(detail_json, digests_json)
    content = keyed_content(seq, at, user, action, target, payload)
    values: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "user": user,
        "action": action,
        "target": target,
        "detail": detail_json,
        "prev_hash": prev,
        "row_hash": keyed_hash(chain.keys, prev, content),
        "payload_hash": payload,
        "row_digests": digests_json,
    }
    # A plain INSERT on the transaction's connection: the row is never changed, so the ORM's
    # unit of work (a flush of its own per row) would only cost time (bench/store_writes.py).
    key = session.connection().execute(_INSERT_ROW, values).inserted_primary_key
    assert key is not None  # an INSERT of one row always has one
    session.info[INFO_HEAD] = (seq, values["row_hash"])
    return AuditEntry(
        id=key[0],
        seq=seq,
        at=at,
        user=user,
        action=action,
        target=target,
        detail=json.loads(detail_json),
        prev_hash=prev,
        row_hash=values["row_hash"],
        payload_hash=payload,
        row_digests=row_digests,
    )


def key_chain(session: Session, at: datetime) -> None:
    """Learn the chain's id and where keying began; key it if it is not yet (a database from
    before keys, or a new one): the `audit.keyed` row, whose keyed hash covers the plain rows
    before it, then `audit.baseline` rows with the digests of every row already in the
    cross-checked tables. A chain keyed with another key is refused: its rows could not be
    continued."""
    chain = _writing_chain(session)
    marker = session.execute(
        select(AuditRecord.seq, AuditRecord.detail)
        .where(AuditRecord.action == KEYED_ACTION)
        .order_by(AuditRecord.seq)
        .limit(1)
    ).first()
    if marker is not None:
        facts = json.loads(marker.detail)
        if facts.get("key_id") != chain.keys.key_id:
            raise AuditKeyMismatchError(
                f"the audit log was keyed (row seq {marker.seq}) with audit key "
                f"{facts.get('key_id')}, but {chain.keys.folder}/audit.key is key "
                f"{chain.keys.key_id}: restore the console's own key folder (or point "
                "NIGHTWATCH_KEYS_DIR at it); rows written with another key would break the chain"
            )
        chain.chain_id = str(facts["chain_id"])
        chain.keyed_from = int(marker.seq)
        _cover_new_tables(session, facts, at)
        return
    last = session.execute(
        select(AuditRecord.seq, AuditRecord.row_hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    plain_rows, plain_head = (0, GENESIS_HASH) if last is None else (last.seq, last.row_hash)
    chain.chain_id = uuid.uuid4().hex
    chain.keyed_from = plain_rows + 1
    try:
        facts = {
            "chain_id": chain.chain_id,
            "key_id": chain.keys.key_id,
            "public_key": chain.keys.fingerprint,
            "unkeyed_rows": plain_rows,
            "unkeyed_head": plain_head,
            "tables": list(digests.TABLE_NAMES),
        }
        append(session, SYSTEM_USER, KEYED_ACTION, "audit_log", facts, at)
        for model in digests.CROSS_CHECKED:
            _baseline(session, model, at)
    except BaseException:
        chain.chain_id = None
        chain.keyed_from = None
        raise


def covered_tables(keyed_facts: Mapping[str, Any]) -> set[str]:
    """The tables a chain vouched for from its `audit.keyed` row (before `audit.cover` rows)."""
    tables = keyed_facts.get("tables")
    if isinstance(tables, list):
        return {str(t) for t in tables}
    return set(digests.FIRST_TABLES)


def _cover_new_tables(session: Session, keyed_facts: Mapping[str, Any], at: datetime) -> None:
    """A chain keyed by an earlier release vouches for fewer tables: cover the others now, with
    an `audit.cover` row naming them and the baseline of their rows."""
    covered = covered_tables(keyed_facts)
    for (detail,) in session.execute(
        select(AuditRecord.detail).where(AuditRecord.action == COVER_ACTION)
    ):
        covered |= {str(t) for t in json.loads(detail).get("tables", [])}
    new = [m for m in digests.CROSS_CHECKED if m.__tablename__ not in covered]
    if not new:
        return
    facts = {
        "tables": [m.__tablename__ for m in new],
        "note": "cross-checked from here on; the rows already there follow as a baseline",
    }
    append(session, SYSTEM_USER, COVER_ACTION, "audit_log", facts, at)
    for model in new:
        _baseline(session, model, at)


def _baseline(session: Session, model: type[Base], at: datetime) -> None:
    table = model.__tablename__
    total = session.scalar(select(func.count()).select_from(model)) or 0
    done = 0
    while done < total:
        chunk = list(
            session.scalars(
                select(model).order_by(model.id).offset(done).limit(BASELINE_CHUNK)  # type: ignore[attr-defined]
            )
        )
        if not chunk:
            break
        done += len(chunk)
        facts = {"table": table, "rows": len(chunk), "note": "stored before the chain was keyed"}
        append(session, SYSTEM_USER, BASELINE_ACTION, table, facts, at, rows=chunk)


@dataclass(frozen=True, slots=True)
class OpenStore:
    """The store's first write at open: key the chain if needed, then the row `store.open`
    (proving the database can be written)."""

    name: ClassVar[str] = "store.open"

    detail: Mapping[str, Any]
    target: str

    def run(self, session: Session, files: StoreFiles) -> AuditEntry:
        at = aware(None)
        key_chain(session, at)
        return append(session, SYSTEM_USER, "store.open", self.target, self.detail, at)


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
        return append(session, self.user, self.action, self.target, self.detail, self.at)


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
        payload_hash=r.payload_hash,
        row_digests=digests.parse_digests(r.row_digests),
    )


def audit_entries(
    session: Session,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    query = select(AuditRecord).order_by(AuditRecord.seq)
    if since is not None:
        query = query.where(AuditRecord.at >= aware(since, "since"))
    if action is not None:
        query = query.where(AuditRecord.action == action)
    if limit is not None:
        query = query.limit(limit)
    return [audit_entry(r) for r in session.scalars(query)]


def chain_head(session: Session) -> tuple[int, str]:
    """(seq, row_hash) of the newest row; (0, 64 zeros) for an empty log."""
    last = session.execute(
        select(AuditRecord.seq, AuditRecord.row_hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if last is None else (int(last.seq), str(last.row_hash))


def chain_identity(session: Session) -> tuple[str | None, int | None]:
    """(chain id, seq of `audit.keyed`) as the chain says; (None, None) before keying."""
    marker = session.execute(
        select(AuditRecord.seq, AuditRecord.detail)
        .where(AuditRecord.action == KEYED_ACTION)
        .order_by(AuditRecord.seq)
        .limit(1)
    ).first()
    if marker is None:
        return None, None
    try:
        return str(json.loads(marker.detail)["chain_id"]), int(marker.seq)
    except (ValueError, KeyError, TypeError):
        return None, int(marker.seq)


# --------------------------------------------------------------------------- verifying

MAX_PROBLEMS = 1000  # kept in full; the rest are counted


def raw_rows(session: Session) -> Any:
    """Every audit row, raw (a mangled time is a finding, not a crash), in seq order."""
    cols = (
        AuditRecord.id,
        AuditRecord.seq,
        type_coerce(AuditRecord.at, String).label("at"),
        AuditRecord.user,
        AuditRecord.action,
        AuditRecord.target,
        AuditRecord.detail,
        AuditRecord.prev_hash,
        AuditRecord.row_hash,
        AuditRecord.payload_hash,
        AuditRecord.row_digests,
    )
    return session.execute(
        select(*cols).order_by(AuditRecord.seq).execution_options(yield_per=2000)
    )


class ChainWalk:
    """Walks the audit rows in seq order and checks each: its place (no gap, linked to the row
    before), its payload hash, its keyed hash (plain SHA-256 before `audit.keyed`). A bad row is
    noted and the walk goes on from it, so one edited row is one problem, not all that follow.

    With `collect_digests`, the newest digest the chain recorded for each cross-checked table row
    is kept (for `console.store.integrity`); `want_hashes` keeps the row hash at those seqs (the
    signed heads')."""

    def __init__(
        self,
        keys: AuditKeys | None,
        *,
        collect_digests: bool = False,
        want_hashes: frozenset[int] = frozenset(),
    ) -> None:
        self.keys = keys
        self.collect_digests = collect_digests
        self.want_hashes = want_hashes
        self.problems: list[ChainProblem] = []
        self.more_problems = 0
        self.rows_checked = 0
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH  # the stored hash of the row before
        self.keyed_from: int | None = None
        self.chain_id: str | None = None
        self.recorded_key_id: str | None = None
        self.unchecked_keyed = 0  # keyed rows met without a key to check them
        self.hashes: dict[int, str] = {}
        # record_key(table index, row id) -> 16 bytes of the digest + the seq of the audit row
        # that recorded it (8 bytes): compact, since a large log holds millions of rows
        self.recorded: dict[int, bytes] = {}
        self._table_index = {name: i for i, name in enumerate(digests.TABLE_NAMES)}
        # the tables the chain vouches for (its audit.keyed row, then audit.cover rows)
        self.covered: set[str] = set()

    # -- noting

    def _problem(self, row: Any, kind: str, what: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.more_problems += 1
            return
        where = f"audit row seq {row.seq} (id {row.id}, {row.action} by {row.user})"
        self.problems.append(ChainProblem(row.seq, row.id, kind, f"{where}: {what}"))

    def _whole(self, kind: str, what: str) -> None:
        self.problems.append(ChainProblem(None, None, kind, what))

    # -- walking

    def feed(self, row: Any) -> None:
        if row.seq != self.expected_seq:
            if row.seq > self.expected_seq:
                gap = (
                    f"seq {self.expected_seq}"
                    if row.seq == self.expected_seq + 1
                    else f"seq {self.expected_seq}..{row.seq - 1}"
                )
                self._problem(row, "removed", f"row(s) {gap} missing before it (removed)")
        elif row.prev_hash != self.prev_hash:
            self._problem(
                row,
                "reordered",
                "does not link to the row before it (rows reordered or replaced, or the row "
                "before it rewritten)",
            )
        self._check_content(row)
        if row.seq in self.want_hashes:
            self.hashes[row.seq] = row.row_hash
        self.prev_hash = row.row_hash
        self.expected_seq = row.seq + 1
        self.rows_checked += 1

    def _check_content(self, row: Any) -> None:
        try:
            at = digests._parse_time(row.at)
        except (TypeError, ValueError) as exc:
            self._problem(row, "unreadable", f"unreadable time {row.at!r} ({exc}) (altered)")
            return
        marker = self.keyed_from is None and row.action == KEYED_ACTION
        if self.keyed_from is None and not marker:
            # a plain row, from before the console had keys
            try:
                content = audit_content(row.seq, at, row.user, row.action, row.target, row.detail)
            except (TypeError, ValueError) as exc:
                self._problem(row, "unreadable", f"unreadable content ({exc}) (altered)")
                return
            if chain_hash(row.prev_hash, content) != row.row_hash:
                self._problem(row, "altered", "content does not match its hash (altered)")
            return
        if marker:
            self.keyed_from = row.seq
            try:
                facts = json.loads(row.detail)
                self.chain_id = str(facts.get("chain_id"))
                self.recorded_key_id = facts.get("key_id")
                self.covered = covered_tables(facts)
            except (ValueError, AttributeError):
                self._problem(row, "unreadable", "the audit.keyed row's detail is not JSON")
        if row.payload_hash is None:
            self._problem(
                row,
                "rebuilt",
                "a plain row after the chain was keyed (the chain was rebuilt without the key)",
            )
            return
        if payload_hash(row.detail, row.row_digests) != row.payload_hash:
            self._problem(
                row,
                "altered",
                "its detail or row digests do not match its payload hash (payload altered)",
            )
            return
        if self.keys is None:
            self.unchecked_keyed += 1
        else:
            content = keyed_content(row.seq, at, row.user, row.action, row.target, row.payload_hash)
            if keyed_hash(self.keys, row.prev_hash, content) != row.row_hash:
                if marker and self.recorded_key_id not in (None, self.keys.key_id):
                    self._problem(
                        row,
                        "wrong key",
                        f"keyed with audit key {self.recorded_key_id}, not with the key given "
                        f"({self.keys.key_id}): is this the console's key folder?",
                    )
                else:
                    self._problem(
                        row,
                        "altered",
                        "its keyed hash (HMAC) does not match: the row was altered, or the "
                        "chain rebuilt without the key",
                    )
                return
        if row.action == COVER_ACTION:
            try:
                self.covered |= {str(t) for t in json.loads(row.detail).get("tables", [])}
            except (ValueError, AttributeError):
                self._problem(row, "unreadable", "the audit.cover row's detail is not JSON")
        if self.collect_digests and row.row_digests:
            self._collect(row)

    def _collect(self, row: Any) -> None:
        try:
            recorded = digests.parse_digests(row.row_digests)
        except ValueError:
            self._problem(row, "unreadable", "its row digests are not readable")
            return
        for key, digest in recorded.items():
            table, _, number = key.partition(":")
            index = self._table_index.get(table)
            if index is None or not number.isdigit():
                continue
            self.recorded[record_key(index, int(number))] = bytes.fromhex(digest[:32]) + int(
                row.seq
            ).to_bytes(8, "big")

    def finish(self) -> None:
        if self.rows_checked == 0:
            self._whole("empty", "the audit log is empty (every row removed?)")
        elif self.keys is not None and self.keyed_from is None:
            self._whole(
                "unkeyed",
                "the chain is not keyed (no audit.keyed row): every row is plain SHA-256, which "
                "anyone who can write the database can rebuild; open it once with the console to "
                "key it",
            )
        if self.unchecked_keyed:
            self._whole(
                "no key",
                f"{self.unchecked_keyed} keyed row(s) not checked: no audit key given",
            )

    @property
    def head_seq(self) -> int:
        return self.expected_seq - 1


def record_key(table_index: int, row_id: int) -> int:
    return (table_index << 48) | row_id


def recorded_entry(entry: bytes) -> tuple[str, int]:
    """(the first 32 hex digits of the digest, the seq of the audit row that recorded it)."""
    return entry[:16].hex(), int.from_bytes(entry[16:], "big")


def walk_chain(
    session: Session,
    keys: AuditKeys | None,
    *,
    collect_digests: bool = False,
    want_hashes: frozenset[int] = frozenset(),
) -> ChainWalk:
    walk = ChainWalk(keys, collect_digests=collect_digests, want_hashes=want_hashes)
    for row in raw_rows(session):
        walk.feed(row)
    walk.finish()
    return walk


def verify_chain(session: Session, *, expected_head: str | None = None) -> AuditVerification:
    """Re-hash the whole audit log with the store's audit key (`store.read(verify_chain)`).
    Finds an edited row (its hash no longer matches), a removed row (a gap in `seq`, or a
    `prev_hash` that no longer links), rows rebuilt without the key, and, given a head hash an
    auditor noted earlier, rows cut from the end (the console's signed heads catch that too: see
    `console.store.integrity`)."""
    keys = session.info.get(INFO_KEYS)
    walk = ChainWalk(keys if isinstance(keys, AuditKeys) else None)
    head_seen = expected_head is None or expected_head == GENESIS_HASH
    for row in raw_rows(session):
        walk.feed(row)
        head_seen = head_seen or row.row_hash == expected_head
    walk.finish()
    problems = list(walk.problems)
    if not head_seen:
        problems.append(
            ChainProblem(
                None,
                None,
                "truncated",
                f"the noted head {expected_head} is no longer in the log, which ends at seq "
                f"{walk.head_seq} (rows removed from the end, or the log rewritten)",
            )
        )
    first = problems[0] if problems else None
    return AuditVerification(
        ok=first is None,
        rows_checked=walk.rows_checked,
        head_seq=walk.head_seq,
        head_hash=walk.prev_hash,
        first_bad_id=first.row_id if first else None,
        first_bad_seq=first.seq if first else None,
        reason=first.message if first else None,
        problems=tuple(problems),
        keyed_from=walk.keyed_from,
        chain_id=walk.chain_id,
    )


def _parse_time(raw: object) -> datetime:
    """Kept for callers of the older name."""
    return digests._parse_time(raw)


__all__ = [
    "BASELINE_ACTION",
    "GENESIS_HASH",
    "KEYED_ACTION",
    "UTC",
    "AppendAudit",
    "AuditEntry",
    "AuditKeyMismatchError",
    "AuditVerification",
    "ChainProblem",
    "ChainState",
    "ChainWalk",
    "OpenStore",
    "append",
    "audit_entries",
    "audit_entry",
    "chain_head",
    "chain_identity",
    "key_chain",
    "verify_chain",
    "walk_chain",
]
