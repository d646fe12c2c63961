"""The one door between threads: pipeline and core callbacks in, Qt signals on the GUI thread out.

The vision pipeline calls its callbacks from its dispatch thread; Qt views must only be touched
from the GUI thread. `PipelineBridge` takes the callbacks (any thread) and re-emits them as Qt
signals on the GUI thread, so a view simply connects to a signal and never thinks about threads:

    bridge = PipelineBridge()
    runtime = SiteRuntime(site, store, on_alarm=bridge.on_alarm, **bridge.callbacks())
    bridge.serve(runtime.post)       # views post actions through the bridge
    wall.listen_to(bridge)
    ...
    bridge.close()          # before the runtime stops: late callbacks are dropped

It is also the way back: a view posts an operator's action (`bridge.post(Acknowledge(...))`),
the core applies it on its own thread, and the answer (`ActionAnswer`: the alarm now, or the
refusal) arrives on the GUI thread as `action_answered`. Nothing on the GUI thread waits for the
core or the store.

Reads of the store go the same way: `bridge.ask(alarm_events, 7, then=show_steps)` hands the read
to the runtime's reader thread (`SiteRuntime.query`, served with `bridge.serve_queries`) and
returns a token at once; the answer (`QueryAnswer`: the value, or the error in words) arrives on
the GUI thread as `query_answered` and is passed to `then`. A view that no longer wants it calls
`bridge.forget(token)`.

Only small objects cross (TrackedFrame, StatusChange, PipelineEvent, Alarm, ActionAnswer,
StoreHealth, AlertNotice), never pixels. Tracks are coalesced per camera: when the GUI thread is
busy, a newer TrackedFrame of a camera replaces the one still waiting (counted in
`tracks_superseded`), so a slow frame never builds a queue of stale boxes. Status changes,
events, alarms, answers, storage faults and alert notices are all delivered, in order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from console.actions import Action, ActionAnswer
from console.alarms import Alarm
from console.store import StoreHealth
from inference.pipeline import PipelineEvent, TrackedFrame
from inference.sources import StatusChange

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    """The answer to `PipelineBridge.ask`: the read's value, or why it failed (in words)."""

    token: int
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Querier = Callable[..., "Future[Any]"]


@dataclass(frozen=True, slots=True)
class BridgeStats:
    tracks_received: int
    tracks_delivered: int
    tracks_superseded: int  # replaced by a newer TrackedFrame of the same camera before delivery
    statuses_delivered: int
    events_delivered: int
    alarms_delivered: int
    answers_delivered: int
    dropped_after_close: int


