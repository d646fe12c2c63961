"""The runtime: a site's cameras through the vision pipeline, the rules and the alarm store.

    site file -> CameraSpecs -> VisionPipeline -> TrackedFrame -> core thread:
                 Presence -> rules -> findings -> AlarmManager -> Store (writer thread)
                                                              -> listeners (log, console)

One `SiteRuntime` serves `nightwatch run --headless`, `nightwatch replay` and the console window.
Three threads meet here, and none waits for another:
- the pipeline's dispatch thread hands each tracked frame to the core's mailbox (newest wins per
  camera) and to the window, and moves on;
- the core thread (`console.core_loop`) judges frames (presence, rules, alarms), runs the actions
  people post (`post(Acknowledge(...))`) through the service layer (`console.control_room`: the
  role table, against the core's own record of accounts), and ticks once a second
  (escalation, camera health of silent cameras, which cameras are alarmed and so detected more
  often);
- the store's writer thread writes what the alarm manager hands it, and its answers are folded
  back on the core thread.

The site can change while it runs (`apply_site`, from the site editor's save or the watch on the
site file, `console.site_apply`): presence, rules, the alarm manager and the alert routes take
the new site on the core thread, and the pipeline adds and removes cameras and reopens those
whose source changed, leaving every other camera's capture, ring and tracker untouched. Open
alarms stay open, also those on an object or zone the edit deleted (`subject_name` still names
it). Frame watchers (`add_frame_watcher`: the walk test) see every judged frame and may hold
findings back from the alarm manager.

Live, the site clock is the system clock. In replay the clock is a fake one set, for each frame,
to `start + the frame's video seconds`, and the cameras run in lockstep: a fixed number of frames
per video second, every one detected and judged, as fast as the machine allows (or at real
pace), so a replay gives the same alarms on every machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import cv2
import numpy as np

from console.accounts import AccountBook
from console.actions import Action, ActionAnswer, answer_when_ready
from console.alarms import Alarm, AlarmListener, AlarmManager, AlarmPolicy
from console.alerts.delivery import DeliveryOutcome
from console.alerts.router import AlarmChanges, AlertNotice, AlertRouter
from console.analysis_copy import analysis_copy
from console.behaviour.appearance import appearances
from console.behaviour.model import BehaviourModel, BehaviourView
from console.clock import Clock, FakeClock, SystemClock
from console.control_room import ControlRoom
from console.core_loop import CoreLoop
from console.detection import choose_detector, detection_change_note
from console.evidence import EvidenceKeeper, recording_settings, recording_specs
from console.presence import CameraPresence, Observation, Presence
from console.reader import StoreReader
from console.retention import RetentionSchedule, run_retention
from console.rules import Finding, RuleTuning, camera_health, evaluate_camera
from console.rules.behaviour import advisories
from console.secrets import SecretsError, load_secrets, with_credentials
from console.site_actions import SiteDesk
from console.site_file import Site
from console.store import (
    SYSTEM_USER,
    SaveBehaviourCells,
    Store,
    StoreHealth,
    behaviour_cells,
    behaviour_switch,
)
from console.store.audit import AppendAudit
from inference.clip_process import ClipProcess
from inference.pipeline import (
    CameraChanges,
    CameraSpec,
    PipelineConfig,
    PipelineEvent,
    TrackedFrame,
    VisionPipeline,
)
from inference.priority import BACKGROUND_NICE, console_background_nice, lower_threads
from inference.recording import RecorderState, RecorderStatus, StreamRecorders
from inference.scheduler import SchedulerConfig
from inference.sources import CameraStatus, StatusChange
from inference.worker_pool import DetectorSpec

log = logging.getLogger(__name__)

T = TypeVar("T")

SNAPSHOT_QUALITY = 85
BEHAVIOUR_SAVE_EVERY_S = 300.0  # the learned normal is written to the store this often


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """Run file cameras in lockstep from `start` (site time of each video's first frame)."""

    start: datetime
    realtime: bool = False
    detect_every_s: float = 0.2  # video seconds between detected frames


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    # chosen where the runtime is started (the command line): wins over the site file's
    # `detection:` section; None: the section's, else auto (console.detection)
    detector: DetectorSpec | None = None
    cpu_workers: int | None = None  # None: the section's `workers`, else the pool's default
    cameras_per_capture_process: int = 16  # fewer: RTSP cameras back sooner, more processes
    replay: ReplayOptions | None = None
    alarm_policy: AlarmPolicy | None = None  # None: the site file's `alarms:` settings
    # live: the site file the runtime was loaded from; its changes are checked and applied
    # without a restart (console.site_apply.SiteFileWatch, polled by the core's tick)
    site_path: Path | None = None
    # live: how often cameras are detected (None: SchedulerConfig's defaults); a replay always
    # detects every frame it publishes
    scheduler: SchedulerConfig | None = None
    # capture, detector and recorder processes run this much lower in CPU priority than the
    # console process (inference/priority.py): the window and the core first; 0: the same
    background_nice: int = BACKGROUND_NICE


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What applying an edited site did (`SiteRuntime.apply_site`)."""

    applied: bool
    refusal: str | None = None
    cameras: CameraChanges = field(default_factory=CameraChanges)
    objects: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())
    zones: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())
    """(added, removed, changed) ids."""
    open_alarms: tuple[int, ...] = ()  # open before and still open (all of them)
    orphaned_alarms: tuple[int, ...] = ()  # open on an object, zone or camera now deleted
    notes: tuple[str, ...] = ()  # what takes effect only at the next start, and why

    def summary(self) -> str:
        """One line for the status bar and the log."""
        if not self.applied:
            return f"site not applied: {self.refusal}"
        parts = []
        for what, ids in (
            ("camera added", self.cameras.added),
            ("camera removed", self.cameras.removed),
            ("camera reopened", self.cameras.restarted),
        ):
            if ids:
                parts.append(f"{len(ids)} {what}: {', '.join(ids)}")
        for what, (added, removed, changed) in (("object", self.objects), ("zone", self.zones)):
            for verb, ids in (("added", added), ("removed", removed), ("changed", changed)):
                if ids:
                    parts.append(f"{len(ids)} {what} {verb}: {', '.join(ids)}")
        if self.orphaned_alarms:
            parts.append(
                f"{len(self.orphaned_alarms)} open alarm(s) on deleted subjects stay open until "
                "handled"
            )
        parts.extend(self.notes)
        return "site applied" + (": " + "; ".join(parts) if parts else " (no change to watch)")


@dataclass(frozen=True, slots=True)
class SiteNotice:
    """For the window and the terminal: the site changed, or an edit of its file was refused.
    `kind` is "applied" or "refused"; `text` says it in words."""

    kind: str
    text: str
    at: datetime
    report: ApplyReport | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JudgedFrame:
    """One judged frame as frame watchers see it (the core thread): the camera's presence, the
    findings of the rules, the frame itself (BGR, the camera's full frame: do not keep it) and
    the site time."""

    camera: CameraPresence
    findings: tuple[Finding, ...]
    image: np.ndarray
    frame: TrackedFrame
    now: datetime
    site: Site


class FrameWatcher(Protocol):
    """Sees every judged frame on the core thread and returns the findings the alarm manager
    gets (all of them, or fewer: a walk test holds back those of the subjects it tests)."""

    def judged(self, judged: JudgedFrame) -> list[Finding]: ...


class SiteRunError(RuntimeError):
    """The site cannot be run as configured (the message says why)."""


def camera_specs(site: Site, replay: ReplayOptions | None = None) -> list[CameraSpec]:
    """The pipeline's cameras: the sub-stream (else the main stream) for tiles and detection,
    credentials from the secrets store inserted into stream URLs."""
    secrets = None
    specs: list[CameraSpec] = []
    for camera in site.cameras:
        main = camera.resolved_source
        sub = camera.resolved_substream or main
        if camera.credentials is not None and camera.source_kind == "url":
            if secrets is None:
                try:
                    secrets = load_secrets()
                except SecretsError as exc:
                    raise SiteRunError(str(exc)) from exc
            creds = secrets.get(camera.credentials)
            if creds is None:
                log.warning(
                    "camera %s: no credentials %r in the secrets store; trying without",
                    camera.id,
                    camera.credentials,
                )
            else:
                main = with_credentials(main, creds)
                if "://" in sub:
                    sub = with_credentials(sub, creds)
        if replay is not None:
            if camera.source_kind != "file":
                raise SiteRunError(
                    f"replay runs file cameras only; camera {camera.id} is {camera.source_kind}"
                )
            specs.append(
                CameraSpec(
                    camera.id,
                    sub,
                    main_source=None,
                    loop=False,
                    pace=replay.realtime,
                    lockstep_every_s=replay.detect_every_s,
                )
            )
        else:
            specs.append(CameraSpec(camera.id, sub, main_source=main if main != sub else None))
    return specs


def render_snapshot(image: np.ndarray, finding: Finding, site: Site) -> bytes | None:
    """The frame as JPEG with the person's box (and the protected object's outline) drawn."""
    picture = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    try:
        obj = site.protected_object(finding.subject_id)
    except KeyError:
        obj = None
    if obj is not None and finding.camera_id in obj.image_regions:
        polygon = np.asarray(obj.image_regions[finding.camera_id], dtype=np.int32)
        cv2.polylines(picture, [polygon], True, (0, 215, 255), 2, cv2.LINE_AA)
    box = finding.detail.box
    if box is not None:
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        cv2.rectangle(picture, (x1, y1), (x2, y2), (0, 0, 255), 2, cv2.LINE_AA)
        label = f"{finding.rule} #{finding.track_id}" if finding.track_id else finding.rule
        cv2.putText(
            picture,
            label,
            (x1, max(12, y1 - 6)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (0, 0, 255),
            1,
            cv2.LINE_AA,
        )
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, SNAPSHOT_QUALITY])
    return encoded.tobytes() if ok else None


def clean_snapshot(image: np.ndarray) -> bytes | None:
    """The frame as JPEG, as the camera gave it (kept beside the annotated snapshot)."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, SNAPSHOT_QUALITY])
    return encoded.tobytes() if ok else None


class SiteRuntime:
    def __init__(
        self,
        site: Site,
        store: Store,
        options: RuntimeOptions | None = None,
        *,
        clock: Clock | None = None,
        on_alarm: AlarmListener | None = None,
        on_tracks: Callable[[TrackedFrame], None] | None = None,
        on_status: Callable[[StatusChange], None] | None = None,
        on_event: Callable[[PipelineEvent], None] | None = None,
        on_store_health: Callable[[StoreHealth], None] | None = None,
        on_alert_notice: Callable[[AlertNotice], None] | None = None,
        on_site_notice: Callable[[SiteNotice], None] | None = None,
    ) -> None:
        self.site = site  # replaced (never changed) by apply_site, on the core thread
        self.store = store
        self.options = options or RuntimeOptions()
        replay = self.options.replay
        self.clock: Clock = clock or (FakeClock(replay.start) if replay else SystemClock())
        self.presence = Presence(site)  # the core thread's alone
        self.tuning = RuleTuning.of_site(site)
        self._on_site_notice = on_site_notice
        self._frame_watchers: list[FrameWatcher] = []  # the core thread's alone
        # names of objects, zones and cameras an edit deleted: their open alarms still show them
        self._retired_names: dict[str, str] = {}
        self.site_watch: Any = None  # console.site_apply.SiteFileWatch, when watching a file
        self.applied_digest: str | None = None  # SHA-256 of the site file text running now
        self._camera_ids = frozenset(c.id for c in site.cameras)
        self.alarms = AlarmManager(
            store,
            site,
            self.clock,
            policy=self.options.alarm_policy,
            listener=on_alarm,
            replay=replay is not None,
        )
        # -- behaviour (console/behaviour): the learned normal (from the store), advisories,
        # the watch list and following visitors; the core thread's alone
        switch = store.read(behaviour_switch)
        self.behaviour = BehaviourModel(
            site,
            stored=store.read(behaviour_cells),
            switched_on=switch.enabled if switch is not None else True,
            audit=self._behaviour_audit,
        )
        self._behaviour_saved_at: datetime | None = None
        # -- end behaviour
        # the service layer: the role table checked against the core's own record of accounts
        self.room = ControlRoom.load(
            store, self.clock, alarms=self.alarms, behaviour=self.behaviour
        )
        # saves of the site (the editor's ApplySite) and walk tests: console.site_actions
        self.site_desk = SiteDesk(
            self.options.site_path if replay is None else None, self.records, runtime=self
        )
        self.room.site_desk = self.site_desk
        self._on_tracks = on_tracks
        self._on_status = on_status
        self._on_event = on_event
        self._on_store_health = on_store_health
        self._store_fault: StoreHealth | None = None  # the fault now, as first reported
        self._written_seq: dict[str, int] = {}  # each ring's write count at the last tick
        self.core = CoreLoop(
            self._judge,
            self.tick,
            # replay judges every frame, in video-time order, and ticks on video time
            tick_every_s=None if replay is not None else 1.0,
            after_each=self._after_each,
            lossless=replay is not None,
        )
        self._ending: set[str] = set()  # replay: cameras at the end of their file
        self._retention = RetentionSchedule()  # old media purged once a day (live only)
        if replay is not None:
            self.core.expect([camera.id for camera in site.cameras])
        self.alarms.set_on_written(self.core.wake)
        # -- alerts (console/alerts): gallery and supervisor on their own delivery threads; the
        # outcomes come back as core jobs, and the router audits on the core thread alone
        self.alerts = AlertRouter(
            site,
            self.clock,
            audit_log=store,
            report=self._alert_outcome,
            listener=on_alert_notice,
            send=replay is None,  # a replay pages nobody
        )
        self.alarms.add_listener(AlarmChanges(self.alerts, self.alarms.open_alarms()))
        # -- end alerts
        # the window's reads of the store (an alarm's steps) run here, never on the GUI thread
        self.reader = StoreReader(store)
        self.room.reader = self.reader  # the incident browser's reads (console/record_actions.py)
        store.add_fault_listener(self._store_health_changed)
        scheduler = self.options.scheduler or SchedulerConfig()
        if replay is not None:  # every published frame is due at once, none left out
            scheduler = SchedulerConfig(
                active_interval_s=0, idle_interval_s=0, alarmed_interval_s=0, aim_for_coverage=False
            )
        # the command line's detector, else the site file's, else auto: chosen once, here
        self.detection = choose_detector(self.options.detector, self.options.cpu_workers, site)
        log.info("detector: %s", self.detection.describe())
        self.pipeline = VisionPipeline(
            camera_specs(site, replay),
            PipelineConfig(
                detector=self.detection.spec,
                cpu_workers=self.detection.workers,
                cameras_per_capture_process=self.options.cameras_per_capture_process,
                ring_slots=8,
                scheduler=scheduler,
                background_nice=self.options.background_nice,
            ),
            on_tracks=self._tracks,
            on_status=self._status,
            on_event=self._event,
        )
        # -- evidence (console/evidence.py, inference/recording.py): each camera's own stream kept
        # as segments by recorder processes, and every alarm's clip put together from them with
        # its boxes. Live only: a replay keeps no clips.
        self.recorders: StreamRecorders | None = None
        self.evidence: EvidenceKeeper | None = None
        self._recorder_faults: dict[str, str] = {}  # camera -> the fault audited (core thread)
        if replay is None:
            files_root = store.snapshots_dir
            if site.evidence.record and files_root is not None:
                sources = {
                    spec.camera_id: (spec.main_source or spec.source, spec.source)
                    for spec in self.pipeline.cameras.values()
                }
                self.recorders = StreamRecorders(
                    recording_specs(site, sources),
                    files_root.parent / "recordings",
                    replace(
                        recording_settings(site.evidence),
                        background_nice=self.options.background_nice,
                    ),
                    on_status=self._recorder_status,
                )
            self.evidence = EvidenceKeeper(
                site,
                store,
                self.recorders,
                now=lambda: self.clock.now().timestamp(),
                # clips are put together in a helper process: no interpreter lock shared with
                # the window and the core (inference/clip_process.py)
                clip_process=(
                    ClipProcess(nice=self.options.background_nice)
                    if self.recorders is not None
                    else None
                ),
            )
            self.evidence.known(self.alarms.open_alarms())
            self.alarms.add_listener(self.evidence.alarm_changed)
        # -- end evidence

    @property
    def frames_seen(self) -> int:
        """Tracked frames the core has judged."""
        return self.core.stats().frames_judged

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.alerts.start()  # alerts
        self.core.start()
        self.core.post(self.alerts.announce_start)  # alerts: what goes nowhere, audited
        self.reader.start()
        try:
            self.pipeline.start()
            if self.recorders is not None:  # evidence
                self.recorders.start()
        except BaseException:
            self.pipeline.stop()
            self.reader.stop()
            self.core.stop()
            self.alerts.stop()  # alerts
            raise
        if self.evidence is not None:  # evidence
            self.evidence.start()
        self._lower_background_threads()
        if self.options.site_path is not None and self.options.replay is None:
            from console.site_apply import SiteFileWatch  # it imports this module

            self.site_watch = SiteFileWatch(self.options.site_path, self)

    def _lower_background_threads(self) -> None:
        """The console's threads that nobody waits for on screen (the store's writer, the
        evidence worker, the alert deliveries) run below the window and the core, above the
        helper processes (inference/priority.py). In the reliability flood the GUI thread
        waited 23.8 s of 60 s in the kernel's run queue, behind these threads among others
        (the flood's GUI p99 did not move measurably with this: docs/ARCHITECTURE.md)."""
        threads = [self.store.writer_thread, *self.alerts.threads()]
        if self.evidence is not None:
            threads.append(self.evidence.thread)
        lower_threads(
            [t for t in threads if t is not None],
            console_background_nice(self.options.background_nice),
            "console background threads",
        )

    def stop(self) -> None:
        """Stop the core after the jobs already posted (the shifts still open at this console
        end), then the cameras; then wait for the alarm writes handed out (see `Store.close` for
        what a fault leaves)."""
        if self.site_watch is not None:
            self.site_watch.close()  # joins its loading thread
        # a save under way ends first (it may apply a site); a running walk test is stored
        # as cancelled (its records go through the core, still running)
        self.site_desk.close()
        self.core.post(lambda: self.accounts.end_sessions("the console stopped"))
        self.core.post(self._save_behaviour)  # behaviour: the learned normal, before the core stops
        self.alerts.stop()  # alerts: their outcomes are audited by the core, still running
        # the core before the cameras: its tick reads the rings, which stopping the pipeline
        # closes (a frame delivered after this is dropped: the core no longer takes any)
        self.core.stop()
        # evidence: the recorders close their last segments, then the clips still running are
        # cut short and kept (the core no longer changes them)
        if self.recorders is not None:
            self.recorders.stop()
        if self.evidence is not None:
            self.evidence.stop()
        self.pipeline.stop()
        self.reader.stop()
        self.store.remove_fault_listener(self._store_health_changed)
        self.alarms.flush(timeout_s=10.0)

    @property
    def store_fault(self) -> StoreHealth | None:
        """The storage fault now (as the core last heard of it), or None."""
        return self._store_fault

    def __enter__(self) -> SiteRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def replay_finished(self) -> bool:
        """Replay: every camera reached the end of its file and all its frames were detected and
        judged."""
        for camera in self.site.cameras:
            status, reason, _ = self.pipeline.status(camera.id)
            if status != CameraStatus.OFFLINE or not self.pipeline.drained(camera.id):
                return False
            if "end of file" not in reason and self.pipeline.rings[camera.id].write_seq > 0:
                return False
        return self.core.idle()

    # -- what people ask (any thread) ----------------------------------------------------------

    @property
    def accounts(self) -> AccountBook:
        """The core's record of accounts and sessions (changed on the core thread only; read
        `accounts.has_accounts` from any thread)."""
        return self.room.accounts

    def post(self, action: Action) -> Future[ActionAnswer]:
        """Apply a person's action on the core thread through the service layer (role table,
        refusals audited); the future holds the answer (the alarm as it is now, another value,
        or the refusal in words), once any read or write it handed to the store is done."""
        answer: Future[ActionAnswer] = Future()

        def relay(ready: Future[ActionAnswer]) -> None:
            answer.set_result(ready.result())

        def run() -> None:
            answer_when_ready(self.room.apply(action)).add_done_callback(relay)

        def not_run(posted: Future[None]) -> None:
            error = posted.exception()
            if error is not None and not answer.done():
                answer.set_exception(error)

        self.core.post(run).add_done_callback(not_run)
        return answer

    def query(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Read the store without waiting: `store.read(fn, *args)` runs on the runtime's reader
        thread ("nightwatch-reader"); the future holds the result or the error."""
        return self.reader.submit(fn, *args)

    def write_audit(self, task: AppendAudit) -> Future[object]:
        """Queue an audit row from any thread without touching the store there: the core hands
        it to the store's writer; the future completes when it is written (or refused)."""
        written: Future[object] = Future()

        def relay(done: Future[Any]) -> None:
            error = done.exception()
            if error is not None:
                written.set_exception(error)
            else:
                written.set_result(done.result())

        def hand_over() -> None:
            self.store.write(task).add_done_callback(relay)

        def not_posted(posted: Future[None]) -> None:
            error = posted.exception()
            if error is not None and not written.done():
                written.set_exception(error)

        self.core.post(hand_over).add_done_callback(not_posted)
        return written

    def alert_event(self, kind: str, text: str) -> Future[None]:
        """Page the supervisor about the console (any thread): `alerts.control_room_event` on
        the core thread, e.g. ("operator_check_unanswered", "nobody answered ...")."""
        return self.core.post(lambda: self.alerts.control_room_event(kind, text))

    def _alert_outcome(self, outcome: DeliveryOutcome) -> None:
        """From a delivery thread: the router hears of it on the core thread."""

        def lost(posted: Future[None]) -> None:
            if posted.exception() is not None:
                log.error("alert outcome not recorded (the core stopped): %s", outcome)

        self.core.post(lambda: self.alerts.delivered(outcome)).add_done_callback(lost)

    @property
    def records(self) -> AuditThroughCore:
        """Where any thread hands write tasks (a config change, an audit row, a walk test's
        result): through the core to the store's writer (only the core thread calls the
        store). `records.write(task) -> Future`."""
        return AuditThroughCore(self)

    def subject_name(self, subject_id: str) -> str:
        """What an alarm's subject (object, zone or camera) is called: in the site now, else
        as it was called before an edit deleted it ("... (deleted from the site)")."""
        site = self.site
        for items in (site.protected_objects, site.zones, site.cameras):
            for item in items:
                if item.id == subject_id:
                    return str(item.name)
        old = self._retired_names.get(subject_id)
        return f"{old} (deleted from the site)" if old is not None else subject_id

    # -- a site edited while running -----------------------------------------------------------

    def apply_site(
        self, site: Site, *, applied_by: str = SYSTEM_USER, digest: str | None = None
    ) -> Future[ApplyReport]:
        """Run `site` from now on, without a restart (any thread). On the core thread,
        presence, rules, the alarm manager and the alert routes take it; the pipeline then adds,
        removes and reopens cameras (the others untouched) and the future completes with the
        report. Open alarms stay open, those on deleted subjects too. `digest` is the SHA-256
        of the site file's text, so the file watch does not apply the same text twice. The
        change itself is recorded by whoever saved it (`console.site_apply`); this writes a
        `site.applied` audit row with what changed."""
        answer: Future[ApplyReport] = Future()

        def on_core() -> None:
            try:
                self._apply_site_now(site, applied_by, digest, answer)
            except BaseException as exc:
                if not answer.done():
                    answer.set_exception(exc)

        def not_posted(posted: Future[None]) -> None:
            error = posted.exception()
            if error is not None and not answer.done():
                answer.set_exception(error)

        self.core.post(on_core).add_done_callback(not_posted)
        return answer

    def add_frame_watcher(self, watcher: FrameWatcher) -> Future[None]:
        """Show every judged frame to `watcher` from now on (any thread; done on the core)."""
        return self.core.post(lambda: self._frame_watchers.append(watcher))

    def remove_frame_watcher(self, watcher: FrameWatcher) -> Future[None]:
        def remove() -> None:
            if watcher in self._frame_watchers:
                self._frame_watchers.remove(watcher)

        return self.core.post(remove)

    def _apply_site_now(
        self, site: Site, applied_by: str, digest: str | None, answer: Future[ApplyReport]
    ) -> None:
        """(core thread)"""
        if self.options.replay is not None:
            answer.set_result(ApplyReport(False, "a replay runs the site it started with"))
            return
        try:
            specs = camera_specs(site)
        except SiteRunError as exc:  # e.g. the secrets store cannot be read: shown, audited
            refused = ApplyReport(False, str(exc))
            self.store.write(
                AppendAudit(
                    user=applied_by,
                    action="site.apply_refused",
                    target="site",
                    detail={"reason": str(exc), "digest": digest},
                    at=self.clock.now(),
                )
            )
            self.notify_site("refused", refused.summary())
            answer.set_result(refused)
            return
        old = self.site
        now = self.clock.now()
        presence = Presence(site)
        old_cameras = {c.id: c for c in old.cameras}
        for camera in site.cameras:
            if camera.id not in old_cameras:
                continue
            before = self.presence.camera(camera.id)
            # the camera's state goes on (tracks are taken up again from the next frame)
            if before.status is not None:
                presence.set_status(
                    camera.id, before.status, before.status_since or now, before.status_reason
                )
            if before.last_frame_at is not None:
                presence.frames_arrived(camera.id, before.last_frame_at)
        for item_id, name in (
            *((o.id, o.name) for o in old.protected_objects),
            *((z.id, z.name) for z in old.zones),
            *((c.id, c.name) for c in old.cameras),
        ):
            self._retired_names[item_id] = str(name)
        kept_names = {
            *(o.id for o in site.protected_objects),
            *(z.id for z in site.zones),
            *(c.id for c in site.cameras),
        }
        for item_id in kept_names:
            self._retired_names.pop(item_id, None)
        self.site = site
        self._camera_ids = frozenset(c.id for c in site.cameras)
        self.presence = presence
        self.tuning = RuleTuning.of_site(site)
        self.behaviour.use_site(site, now)  # behaviour: the map and places follow the edit
        # the alarm manager reads its site and policy on this thread only (findings, tick,
        # actions): open alarms are left exactly as they are
        self.alarms.site = site
        if self.options.alarm_policy is None:
            self.alarms.policy = AlarmPolicy.of_site(site)
        notes: list[str] = []
        if not self.alerts.use_site(site):
            notes.append("the new alert destinations take effect at the next start")
        if site.detection != old.detection:  # the worker pool keeps the detector it started
            notes.append(detection_change_note(self.detection))
        if self.evidence is not None:  # evidence: the recorders keep their cameras until then
            evidence_note = self.evidence.use_site(site)
            if evidence_note is not None:
                notes.append(evidence_note)
        self._written_seq = {c: n for c, n in self._written_seq.items() if c in kept_names}
        open_now = self.alarms.open_alarms()
        orphaned = tuple(a.alarm_id for a in open_now if a.subject_id not in kept_names)
        objects = _section_changes(old.protected_objects, site.protected_objects)
        zones = _section_changes(old.zones, site.zones)
        if digest is not None:
            self.applied_digest = digest

        def finish(changed: Future[CameraChanges]) -> None:
            error = changed.exception()
            if error is not None:
                notes.append(f"cameras not changed: {error}")
                cameras = CameraChanges()
            else:
                cameras = changed.result()
            report = ApplyReport(
                True,
                None,
                cameras,
                objects,
                zones,
                tuple(a.alarm_id for a in open_now),
                orphaned,
                tuple(notes),
            )
            # back on the core thread: the audit row and the notice
            self.core.post(lambda: self._applied(report, applied_by)).add_done_callback(
                lambda _posted: answer.set_result(report) if not answer.done() else None
            )

        self.pipeline.reconfigure(specs).add_done_callback(finish)

    def _applied(self, report: ApplyReport, applied_by: str) -> None:
        """(core thread) The edit runs now: audited and told."""
        log.warning("%s", report.summary())
        self.store.write(
            AppendAudit(
                user=applied_by,
                action="site.applied",
                target="site",
                detail={
                    "summary": report.summary(),
                    "cameras_added": list(report.cameras.added),
                    "cameras_removed": list(report.cameras.removed),
                    "cameras_reopened": list(report.cameras.restarted),
                    "orphaned_alarms": list(report.orphaned_alarms),
                    "digest": self.applied_digest,
                },
                at=self.clock.now(),
            )
        )
        self.notify_site("applied", report.summary(), report=report)

    def notify_site(
        self,
        kind: str,
        text: str,
        *,
        report: ApplyReport | None = None,
        problems: tuple[str, ...] = (),
    ) -> None:
        """Tell the window (or the terminal) about the site: applied, refused."""
        if self._on_site_notice is not None:
            try:
                self._on_site_notice(SiteNotice(kind, text, self.clock.now(), report, problems))
            except Exception:
                log.exception("site notice listener failed")

    @property
    def audit_log(self) -> AuditThroughCore:
        """What `OperatorCheck` and other views write audit rows to (`write(AppendAudit)`)."""
        return AuditThroughCore(self)

    # -- from the pipeline (its dispatch thread): hand over and move on ------------------------

    def _tracks(self, frame: TrackedFrame) -> None:
        if self._on_tracks is not None:
            self._on_tracks(frame)
        self.core.deliver(frame)

    def _status(self, change: StatusChange) -> None:
        if self._on_status is not None:
            self._on_status(change)
        self.core.post(lambda: self._note_status(change))

    def _event(self, event: PipelineEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _recorder_status(self, status: RecorderStatus) -> None:
        """From the recorders' supervising thread: the core hears of it (evidence)."""
        self.core.post(lambda: self._note_recorder(status))

    def _note_recorder(self, status: RecorderStatus) -> None:
        """A camera's recorder changed state (core thread): shown through `on_event`
        (source `recorder:<camera>`), and a fault audited when it starts and when it ends."""
        camera_id = status.camera_id
        if self._on_event is not None:
            source = f"recorder:{camera_id}"
            self._on_event(PipelineEvent(source, status.state.value, status.reason, status.at))
        at = datetime.fromtimestamp(status.at, UTC)
        fault = self._recorder_faults.get(camera_id)
        if status.state in (RecorderState.OFFLINE, RecorderState.UNAVAILABLE) and fault is None:
            self._recorder_faults[camera_id] = status.reason
            self.store.write(
                AppendAudit(
                    user=SYSTEM_USER,
                    action=f"recorder.{status.state.value}",
                    target=f"camera:{camera_id}",
                    detail={"reason": status.reason},
                    at=at,
                )
            )
        elif status.state is RecorderState.RECORDING and fault is not None:
            del self._recorder_faults[camera_id]
            self.store.write(
                AppendAudit(
                    user=SYSTEM_USER,
                    action="recorder.recording",
                    target=f"camera:{camera_id}",
                    detail={"after": fault},
                    at=at,
                )
            )

    # -- the core thread -----------------------------------------------------------------------

    def _store_health_changed(self, health: StoreHealth) -> None:
        """From the store's writer thread: hand it to the core, never wait here."""
        self.core.post(lambda: self._note_store_health(health))

    def _note_store_health(self, health: StoreHealth) -> None:
        """A storage fault started, changed or cleared: tell the window (banner) or the terminal,
        and once the disk is back, put the fault itself into the audit log (behind the rows that
        waited for it, in order)."""
        began = self._store_fault
        if health.fault is not None:
            if began is None:
                log.error("storage fault: %s (%d writes waiting)", health.fault, health.pending)
                self.alerts.control_room_event(  # alerts: the supervisor hears of it
                    "storage_fault", "alarms are not being stored at the console (storage fault)"
                )
            self._store_fault = health if began is None else replace(began, fault=health.fault)
        elif began is not None:
            self._store_fault = None
            until = datetime.now(UTC)  # the disk's time, as the store's `since`
            lasted_s = (until - began.since).total_seconds() if began.since else None
            log.warning("storage fault cleared after %s s: %s", lasted_s, began.fault)
            self.alerts.control_room_event(  # alerts
                "storage_fault_cleared", "storage at the console is back"
            )
            self.store.write(
                AppendAudit(
                    user=SYSTEM_USER,
                    action="store.fault",
                    target="store",
                    detail={
                        "fault": began.fault,
                        "since": began.since.isoformat() if began.since else None,
                        "until": until.isoformat(),
                        "unstored": health.unstored,
                    },
                    at=until,
                )
            )
        if self._on_store_health is not None:
            self._on_store_health(health)

    def _note_status(self, change: StatusChange) -> None:
        if change.camera_id not in self._camera_ids:
            return  # removed by an edit; its last words are not news
        if self.options.replay is not None:
            # a replay judges recorded frames on their own time: when the capture said
            # "connecting" or "end of file" is wall-clock chance, and must not change what the
            # rules find (camera health from frames, frozen or covered, still applies)
            if change.status == CameraStatus.OFFLINE:
                self._ending.add(change.camera_id)  # finished once its last frames are judged
            return
        self.presence.set_status(change.camera_id, change.status, self.clock.now(), change.reason)

    def _after_each(self) -> None:
        self.alarms.settle()
        for camera_id in list(self._ending):
            # a replay camera is finished once every frame it published went through the
            # detector and reached the core (so the merge in video time need not wait for it)
            if self.pipeline.drained(camera_id):
                self._ending.discard(camera_id)
                self.core.finish(camera_id)

    def _judge(self, frame: TrackedFrame) -> None:
        """Presence, rules and alarms for one tracked frame."""
        if frame.ref.camera_id not in self._camera_ids:
            return  # a camera an edit removed: its last frames judge nothing
        ring = self.pipeline.rings.get(frame.ref.camera_id)
        image = ring.read(frame.ref) if ring is not None else None
        if image is None and ring is not None:  # overwritten already: the newest is close
            latest = ring.latest()
            image = ring.read(latest) if latest is not None else None
        if image is None:
            return  # no picture to place boxes in: nothing to judge
        height, width = image.shape[:2]
        small = analysis_copy(image)
        now = self._now_for(frame.ref.ts)
        camera = self.presence.update(
            Observation.from_tracked_frame(frame, (width, height), small), now
        )
        if self.evidence is not None:  # evidence: the boxes drawn over the alarms' clips
            self.evidence.frame(frame, (width, height))
        findings = evaluate_camera(camera, self.site, now, self.tuning)
        findings.extend(self._behaviour_findings(camera, image, now))  # behaviour: advisories
        if self._frame_watchers:
            judged = JudgedFrame(camera, tuple(findings), image, frame, now, self.site)
            for watcher in list(self._frame_watchers):
                try:
                    findings = watcher.judged(replace(judged, findings=tuple(findings)))
                except Exception:  # a watcher's fault never costs an alarm
                    log.exception("frame watcher %r failed", watcher)
        self.alarms.looked(frame.ref.camera_id, now)
        if findings:
            site = self.site
            # drawn and encoded on the store's writer thread, from this frame's own copy; the
            # clean frame is kept beside it (evidence)
            self.alarms.ingest(
                findings,
                lambda f: render_snapshot(image, f, site),
                lambda _f: clean_snapshot(image),
            )
        if self.options.replay is not None:
            self.alarms.tick()  # on video time, after each frame: the same on every machine
        self.pipeline.set_alarmed(frame.ref.camera_id, self._wants_every_frame(frame.ref.camera_id))
        # the scheduler's hint: people near a protected object (within `near_object_m` on the
        # plan, or reaching into its image region), so this camera is among the last to be
        # looked at less often when the detectors cannot keep every moving camera within the
        # coverage target (inference/scheduler.py)
        near = any(o.near_since_ts is not None for t in camera.visitors for o in t.objects.values())
        self.pipeline.set_near_object(frame.ref.camera_id, near)

    # -- behaviour (console/behaviour) ---------------------------------------------------------

    def _behaviour_findings(
        self, camera: CameraPresence, image: np.ndarray, now: datetime
    ) -> list[Finding]:
        """(core thread) Each visitor's appearance (colours of their box, from this frame, kept
        in memory only), the behaviour model's look at the frame, its advisories as findings."""
        if not self.behaviour.enabled:
            return []
        visitors = camera.visitors
        looks = dict(
            zip(
                (t.track_id for t in visitors),
                appearances(image, [t.xyxy for t in visitors]),
                strict=True,
            )
        )
        found = self.behaviour.observe(camera, now, looks)
        if self.options.replay is not None:
            self.behaviour.tick(now)  # on video time, like the alarms
        return advisories(found, camera, self.site, now)

    def _wants_every_frame(self, camera_id: str) -> bool:
        """Detected on every newest frame: an alarm on the camera, or a watched visitor in it."""
        if self.alarms.is_alarmed(camera_id):
            return True
        return camera_id in self.behaviour.watched_cameras(self.clock.now())

    def _save_behaviour(self) -> None:
        """(core thread) Hand the learned normal's changes to the store's writer."""
        rows, gone = self.behaviour.take_changes()
        if not rows and not gone:
            return
        try:
            written = self.store.write(SaveBehaviourCells(tuple(rows), tuple(gone)))
        except Exception:
            log.exception("behaviour: the learned normal was not handed to the store")
            return
        written.add_done_callback(
            lambda done: (
                None
                if done.cancelled() or done.exception() is None
                else log.error("behaviour: the learned normal was not stored: %s", done.exception())
            )
        )

    def _behaviour_audit(
        self, user: str, action: str, target: str, detail: dict[str, object]
    ) -> None:
        """(core thread) An audit row of the behaviour model's (watch list, dismissals)."""
        written = self.store.write(
            AppendAudit(user=user, action=action, target=target, detail=detail, at=self.clock.now())
        )
        written.add_done_callback(
            lambda done: (
                None
                if done.cancelled() or done.exception() is None
                else log.error("audit row %s not stored: %s", action, done.exception())
            )
        )

    def add_behaviour_listener(self, listener: Callable[[BehaviourView], None]) -> None:
        """`listener(view)` on the core thread when the watch list or a watched visitor's
        cameras change (the window's bridge marshals it); any thread may call this."""
        self.behaviour.add_listener(listener)

    # -- end behaviour

    def _now_for(self, video_ts: float) -> datetime:
        replay = self.options.replay
        if replay is None:
            return self.clock.now()
        now = replay.start + timedelta(seconds=video_ts)
        assert isinstance(self.clock, FakeClock)
        if now > self.clock.now():
            self.clock.set(now)
        return now

    def tick(self) -> None:
        """Once a second: escalations, health of cameras that send nothing, detection priority."""
        if self.options.replay is None:  # in replay each camera is judged on its own frames
            now = self.clock.now()
            self._note_frames_written(now)
            findings = [
                f
                for cam in self.presence.cameras()
                for f in camera_health(cam, self.site, now, self.tuning)
            ]
            if findings:
                self.alarms.ingest(findings)
            if self.site_watch is not None:
                self.site_watch.poll()  # a stat of the site file; loading is not done here
            # -- retention (console/retention.py): old snapshots purged once a day ------------
            if self._retention.due(now):
                self._purge_old_media(now)
        self.alarms.tick()
        # -- behaviour: visitors forgotten, watch list expired, the learned normal saved
        now = self.clock.now()
        if self.options.replay is None:
            self.behaviour.tick(now)
        saved = self._behaviour_saved_at
        if saved is None or (now - saved).total_seconds() >= BEHAVIOUR_SAVE_EVERY_S:
            self._behaviour_saved_at = now
            self._save_behaviour()
        # -- end behaviour
        if self.evidence is not None:  # evidence: clips whose post-roll ran out
            self.evidence.tick()
        for camera in self.site.cameras:
            self.pipeline.set_alarmed(camera.id, self._wants_every_frame(camera.id))

    def _purge_old_media(self, now: datetime) -> None:
        """Queue the day's retention purge (held incidents exempt; audited by the task); a run
        that left files for its next batch is repeated sooner."""
        self._retention.ran(now)
        task = run_retention(self.store, self.site, now)
        if task is None:
            return

        def done(written: Future[Any]) -> None:  # on the writer thread: hand over, never wait
            error = written.exception()
            if error is not None:
                log.error("retention purge failed: %s", error)
                return
            for count in written.result():
                for failure in count.failed:  # in the audit row `retention.run` too
                    log.error("retention could not purge %s file %s", count.kind, failure)
            if any(count.more for count in written.result()):
                self.core.post(lambda: self._retention.ran(now, more=True))

        self.store.write(task).add_done_callback(done)

    def _note_frames_written(self, now: datetime) -> None:
        """Tell presence which cameras' rings were written since the last tick."""
        for camera_id, ring in dict(self.pipeline.rings).items():  # a copy: cameras may change
            if camera_id not in self._camera_ids:
                continue
            written = ring.write_seq
            if written != self._written_seq.get(camera_id):
                self._written_seq[camera_id] = written
                if written > 0:
                    self.presence.frames_arrived(camera_id, now)


def _section_changes(
    before: tuple[Any, ...], after: tuple[Any, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(added, removed, changed) ids between two versions of a section of the site."""
    old = {item.id: item for item in before}
    new = {item.id: item for item in after}
    return (
        tuple(i for i in new if i not in old),
        tuple(i for i in old if i not in new),
        tuple(i for i in new if i in old and new[i] != old[i]),
    )


@dataclass(frozen=True, slots=True)
class AuditThroughCore:
    """An audit log for the GUI thread: `write(task)` goes through the core to the store."""

    runtime: SiteRuntime

    def write(self, task: Any) -> Future[object]:
        return self.runtime.write_audit(task)


def alarm_record(alarm: Alarm) -> dict[str, object]:
    """The JSON line `nightwatch replay --events` writes for an alarm: the incident and every
    occurrence folded into it (video seconds, rounded so that two runs write the same bytes)."""

    def seconds(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    def metres(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "alarm_id": alarm.alarm_id,
        "camera": alarm.camera_id,
        "rule": alarm.rule,
        "subject": alarm.subject_id,
        "severity": alarm.severity.value,
        "occurrences": [
            {
                "track_id": o.track_id,
                "camera": o.camera_id,
                "start_s": seconds(o.video_start_s),
                "end_s": seconds(o.video_end_s),
                "closest_m": metres(o.closest_m),
            }
            for o in alarm.occurrences
        ],
        "start_s": seconds(alarm.video_start_s),
        "end_s": seconds(alarm.video_end_s),
    }
