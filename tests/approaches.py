"""The courtyard's ground truth of approaches to the plinth, a replay that reports every proximity
finding, and how the two are scored against each other.

The ground truth (tests/data/courtyard_approaches.json, made by bench/courtyard_truth.py, which
says how and with which limits) lists every episode of a person reaching into the plinth's image
region for at least 0.5 s, with the person's box on each of its frames, and every person box
within the 1.5 m envelope on every frame.

Scored per person, not per alarm: the alarm manager folds every finding about one object into
one alarm while the risk lasts, so an alarm spans many people's approaches and "an alarm overlaps
the episode" says little about whether this person was noticed. An episode is **found** when a
proximity finding on the object, made while the episode lasts, names a box that is this person's
(IoU >= 0.3 with the ground-truth box of that frame); a finding is **false** when its box is
nobody's within the envelope at that moment. The alarm-level measures (an alarm's span overlaps
the episode; an alarm whose span meets nobody within the envelope) are given too.

This module imports only what the console has had since the rules existed, so the benchmark can
run it against an older checkout (`bench/approach_recall.py --code DIR`).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

TRUTH_FILE = Path(__file__).resolve().parent / "data" / "courtyard_approaches.json"
SAME_PERSON_IOU = 0.3


@dataclass(frozen=True, slots=True)
class Episode:
    id: int
    person: int
    start_s: float
    end_s: float
    boxes: dict[int, tuple[float, float, float, float]]  # frame -> box

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class Truth:
    object_id: str
    fps: float
    duration_s: float
    episodes: tuple[Episode, ...]
    within_envelope: dict[int, list[tuple[float, float, float, float]]]  # frame -> boxes

    def short(self, at_most_s: float = 1.5) -> tuple[Episode, ...]:
        return tuple(e for e in self.episodes if e.duration_s <= at_most_s)


@dataclass(frozen=True, slots=True)
class SeenFinding:
    """A proximity finding as a replay made it."""

    video_ts: float
    track_id: int | None
    subject_id: str
    box: tuple[float, float, float, float] | None


def load_truth(path: Path = TRUTH_FILE) -> Truth:
    doc = json.loads(path.read_text())
    episodes = tuple(
        Episode(
            id=int(e["id"]),
            person=int(e["person"]),
            start_s=float(e["start_s"]),
            end_s=float(e["end_s"]),
            boxes={int(f): tuple(b) for f, b in e["boxes"].items()},
        )
        for e in doc["episodes"]
    )
    near = {int(f): [tuple(b) for b in boxes] for f, boxes in doc["within_envelope"].items()}
    return Truth(doc["object"], float(doc["fps"]), doc["frames"] / doc["fps"], episodes, near)


def _iou(a: Iterable[float], b: Iterable[float]) -> float:
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    w = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    h = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = w * h
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def _frames_near(ts: float, fps: float) -> list[int]:
    """The frame a video time falls on, and its neighbours (stamps are good to about a frame)."""
    frame = round(ts * fps)
    return [frame, frame - 1, frame + 1]


def same_person(episode: Episode, box: Iterable[float], video_ts: float, fps: float) -> bool:
    """A box seen at `video_ts` (of the file) is the episode's person's: IoU >= SAME_PERSON_IOU
    with their truth box on that frame or a neighbour."""
    truths = [episode.boxes[f] for f in _frames_near(video_ts, fps) if f in episode.boxes]
    return any(_iou(box, b) >= SAME_PERSON_IOU for b in truths)


def found_episodes(truth: Truth, findings: Iterable[SeenFinding]) -> set[int]:
    """Ids of the episodes a finding on this person was made during."""
    return set(finding_delays(truth, findings))


def finding_delays(truth: Truth, findings: Iterable[SeenFinding]) -> dict[int, float]:
    """Per found episode: video seconds from its first frame to the first finding on this
    person (the rule's dwell included). The floor under any live alert latency: the live path
    adds the frame's age when judged and the core's hand-off on top."""
    ours = sorted(
        (f for f in findings if f.subject_id == truth.object_id and f.box is not None),
        key=lambda f: f.video_ts,
    )
    delays: dict[int, float] = {}
    for episode in truth.episodes:
        for finding in ours:
            if not episode.start_s - 0.05 <= finding.video_ts <= episode.end_s + 0.05:
                continue
            box = finding.box
            if box is not None and same_person(episode, box, finding.video_ts, truth.fps):
                delays[episode.id] = max(0.0, finding.video_ts - episode.start_s)
                break
    return delays


def false_findings(truth: Truth, findings: Iterable[SeenFinding]) -> list[SeenFinding]:
    """Findings on the object whose box is nobody's within the envelope at that moment."""
    false: list[SeenFinding] = []
    for finding in findings:
        if finding.subject_id != truth.object_id or finding.box is None:
            continue
        near = [b for f in _frames_near(finding.video_ts, truth.fps)
                for b in truth.within_envelope.get(f, [])]  # fmt: skip
        if not any(_iou(finding.box, b) >= SAME_PERSON_IOU for b in near):
            false.append(finding)
    return false


def false_people(false: Iterable[SeenFinding]) -> int:
    """How many (track, moment) a set of false findings stands for: one per track and run of
    findings less than a second apart (what an operator would see as one false alarm)."""
    runs = 0
    last: dict[int | None, float] = {}
    for finding in sorted(false, key=lambda f: f.video_ts):
        previous = last.get(finding.track_id)
        if previous is None or finding.video_ts - previous > 1.0:
            runs += 1
        last[finding.track_id] = finding.video_ts
    return runs


def _spans(truth: Truth, alarms: Iterable[dict[str, object]]) -> list[tuple[float, float]]:
    """The video spans the alarms on the object report: each occurrence's (one person, from when
    to when) where the events carry occurrences, else each alarm's own span."""
    spans: list[tuple[float, float]] = []
    for alarm in alarms:
        if alarm.get("subject") != truth.object_id or alarm.get("rule") != "proximity":
            continue
        parts = alarm.get("occurrences") or [alarm]
        for part in parts:  # type: ignore[union-attr]
            if part.get("start_s") is not None and part.get("end_s") is not None:
                spans.append((float(part["start_s"]), float(part["end_s"])))
    return spans


def episodes_under_alarms(truth: Truth, alarms: Iterable[dict[str, object]]) -> set[int]:
    """Ids of the episodes an alarm (or one of its occurrences) on the object spans, with a
    frame of slack at either end."""
    slack = 1.0 / truth.fps
    spans = _spans(truth, alarms)
    return {
        e.id
        for e in truth.episodes
        if any(start - slack <= e.end_s and e.start_s <= end + slack for start, end in spans)
    }


def false_alarms(truth: Truth, alarms: Iterable[dict[str, object]]) -> list[tuple[float, float]]:
    """Spans (alarms, or occurrences where the events carry them) that meet nobody within the
    envelope."""
    frames = sorted(truth.within_envelope)
    return [
        (start, end)
        for start, end in _spans(truth, alarms)
        if not any(round(start * truth.fps) - 1 <= f <= round(end * truth.fps) + 1 for f in frames)
    ]


# --------------------------------------------------------------------------- the replay


@dataclass(frozen=True, slots=True)
class ReplayResult:
    findings: tuple[SeenFinding, ...]
    alarms: tuple[dict[str, object], ...]  # as `nightwatch replay --events` writes them
    frames_judged: int


def replay_proximity(
    site_file: Path, start: datetime, detect_every_s: float, *, timeout_s: float = 900.0
) -> ReplayResult:
    """`nightwatch replay` of a site in process (the same runtime, lockstep, offline SSDLite, one
    worker), reporting every proximity finding besides the alarms.

    The runtime's core judges each tracked frame; this judges the same frames once more, with the
    same presence model and rules on the same picture, on the pipeline's thread just before the
    core gets them, and keeps every proximity finding (the alarm manager folds them away)."""
    from console.analysis_copy import analysis_copy
    from console.presence import Observation, Presence
    from console.rules import evaluate_camera
    from console.runtime import (
        ReplayOptions,
        RuntimeOptions,
        SiteRuntime,
        alarm_record,
    )
    from console.site_file import load_site
    from console.store import Store
    from inference.worker_pool import DetectorSpec

    site = load_site(site_file)
    presence = Presence(site)
    findings: list[SeenFinding] = []
    alarms: dict[int, object] = {}
    holder: list[SiteRuntime] = []
    judged = 0

    def on_tracks(frame) -> None:  # type: ignore[no-untyped-def]
        nonlocal judged
        ring = holder[0].pipeline.rings[frame.ref.camera_id]
        image = ring.read(frame.ref)
        if image is None:
            return
        height, width = image.shape[:2]
        small = analysis_copy(image)  # the core's own copy
        now = start + timedelta(seconds=float(frame.ref.ts))  # the replay's clock
        camera = presence.update(Observation.from_tracked_frame(frame, (width, height), small), now)
        judged += 1
        for f in evaluate_camera(camera, site, now):
            if f.rule == "proximity":
                box = f.detail.box
                findings.append(
                    SeenFinding(
                        float(f.video_ts if f.video_ts is not None else frame.ref.ts),
                        f.track_id,
                        f.subject_id,
                        tuple(float(v) for v in box) if box is not None else None,  # type: ignore[arg-type]
                    )
                )

    def on_alarm(alarm) -> None:  # type: ignore[no-untyped-def]
        alarms[alarm.alarm_id] = alarm

    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/alarms.db")
        options = RuntimeOptions(
            detector=DetectorSpec("ssdlite"),
            cpu_workers=1,
            replay=ReplayOptions(start, detect_every_s=detect_every_s),
        )
        runtime = SiteRuntime(site, store, options, on_alarm=on_alarm, on_tracks=on_tracks)
        holder.append(runtime)
        try:
            with runtime:
                deadline = time.monotonic() + timeout_s
                while not runtime.replay_finished():
                    if runtime.pipeline.stats().error:
                        raise RuntimeError(f"detector failed: {runtime.pipeline.stats().error}")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"replay not finished after {timeout_s:.0f} s")
                    time.sleep(0.2)
                runtime.tick()
        finally:
            store.close()
    records = tuple(alarm_record(a) for _, a in sorted(alarms.items()))  # type: ignore[arg-type]
    return ReplayResult(tuple(findings), records, judged)