class PipelineBridge(QObject):
    """Marshals pipeline (and core) callbacks from any thread onto the GUI thread as signals."""

    tracks_arrived = Signal(TrackedFrame)
    status_changed = Signal(StatusChange)
    pipeline_event = Signal(PipelineEvent)
    alarm_changed = Signal(Alarm)  # raised, folded into, handled, stored, escalated
    action_answered = Signal(ActionAnswer)  # the core's answer to a posted action
    store_health_changed = Signal(StoreHealth)  # a storage fault started, changed or cleared
    alert_notice = Signal(object)  # AlertNotice: what became of a gallery alert or a page
    query_answered = Signal(QueryAnswer)  # the answer to a read asked with `ask`

    # internal: emitted in the caller's thread, received on the GUI thread (queued)
    _tracks_waiting = Signal()
    _status_in = Signal(StatusChange)
    _event_in = Signal(PipelineEvent)
    _alarm_in = Signal(Alarm)
    _answer_in = Signal(ActionAnswer)
    _health_in = Signal(StoreHealth)
    _notice_in = Signal(object)
    _query_in = Signal(QueryAnswer)

    def __init__(self, parent: QObject | None = None) -> None:
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("create the QApplication before the PipelineBridge")
        if QThread.currentThread() is not app.thread():
            raise RuntimeError("create the PipelineBridge in the GUI thread")
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending_tracks: dict[str, TrackedFrame] = {}
        self._closed = False
        self._received = 0
        self._delivered = 0
        self._superseded = 0
        self._statuses = 0
        self._events = 0
        self._alarms = 0
        self._answers = 0
        self._dropped = 0
        self._poster: Callable[[Action], Future[ActionAnswer]] | None = None
        self._outstanding = 0  # actions posted whose answer has not been delivered yet
        self._querier: Querier | None = None
        self._asked: dict[int, Callable[[QueryAnswer], None] | None] = {}  # by token
        self._next_token = 1
        queued = Qt.ConnectionType.QueuedConnection
        self._tracks_waiting.connect(self._deliver_tracks, queued)
        self._status_in.connect(self._deliver_status, queued)
        self._event_in.connect(self._deliver_event, queued)
        self._alarm_in.connect(self._deliver_alarm, queued)
        self._answer_in.connect(self._deliver_answer, queued)
        self._health_in.connect(self._deliver_health, queued)
        self._notice_in.connect(self._deliver_notice, queued)
        self._query_in.connect(self._deliver_query, queued)

    # -- callbacks: safe to call from any thread ---------------------------------------------

    def on_tracks(self, frame: TrackedFrame) -> None:
        with self._lock:
            if self._closed:
                self._dropped += 1
                return
            self._received += 1
            camera_id = frame.ref.camera_id
            first = not self._pending_tracks
            if camera_id in self._pending_tracks:
                self._superseded += 1
            self._pending_tracks[camera_id] = frame
        if first:  # one wake-up per batch, however many cameras join it before it runs
            self._tracks_waiting.emit()

    def on_status(self, change: StatusChange) -> None:
        if self._accepting():
            self._status_in.emit(change)

    def on_event(self, event: PipelineEvent) -> None:
        if self._accepting():
            self._event_in.emit(event)

    def on_alarm(self, alarm: Alarm) -> None:
        if self._accepting():
            self._alarm_in.emit(alarm)

    def on_store_health(self, health: StoreHealth) -> None:
        if self._accepting():
            self._health_in.emit(health)

    def on_alert_notice(self, notice: object) -> None:
        """`SiteRuntime(on_alert_notice=...)`: the alert router's news (the core thread)."""
        if self._accepting():
            self._notice_in.emit(notice)

    # -- actions: from the GUI thread to the core, answers back --------------------------------

    def serve(self, poster: Callable[[Action], Future[ActionAnswer]] | None) -> None:
        """Where `post` sends actions (the runtime's `post`); None: nowhere (refused)."""
        self._poster = poster

    def post(self, action: Action) -> None:
        """Send an action to the core; its answer arrives as `action_answered`. Never waits."""
        poster = self._poster
        self._outstanding += 1
        if poster is None or self._closed:
            self._answer_in.emit(ActionAnswer(action, None, "the console is not connected"))
            return
        future = poster(action)
        future.add_done_callback(lambda done: self._answered(action, done))

    def _answered(self, action: Action, future: Future[ActionAnswer]) -> None:
        error = future.exception()
        answer = future.result() if error is None else ActionAnswer(action, None, str(error))
        if self._accepting():
            self._answer_in.emit(answer)

    # -- reads: from the GUI thread to the reader thread, answers back ------------------------

    def serve_queries(self, querier: Querier | None) -> None:
        """Where `ask` sends reads (the runtime's `query`); None: nowhere (refused)."""
        self._querier = querier

    def ask(
        self,
        query: Callable[..., Any],
        /,
        *args: Any,
        then: Callable[[QueryAnswer], None] | None = None,
    ) -> int:
        """Read the store off the GUI thread: `query(session, *args)` on the reader thread. Never
        waits; returns a token, and the answer arrives later on the GUI thread as
        `query_answered` and through `then` (always later, even when refused at once)."""
        token = self._next_token
        self._next_token += 1
        self._asked[token] = then
        querier = self._querier
        if querier is None or self._closed:
            self._query_in.emit(QueryAnswer(token, None, "the console is not connected"))
            return token
        try:
            future = querier(query, *args)
        except Exception as exc:  # a querier that refuses outright is answered like any refusal
            self._query_in.emit(QueryAnswer(token, None, str(exc) or type(exc).__name__))
            return token
        future.add_done_callback(lambda done: self._queried(token, done))
        return token

    def forget(self, token: int) -> None:
        """The asker no longer wants this answer (`then` will not be called)."""
        if token in self._asked:
            self._asked[token] = None

    @property
    def queries_outstanding(self) -> int:
        """Reads asked whose answer has not been delivered yet."""
        return len(self._asked)

    def _queried(self, token: int, future: Future[Any]) -> None:
        error = future.exception()
        if error is None:
            answer = QueryAnswer(token, future.result())
        else:
            answer = QueryAnswer(token, None, str(error) or type(error).__name__)
        if self._accepting():
            self._query_in.emit(answer)

    def callbacks(self) -> dict[str, Callable[[Any], None]]:
        """Keyword arguments for `VisionPipeline(...)`: on_tracks, on_status, on_event."""
        return {"on_tracks": self.on_tracks, "on_status": self.on_status, "on_event": self.on_event}

    def close(self) -> None:
        """Stop accepting callbacks (those already waiting are dropped). Call before deleting the
        bridge while a pipeline may still call it."""
        with self._lock:
            self._closed = True
            self._dropped += len(self._pending_tracks)
            self._pending_tracks.clear()
        self._asked.clear()  # no answer is shown any more

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> BridgeStats:
        with self._lock:
            return BridgeStats(
                tracks_received=self._received,
                tracks_delivered=self._delivered,
                tracks_superseded=self._superseded,
                statuses_delivered=self._statuses,
                events_delivered=self._events,
                alarms_delivered=self._alarms,
                answers_delivered=self._answers,
                dropped_after_close=self._dropped,
            )

    def _accepting(self) -> bool:
        with self._lock:
            if self._closed:
                self._dropped += 1
                return False
            return True

    # -- the GUI thread side -----------------------------------------------------------------

    @Slot()
    def _deliver_tracks(self) -> None:
        with self._lock:
            batch, self._pending_tracks = self._pending_tracks, {}
            self._delivered += len(batch)
        for frame in batch.values():
            self.tracks_arrived.emit(frame)

    @Slot(StatusChange)
    def _deliver_status(self, change: StatusChange) -> None:
        if self._closed:
            return
        self._statuses += 1
        self.status_changed.emit(change)

    @Slot(PipelineEvent)
    def _deliver_event(self, event: PipelineEvent) -> None:
        if self._closed:
            return
        self._events += 1
        self.pipeline_event.emit(event)

    @Slot(Alarm)
    def _deliver_alarm(self, alarm: Alarm) -> None:
        if self._closed:
            return
        self._alarms += 1
        self.alarm_changed.emit(alarm)

    @Slot(StoreHealth)
    def _deliver_health(self, health: StoreHealth) -> None:
        if not self._closed:
            self.store_health_changed.emit(health)

    @Slot(object)
    def _deliver_notice(self, notice: object) -> None:
        if not self._closed:
            self.alert_notice.emit(notice)

    @Slot(QueryAnswer)
    def _deliver_query(self, answer: QueryAnswer) -> None:
        then = self._asked.pop(answer.token, None)
        if self._closed:
            return
        self.query_answered.emit(answer)
        if then is not None:
            try:
                then(answer)
            except Exception:
                log.exception("the answer to read %d could not be shown", answer.token)

    @property
    def outstanding(self) -> int:
        """Actions posted from the GUI thread whose answer has not arrived yet."""
        return self._outstanding

    @Slot(ActionAnswer)
    def _deliver_answer(self, answer: ActionAnswer) -> None:
        self._outstanding = max(0, self._outstanding - 1)
        if self._closed:
            return
        self._answers += 1
        self.action_answered.emit(answer)
