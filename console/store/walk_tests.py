"""Walk tests in the store: a session's row when it starts, its results (with the evidence
frames, written to the file area and hashed) when it ends, and the queries that read them back.

    store.write(StartWalkTest(user, site_name, subjects, ...)) -> walk test id
    store.write(FinishWalkTest(walk_test_id, results, ...))    -> WalkTestRecord
    store.read(get_walk_test, walk_test_id)                    -> WalkTestRecord
    store.read(list_walk_tests)                                -> list[WalkTestRecord] (no results)

Evidence frames live in the store's file area at `walk-tests/<id>/<kind>-<subject>.jpg`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.errors import AlarmNotFoundError
from console.store.models import WalkTest, WalkTestResult
from console.store.tasks import StoreFiles, aware, set_field

__all__ = [
    "FinishWalkTest",
    "StartWalkTest",
    "WalkTestRecord",
    "WalkTestResultRecord",
    "WalkTestResultRow",
    "get_walk_test",
    "list_walk_tests",
]

STATUSES = ("running", "finished", "cancelled")


@dataclass(frozen=True, slots=True)
class WalkTestResultRow:
    """One result to store (the evidence as JPEG bytes, written with it)."""

    subject_kind: str  # object | zone
    subject_id: str
    subject_name: str
    passed: bool
    reason: str
    camera_id: str | None = None
    at: datetime | None = None
    distance_m: float | None = None
    track_id: int | None = None
    rule_would_fire: bool | None = None
    evidence_jpeg: bytes | None = None


@dataclass(frozen=True, slots=True)
class WalkTestResultRecord:
    subject_kind: str
    subject_id: str
    subject_name: str
    passed: bool
    reason: str
    camera_id: str | None
    at: datetime | None
    distance_m: float | None
    track_id: int | None
    rule_would_fire: bool | None
    evidence_path: str | None  # relative to the store's file area (Store.files.path(...))
    evidence_sha256: str | None


@dataclass(frozen=True, slots=True)
class WalkTestRecord:
    id: int
    started_at: datetime
    ended_at: datetime | None
    user: str
    site_name: str
    site_digest: str | None
    status: str
    note: str | None
    subjects: tuple[tuple[str, str, str], ...]  # (kind, id, name)
    results: tuple[WalkTestResultRecord, ...] = ()

    @property
    def passed(self) -> bool:
        """Every object and zone tested passed."""
        return (
            self.status == "finished" and bool(self.results) and all(r.passed for r in self.results)
        )


@dataclass(frozen=True, slots=True)
class StartWalkTest:
    """A walk test begins; returns its id. Audited as `walk_test.start`."""

    name: ClassVar[str] = "walk_test.start"

    user: str
    site_name: str
    subjects: tuple[tuple[str, str, str], ...]
    site_digest: str | None = None
    note: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        set_field(self, "subjects", tuple(tuple(str(v) for v in s) for s in self.subjects))

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        row = WalkTest(
            started_at=self.at,
            user=self.user,
            site_name=self.site_name[:255],
            site_digest=self.site_digest,
            status="running",
            note=self.note,
            subjects=json.dumps([list(s) for s in self.subjects]),
        )
        session.add(row)
        session.flush()
        facts = {"walk_test_id": row.id, "subjects": [f"{k}:{i}" for k, i, _ in self.subjects]}
        audit.append(session, self.user, "walk_test.start", f"walk_test:{row.id}", facts, self.at)
        return row.id


def _evidence_name(kind: str, subject_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in subject_id)
    return f"{kind}-{safe}.jpg"


@dataclass(frozen=True, slots=True)
class FinishWalkTest:
    """A walk test ends (finished or cancelled) with one result per object and zone; the
    evidence frames are written (fsynced) before the rows. Audited as `walk_test.finish` with
    the counts. Returns the `WalkTestRecord`."""

    name: ClassVar[str] = "walk_test.finish"

    walk_test_id: int
    results: tuple[WalkTestResultRow, ...]
    user: str
    status: str = "finished"
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES[1:]:
            raise ValueError(f"a walk test ends finished or cancelled (got {self.status!r})")
        set_field(self, "at", aware(self.at, "at"))
        set_field(self, "results", tuple(self.results))
        for result in self.results:
            if result.at is not None:
                aware(result.at, "result time")
            jpeg = result.evidence_jpeg
            if jpeg is not None and not bytes(jpeg[:2]) == b"\xff\xd8":
                raise ValueError(f"evidence of {result.subject_id}: not a JPEG image")

    def run(self, session: Session, files: StoreFiles) -> WalkTestRecord:
        assert self.at is not None
        test = session.get(WalkTest, self.walk_test_id)
        if test is None:
            raise AlarmNotFoundError(f"no walk test {self.walk_test_id}")
        for result in self.results:
            path = sha = None
            if result.evidence_jpeg is not None:
                path = f"walk-tests/{test.id}/" + _evidence_name(
                    result.subject_kind, result.subject_id
                )
                files.write_file(path, result.evidence_jpeg)
                sha = hashlib.sha256(result.evidence_jpeg).hexdigest()
            session.add(
                WalkTestResult(
                    walk_test_id=test.id,
                    subject_kind=result.subject_kind,
                    subject_id=result.subject_id,
                    subject_name=result.subject_name[:255],
                    passed=result.passed,
                    reason=result.reason,
                    camera_id=result.camera_id,
                    at=result.at,
                    distance_m=result.distance_m,
                    track_id=result.track_id,
                    rule_would_fire=result.rule_would_fire,
                    evidence_path=path,
                    evidence_sha256=sha,
                )
            )
        test.status = self.status
        test.ended_at = self.at
        session.flush()
        passed = sum(1 for r in self.results if r.passed)
        facts = {
            "walk_test_id": test.id,
            "status": self.status,
            "passed": passed,
            "failed": len(self.results) - passed,
            "failed_subjects": [
                f"{r.subject_kind}:{r.subject_id}" for r in self.results if not r.passed
            ],
        }
        audit.append(session, self.user, "walk_test.finish", f"walk_test:{test.id}", facts, self.at)
        return _record(test, with_results=True)


def _record(row: WalkTest, *, with_results: bool) -> WalkTestRecord:
    subjects = tuple(tuple(s) for s in json.loads(row.subjects))
    results: Sequence[WalkTestResult] = row.results if with_results else ()
    return WalkTestRecord(
        id=row.id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        user=row.user,
        site_name=row.site_name,
        site_digest=row.site_digest,
        status=row.status,
        note=row.note,
        subjects=subjects,  # type: ignore[arg-type]
        results=tuple(
            WalkTestResultRecord(
                r.subject_kind,
                r.subject_id,
                r.subject_name,
                r.passed,
                r.reason,
                r.camera_id,
                r.at,
                r.distance_m,
                r.track_id,
                r.rule_would_fire,
                r.evidence_path,
                r.evidence_sha256,
            )
            for r in results
        ),
    )


def get_walk_test(session: Session, walk_test_id: int) -> WalkTestRecord:
    row = session.get(WalkTest, walk_test_id)
    if row is None:
        raise AlarmNotFoundError(f"no walk test {walk_test_id}")
    return _record(row, with_results=True)


def list_walk_tests(session: Session, *, limit: int | None = 100) -> list[WalkTestRecord]:
    """The newest walk tests first, without their results."""
    query = select(WalkTest).order_by(WalkTest.started_at.desc(), WalkTest.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_record(r, with_results=False) for r in session.scalars(query)]
