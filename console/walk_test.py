"""The walk test: a guard walks up to each protected object and into each armed zone while the
console records, per object and zone, whether its rule fires. A silent rule is worse than none.

    test = WalkTest(runtime, user="ana")      # every object and zone, or the ones named
    test.start()                              # stored (walk_tests row), audited, watching
    ... the guard walks ...                   # test.progress() for the window, any thread
    report = test.finish().result()           # WalkTestReport, stored with its evidence

While it runs, the test watches every frame the runtime judges (it is a frame watcher, on the
core thread):

- an **object** passes when its proximity rule fires for a person (the person within the
  object's `min_distance_m` on the plan, or reaching into its image outline, for the rule's
  dwell): recorded with the camera, the time, the person's track, the measured distance (plan
  metres; None on an uncalibrated camera, where the reach is judged in the image) and the frame
  with the person's box as the evidence JPEG;
- a **zone** passes when a person is seen inside it, armed or not; the result says whether its
  rule would have fired then (the zone armed now, or a restricted zone, and the rule on);
- what was not passed by the end fails with "not seen" (or with what was seen: "closest 1.4 m,
  min distance 1.0 m", "the proximity rule is switched off").

A walk test must not page anyone. While it runs, the findings of the person rules (proximity,
loitering, after hours, restricted) about the subjects under test are held back from the alarm
manager (the frame watcher returns the others), so they raise no alarm, no sound and no alert;
the test records them instead. Object-missing and camera-health findings are never held. The
hold lasts at most `max_duration_s` (30 minutes by default): then the test finishes by itself.
Its start and end are in the audit log (`walk_test.start`, `walk_test.finish`), so the hours
when these subjects were under test are on record.

The report is stored (console.store.walk_tests), returned as a `WalkTestReport`, and exported
with `nightwatch walk-test report ID --out DIR` (JSON, CSV and the evidence frames).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import shutil
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.rules import Finding
from console.rules.details import RuleDetail
from console.rules.findings import box_detail
from console.severity import Severity
from console.site_file import Site
from console.store import FinishWalkTest, StartWalkTest, WalkTestRecord, WalkTestResultRow

if TYPE_CHECKING:
    from console.runtime import JudgedFrame, SiteRuntime
    from console.store import Store

log = logging.getLogger(__name__)

__all__ = [
    "HELD_RULES",
    "SubjectResult",
    "WalkTest",
    "WalkTestReport",
    "export_walk_test",
]

HELD_RULES = frozenset({"proximity", "loitering", "after_hours", "restricted_zone"})
DEFAULT_MAX_DURATION_S = 1800.0


@dataclass(frozen=True, slots=True)
class SubjectResult:
    """An object's or zone's result: passed or not, why, and the evidence."""

    kind: str  # object | zone
    subject_id: str
    name: str
    passed: bool
    reason: str
    camera_id: str | None = None
    at: datetime | None = None
    distance_m: float | None = None
    track_id: int | None = None
    rule_would_fire: bool | None = None
    evidence_path: str | None = None  # absolute, once stored
    closest_m: float | None = None  # the nearest a person came (objects, plan metres)


@dataclass(frozen=True, slots=True)
class WalkTestReport:
    """What the window shows and the export writes."""

    walk_test_id: int | None
    user: str
    site_name: str
    started_at: datetime
    ended_at: datetime | None
    status: str  # running | finished | cancelled
    results: tuple[SubjectResult, ...]

    @property
    def passed(self) -> bool:
        return self.status == "finished" and all(r.passed for r in self.results)

    @property
    def failed(self) -> tuple[SubjectResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def result(self, subject_id: str) -> SubjectResult:
        for result in self.results:
            if result.subject_id == subject_id:
                return result
        raise KeyError(f"no subject {subject_id!r} in walk test {self.walk_test_id}")

    @classmethod
    def of_record(cls, record: WalkTestRecord, store: Store | None = None) -> WalkTestReport:
        """A stored walk test as a report (evidence paths made absolute with `store`)."""

        def where(relative: str | None) -> str | None:
            if relative is None or store is None:
                return relative
            return str(store.files.path(relative))

        return cls(
            record.id,
            record.user,
            record.site_name,
            record.started_at,
            record.ended_at,
            record.status,
            tuple(
                SubjectResult(
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
                    where(r.evidence_path),
                )
                for r in record.results
            ),
        )


@dataclass
class _Subject:
    kind: str
    subject_id: str
    name: str
    result: SubjectResult | None = None
    evidence: bytes | None = None
    closest_m: float | None = None
    seen_close: bool = False  # within reach by presence, whatever the rule said


class WalkTest:
    """One walk test over a running runtime (see the module doc). `objects` and `zones` name
    the subjects to test (None: every object; every zone armed at some time)."""

    def __init__(
        self,
        runtime: SiteRuntime,
        user: str,
        *,
        objects: Iterable[str] | None = None,
        zones: Iterable[str] | None = None,
        note: str | None = None,
        max_duration_s: float = DEFAULT_MAX_DURATION_S,
    ) -> None:
        site = runtime.site
        object_ids = [o.id for o in site.protected_objects] if objects is None else list(objects)
        zone_ids = (
            [z.id for z in site.zones if str(z.armed) != "never"] if zones is None else list(zones)
        )
        for object_id in object_ids:
            site.protected_object(object_id)  # KeyError names an unknown one
        for zone_id in zone_ids:
            site.zone(zone_id)
        if not object_ids and not zone_ids:
            raise ValueError("a walk test needs at least one object or zone")
        if not (math.isfinite(max_duration_s) and max_duration_s > 0):
            raise ValueError(f"max_duration_s must be > 0 (got {max_duration_s})")
        self.runtime = runtime
        self.user = user
        self.note = note
        self.max_duration_s = max_duration_s
        self._subjects: dict[str, _Subject] = {}
        for object_id in object_ids:
            self._subjects[object_id] = _Subject(
                "object", object_id, site.protected_object(object_id).name
            )
        for zone_id in zone_ids:
            self._subjects[zone_id] = _Subject("zone", zone_id, site.zone(zone_id).name)
        self._lock = threading.Lock()  # the subjects: written on the core, read by the window
        self._id_future: Future[Any] | None = None
        self._started_at: datetime | None = None
        self._ended: Future[WalkTestReport] | None = None
        self.held = 0  # findings kept from the alarm manager (each recorded here instead)

    # -- any thread ------------------------------------------------------------------------

    def start(self) -> Future[Any]:
        """Store the session, then watch; the future holds the walk test's id."""
        runtime = self.runtime
        self._started_at = runtime.clock.now()
        subjects = tuple((s.kind, s.subject_id, s.name) for s in self._subjects.values())
        self._id_future = runtime.records.write(
            StartWalkTest(
                user=self.user,
                site_name=runtime.site.site.name,
                subjects=subjects,
                site_digest=runtime.applied_digest,
                note=self.note,
                at=self._started_at,
            )
        )
        runtime.add_frame_watcher(self)
        log.warning(
            "walk test by %s: %d subject(s) under test; their alarms are held until it ends",
            self.user,
            len(subjects),
        )
        return self._id_future

    @property
    def running(self) -> bool:
        return self._started_at is not None and self._ended is None

    def progress(self) -> WalkTestReport:
        """The results so far (subjects not passed yet show as not seen so far)."""
        return self._report("running", final=False)

    def finish(self, *, cancelled: bool = False) -> Future[WalkTestReport]:
        """Stop watching (on the core thread), fail what was not passed, store the results and
        the evidence; the future holds the report (evidence paths absolute)."""
        if self._ended is not None:
            return self._ended
        ended: Future[WalkTestReport] = Future()
        self._ended = ended
        self.runtime.core.post(lambda: self._finish_on_core(cancelled, ended))
        return ended

    # -- the core thread ---------------------------------------------------------------------

    def judged(self, judged: JudgedFrame) -> list[Finding]:
        """A frame judged: record what the guard triggered; hold the tested subjects' person
        findings back from the alarm manager."""
        if self._ended is not None:
            return list(judged.findings)
        if (
            self._started_at is not None
            and (judged.now - self._started_at).total_seconds() > self.max_duration_s
        ):
            log.warning("walk test ran past %.0f s: finishing it", self.max_duration_s)
            self.finish()
            return list(judged.findings)
        self._record(judged)
        passed_on: list[Finding] = []
        for finding in judged.findings:
            if finding.rule in HELD_RULES and finding.subject_id in self._subjects:
                self.held += 1
                continue
            passed_on.append(finding)
        return passed_on

    def _record(self, judged: JudgedFrame) -> None:
        site = judged.site
        camera = judged.camera
        with self._lock:
            for finding in judged.findings:
                subject = self._subjects.get(finding.subject_id)
                if subject is None or subject.result is not None:
                    continue
                if subject.kind == "object" and finding.rule == "proximity":
                    distance = finding.detail.distance_m
                    how = (
                        f"reached {float(distance):.2f} m from it"
                        if isinstance(distance, int | float)
                        else "reached into its image outline"
                    )
                    self._pass(subject, judged, finding, f"proximity alarm would fire: {how}", True)
            for track in camera.visitors:
                for object_id, rel in track.objects.items():
                    subject = self._subjects.get(object_id)
                    if subject is None or subject.kind != "object":
                        continue
                    if rel.distance_m is not None:
                        subject.closest_m = (
                            rel.distance_m
                            if subject.closest_m is None
                            else min(subject.closest_m, rel.distance_m)
                        )
                    if rel.close_since_ts is not None or rel.reach_since_ts is not None:
                        subject.seen_close = True
                for zone_id in track.zones:
                    subject = self._subjects.get(zone_id)
                    if subject is None or subject.kind != "zone" or subject.result is not None:
                        continue
                    fires = _zone_rule_fires(site, zone_id, judged.now)
                    finding = Finding(
                        rule="walk_test",
                        camera_id=camera.camera_id,
                        subject_id=zone_id,
                        track_id=track.track_id,
                        severity=Severity.HIGH,
                        at=judged.now,
                        video_ts=track.last_seen_ts,
                        detail=RuleDetail(box=box_detail(track)),
                    )
                    reason = (
                        "a person was seen inside; its rule would fire now"
                        if fires
                        else "a person was seen inside; it is not armed now, so no alarm"
                    )
                    self._pass(subject, judged, finding, reason, fires)

    def _pass(
        self,
        subject: _Subject,
        judged: JudgedFrame,
        finding: Finding,
        reason: str,
        fires: bool,
    ) -> None:
        from console.runtime import render_snapshot

        distance = finding.detail.distance_m
        subject.result = SubjectResult(
            subject.kind,
            subject.subject_id,
            subject.name,
            True,
            reason,
            camera_id=finding.camera_id,
            at=finding.at,
            distance_m=float(distance) if isinstance(distance, int | float) else None,
            track_id=finding.track_id,
            rule_would_fire=fires,
        )
        subject.evidence = render_snapshot(judged.image, finding, judged.site)
        log.info("walk test: %s %s passed (%s)", subject.kind, subject.subject_id, reason)

    def _finish_on_core(self, cancelled: bool, ended: Future[WalkTestReport]) -> None:
        runtime = self.runtime
        runtime.remove_frame_watcher(self)  # frames judged meanwhile pass through untouched
        status = "cancelled" if cancelled else "finished"
        report = self._report(status, final=True)
        rows = tuple(
            WalkTestResultRow(
                r.kind,
                r.subject_id,
                r.name,
                r.passed,
                r.reason,
                r.camera_id,
                r.at,
                r.distance_m,
                r.track_id,
                r.rule_would_fire,
                self._subjects[r.subject_id].evidence,
            )
            for r in report.results
        )
        id_future = self._id_future
        if id_future is None:
            ended.set_result(report)
            return

        def store(started: Future[Any]) -> None:
            error = started.exception()
            if error is not None:
                ended.set_exception(error)
                return
            walk_test_id = int(started.result())
            written = runtime.records.write(
                FinishWalkTest(walk_test_id, rows, self.user, status, at=report.ended_at)
            )

            def done(finished: Future[Any]) -> None:
                error = finished.exception()
                if error is not None:
                    ended.set_exception(error)
                    return
                record: WalkTestRecord = finished.result()
                ended.set_result(WalkTestReport.of_record(record, runtime.store))

            written.add_done_callback(done)

        id_future.add_done_callback(store)
        log.warning(
            "walk test %s: %d passed, %d failed",
            status,
            sum(r.passed for r in report.results),
            len(report.failed),
        )

    def _report(self, status: str, *, final: bool) -> WalkTestReport:
        site = self.runtime.site
        with self._lock:
            results = []
            for subject in self._subjects.values():
                if subject.result is not None:
                    results.append(replace(subject.result, closest_m=subject.closest_m))
                    continue
                results.append(
                    SubjectResult(
                        subject.kind,
                        subject.subject_id,
                        subject.name,
                        False,
                        _why_not(subject, site) if final else "not seen yet",
                        closest_m=subject.closest_m,
                    )
                )
        walk_test_id = None
        known = self._id_future
        if known is not None and known.done() and known.exception() is None:
            walk_test_id = int(known.result())
        started = self._started_at or self.runtime.clock.now()
        return WalkTestReport(
            walk_test_id,
            self.user,
            site.site.name,
            started,
            self.runtime.clock.now() if final else None,
            status,
            tuple(results),
        )