def replay_findings_json(result: ReplayResult) -> str:
    return json.dumps(
        {
            "findings": [
                [f.video_ts, f.track_id, f.subject_id, list(f.box) if f.box else None]
                for f in result.findings
            ],
            "alarms": list(result.alarms),
            "frames_judged": result.frames_judged,
        }
    )


def replay_findings_from_json(text: str) -> ReplayResult:
    doc = json.loads(text)
    findings = tuple(
        SeenFinding(float(ts), tid, subject, tuple(box) if box else None)
        for ts, tid, subject, box in doc["findings"]
    )
    return ReplayResult(findings, tuple(doc["alarms"]), int(doc["frames_judged"]))


def scores(truth: Truth, result: ReplayResult) -> dict[str, float]:
    """The figures of one replay: recall per person (all, short), false findings per hour, and
    the alarm-level ones."""
    found = found_episodes(truth, result.findings)
    short = {e.id for e in truth.short()}
    false = false_findings(truth, result.findings)
    under_alarms = episodes_under_alarms(truth, result.alarms)
    hours = truth.duration_s / 3600.0
    return {
        "episodes": len(truth.episodes),
        "found": len(found),
        "short": len(short),
        "short_found": len(found & short),
        "false_findings": len(false),
        "false_per_hour": false_people(false) / hours,
        "alarms": sum(1 for a in result.alarms if a.get("subject") == truth.object_id),
        "spans": len(_spans(truth, result.alarms)),
        "under_alarms": len(under_alarms),
        "false_alarms_per_hour": len(false_alarms(truth, result.alarms)) / hours,
    }