def _zone_rule_fires(site: Site, zone_id: str, now: datetime) -> bool:
    zone = site.zone(zone_id)
    if zone.kind == "restricted" and site.rules.restricted.enabled:
        return True
    return bool(site.rules.after_hours.enabled and site.zone_armed(zone_id, now))


def _why_not(subject: _Subject, site: Site) -> str:
    if subject.kind == "zone":
        return "not seen: nobody was seen inside it by any camera"
    try:
        obj = site.protected_object(subject.subject_id)
    except KeyError:
        return "not seen (the object is no longer in the site)"
    if subject.seen_close and not site.rules.proximity.enabled:
        return "a person came close, but the proximity rule is switched off (rules.proximity)"
    if subject.seen_close:
        return (
            "a person came close but did not stay for the rule's dwell "
            f"({float(site.rules.proximity.dwell_s):g} s)"
        )
    if subject.closest_m is not None:
        return (
            f"not seen close enough: closest {subject.closest_m:.2f} m, min distance "
            f"{float(obj.min_distance_m):g} m"
        )
    return "not seen: no camera saw a person near it"


# --------------------------------------------------------------------------- export


def export_walk_test(report: WalkTestReport, out_dir: str | Path) -> list[Path]:
    """Write the report as `walk-test-ID.json` and `walk-test-ID.csv` in `out_dir`, with the
    evidence frames copied beside them (`walk-test-ID/...jpg`); returns the files written."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"walk-test-{report.walk_test_id}"
    evidence_dir = folder / stem
    written: list[Path] = []
    rows = []
    for result in report.results:
        copied = None
        if result.evidence_path is not None and Path(result.evidence_path).is_file():
            evidence_dir.mkdir(exist_ok=True)
            target = evidence_dir / Path(result.evidence_path).name
            shutil.copyfile(result.evidence_path, target)
            written.append(target)
            copied = str(target.relative_to(folder))
        row = asdict(result)
        row["at"] = result.at.isoformat() if result.at is not None else None
        row["evidence"] = copied
        del row["evidence_path"]
        rows.append(row)
    document = {
        "walk_test_id": report.walk_test_id,
        "site": report.site_name,
        "user": report.user,
        "started_at": report.started_at.isoformat(),
        "ended_at": report.ended_at.isoformat() if report.ended_at else None,
        "status": report.status,
        "passed": report.passed,
        "results": rows,
    }
    json_path = folder / f"{stem}.json"
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    written.insert(0, json_path)
    buffer = io.StringIO()
    fields = [
        "kind",
        "subject_id",
        "name",
        "passed",
        "reason",
        "camera_id",
        "at",
        "distance_m",
        "closest_m",
        "track_id",
        "rule_would_fire",
        "evidence",
    ]
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    csv_path = folder / f"{stem}.csv"
    csv_path.write_text(buffer.getvalue(), "utf-8")
    written.insert(1, csv_path)
    return written
