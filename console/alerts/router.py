"""The alert router: where each alarm and console event is announced, and what became of it.

    core thread                                   delivery threads (one per endpoint)
    ───────────                                   ───────────────────────────────────
    alarm_changed(alarm, what) ─┐
    control_room_event(kind, …) ┼─► routes ─► submit(Delivery) ──► MQTT publish / webhook POST
                                │                                        │ PUBACK / 2xx / failure
    delivered(outcome) ◄── core job (the runtime) ◄── report(outcome) ◄──┘
      audit row (alert.sent / alert.failed), counts, AlertNotice to the listeners (the window)

Destinations:
- `control_room`: the window itself (on screen and sound); the router only counts it.
- `gallery`: what gallery speakers, strobes and guard radios listen to (an MQTT topic per zone
  and severity, and/or a webhook), for the alarms the site's `alert_routes` send there.
- `supervisor`: every escalated alarm, console events the supervisor must hear of (a
  still-there check nobody answered, a storage fault), and alarms routes send there.

The site file's routes pick the destinations of an alarm by severity and zone (an alarm's zones:
`console.alerts.places`). An escalation also goes to the supervisor; a resolved alarm's
all-clear goes where the alarm went, so a strobe can stop.

What the console says is what happened: "escalated: supervisor paged via MQTT at 02:14:07"
only once the broker acknowledged the publish (QoS 1 PUBACK) or the webhook answered 2xx;
"escalated: NO supervisor destination configured — only this console knows" where there is
none; "supervisor NOT paged: ..." with the reason when every try failed. Each final outcome
(and each page that could not be sent for want of a destination) is an audit row.

Threads: every method but `stats()` and `start()/stop()` runs on the core thread (the store is
written only there). `report` is called on delivery threads: the runtime turns it into a core
job that calls `delivered`. The payload never holds an image, a credential, a track or a
person's name.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from console.alarms import Alarm
from console.alerts.config import AlertWarning, Transports, route_warnings, transports
from console.alerts.delivery import Delivery, DeliveryOutcome, DeliveryWorker, RetryPolicy
from console.alerts.places import Places
from console.alerts.transports import OutgoingMessage
from console.clock import Clock
from console.site_file import Site
from console.store.audit import AppendAudit

log = logging.getLogger(__name__)

__all__ = [
    "ALARM_CHANGES",
    "PAYLOAD_SCHEMA",
    "AlarmChanges",
    "AlertNotice",
    "AlertRouter",
    "AlertStats",
    "NoticeState",
]

ALARM_CHANGES = ("raised", "reflagged", "escalated", "resolved")
PAYLOAD_SCHEMA = "nightwatch.alert/1"
AUDIT_USER = "system"
NoticeState = Literal[
    "sending",  # handed to the delivery threads
    "retrying",  # a try failed; another follows
    "sent",  # acknowledged on every transport
    "partly_sent",  # acknowledged on some transports, failed on others
    "failed",  # every transport failed
    "not_configured",  # no destination configured: nothing could be sent
    "not_sent",  # replay: nothing is sent
    "warning",  # the alert setup at start (what goes nowhere)
]

_LABELS = {
    "reflagged": "new activity",
    "operator_check_unanswered": "still-there check unanswered",
    "storage_fault": "storage fault",
    "storage_fault_cleared": "storage fault over",
}
_DONE = {"supervisor": "supervisor paged", "gallery": "gallery alerted"}
_DOING = {"supervisor": "paging the supervisor", "gallery": "alerting the gallery"}
_NOT_DONE = {"supervisor": "supervisor NOT paged", "gallery": "gallery NOT alerted"}


def label(what: str) -> str:
    """A change or an event kind in words: 'escalated', 'still-there check unanswered'."""
    return _LABELS.get(what, what.replace("_", " "))


class AuditLog(Protocol):
    """Where audit rows go (the store, written on the core thread)."""

    def write(self, task: AppendAudit) -> Future[Any]: ...


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """What the window shows of an alert (the banner, the status line): `text` is exactly what
    happened so far, e.g. 'escalated: supervisor paged via MQTT at 02:14:07'."""

    subject: str  # "alarm:7", "console:control-room", "site"
    what: str  # "escalated", "operator_check_unanswered", "config", ...
    destination: str  # "supervisor", "gallery"
    state: NoticeState
    text: str
    at: datetime
    about: str = ""  # what the alert is about: 'alarm 7: proximity at The Milkmaid (high)'
    alarm_id: int | None = None

    @property
    def final(self) -> bool:
        return self.state not in ("sending", "retrying")

    @property
    def bad(self) -> bool:
        """Something the operator must see: nothing or not everything reached its destination."""
        return self.state in ("failed", "partly_sent", "not_configured", "warning")


@dataclass(frozen=True, slots=True)
class AlertStats:
    control_room: int  # alarm changes routed to the control room (screen and sound)
    submitted: int  # messages handed to a delivery thread (per transport)
    sent: int  # acknowledged
    failed: int  # given up
    retries: int  # tries that failed and were tried again
    not_configured: int  # asked for by a route or an escalation, with no destination
    waiting: int  # not yet acknowledged or given up


@dataclass
class _Leg:
    """One transport's part of a page."""

    state: str = "sending"
    at: datetime | None = None
    tries: int = 0
    reason: str | None = None
    next_try_in_s: float | None = None


@dataclass
class _Page:
    delivery: Delivery
    about: str
    legs: dict[str, _Leg] = field(default_factory=dict)


Report = Callable[[DeliveryOutcome], None]
NoticeListener = Callable[[AlertNotice], None]


class AlertRouter:
    """Routes one site's alarms and console events; owns the delivery threads."""

    def __init__(
        self,
        site: Site,
        clock: Clock,
        *,
        audit_log: AuditLog | None,
        report: Report,
        listener: NoticeListener | None = None,
        send: bool = True,
        secrets_file: Path | None = None,
        retry: RetryPolicy | None = None,
        station: str = "control-room",
        endpoints: Transports | None = None,
    ) -> None:
        """`report` is called on the delivery threads with each outcome: make it run
        `delivered(outcome)` on the core thread. `send=False` (replay) sends nothing.
        `endpoints` replaces the transports the site file describes (tests)."""
        self.site = site
        self.clock = clock
        self.station = station
        self._audit_log = audit_log
        self._send = send
        self._listeners: list[NoticeListener] = [listener] if listener else []
        self._places = Places(site)
        if endpoints is not None:
            built = endpoints
        else:
            built = transports(site, secrets_file) if send else Transports({}, (), {})
        self._transport_warnings = built.warnings
        self._started_destinations = site.alert_destinations
        # replaced whole (never changed in place) when an edit changes the routes: any thread
        # may read it
        self.warnings: tuple[AlertWarning, ...] = (*route_warnings(site), *built.warnings)
        self._retry_for_s = built.retry_for_s
        self._workers: dict[str, tuple[DeliveryWorker, ...]] = {
            destination: tuple(
                DeliveryWorker(
                    transport,
                    report,
                    retry=retry,
                    name=f"nightwatch-alerts-{destination}-{transport.kind.lower()}",
                )
                for transport in made
            )
            for destination, made in built.by_destination.items()
        }
        self._pages: dict[str, _Page] = {}  # by message id, until every leg is final
        self._told: dict[int, set[str]] = {}  # alarm id -> destinations its news went to
        self._lock = threading.Lock()  # the counters, read by stats() from any thread
        self._counts = dict.fromkeys(
            ("control_room", "submitted", "sent", "failed", "retries", "not_configured"), 0
        )

    # -- any thread ------------------------------------------------------------------------------

    def add_listener(self, listener: NoticeListener) -> None:
        self._listeners.append(listener)

    def configured(self, destination: str) -> bool:
        return bool(self._workers.get(destination))

    def endpoints(self, destination: str) -> tuple[str, ...]:
        """'MQTT mqtt://broker.lan:1883', ... of a destination (no credentials)."""
        return tuple(
            f"{w.transport.kind} {w.transport.endpoint}" for w in self._workers.get(destination, ())
        )

    def threads(self) -> list[threading.Thread]:
        return [w.thread for ws in self._workers.values() for w in ws if w.thread is not None]

    def stats(self) -> AlertStats:
        waiting = sum(w.waiting() for ws in self._workers.values() for w in ws)
        with self._lock:
            return AlertStats(**self._counts, waiting=waiting)

    def start(self) -> None:
        for workers in self._workers.values():
            for worker in workers:
                worker.start()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Send what was never tried, give up what waits to be tried again (each reported as
        failed through `report`), and join every delivery thread."""
        workers = [w for ws in self._workers.values() for w in ws]
        stoppers = [
            threading.Thread(target=w.stop, args=(timeout_s,), name=f"{w.transport.kind}-stop")
            for w in workers
        ]
        for stopper in stoppers:  # in parallel: a hung webhook does not delay the broker's stop
            stopper.start()
        for stopper in stoppers:
            stopper.join()

    # -- the core thread -------------------------------------------------------------------------

    def use_site(self, site: Site) -> bool:
        """A site edited while running (`SiteRuntime.apply_site`): routes, zones and names
        follow it at once. The delivery threads stay those the console started with; returns
        False when the edit changed `alert_destinations`, which then take effect at the next
        start (the caller says so)."""
        same = site.alert_destinations == self.site.alert_destinations
        # the routes are the edit's, the destinations still those the console started with
        running = site.model_copy(update={"alert_destinations": self._started_destinations})
        self.site = site
        self._places = Places(site)
        self.warnings = (*route_warnings(running), *self._transport_warnings)
        return same

    def announce_start(self) -> list[AlertWarning]:
        """Audit and show what goes nowhere (once, when the console starts)."""
        now = self.clock.now()
        for warning in self.warnings:
            log.warning("alerts: %s (%s)", warning.text, warning.path)
            self._audit("alerts.warning", "site", {"field": warning.path, "warning": warning.text})
            self._notify(
                AlertNotice("site", "config", "", "warning", warning.text, now, about="alerts")
            )
        return list(self.warnings)

    def destinations_for(self, alarm: Alarm) -> set[str]:
        """The destinations the site's routes give this alarm (severity and zones)."""
        zones = set(self._places.zones_of(alarm.subject_id, alarm.camera_id))
        found: set[str] = set()
        for route in self.site.alert_routes:
            if str(alarm.severity) not in route.match.severity:
                continue
            if route.match.zones is not None and not zones & set(route.match.zones):
                continue
            found.update(route.to)
        return found

    def alarm_changed(self, alarm: Alarm, what: str) -> None:
        """An alarm was raised, re-flagged (new activity on an acknowledged alarm), escalated
        or resolved: announce it where its routes (and, escalated, the supervisor) say."""
        if what not in ALARM_CHANGES:
            raise ValueError(f"alarm change {what!r} is not one of {', '.join(ALARM_CHANGES)}")
        routed = self.destinations_for(alarm)
        if "control_room" in routed:
            self._count("control_room")
        if what == "resolved":
            wanted = self._told.pop(alarm.alarm_id, set())  # the all-clear where the news went
        else:
            wanted = routed - {"control_room"}
            if what == "escalated":
                wanted.add("supervisor")
        if not wanted:
            return
        zones = self._places.zones_of(alarm.subject_id, alarm.camera_id)
        topic = f"{zones[0] if zones else 'site'}/{alarm.severity}"
        place = self._places.name(alarm.subject_id)
        about = f"alarm {alarm.alarm_id}: {alarm.rule} at {place} ({alarm.severity})"
        at = self.clock.now()
        for destination in sorted(wanted):
            message_id = uuid.uuid4().hex
            payload = {
                "schema": PAYLOAD_SCHEMA,
                "message_id": message_id,
                "site": self.site.site.name,
                "destination": destination,
                "kind": "alarm",
                "change": what,
                "alarm_id": alarm.alarm_id,
                "rule": alarm.rule,
                "severity": str(alarm.severity),
                "state": str(alarm.state),
                "escalated": bool(alarm.escalated),
                "place": place,
                "place_id": alarm.subject_id,
                "zone": zones[0] if zones else None,
                "zone_name": self._places.zone_name(zones[0]) if zones else None,
                "zones": list(zones),
                "camera": self._places.camera_name(alarm.camera_id),
                "camera_id": alarm.camera_id,
                "raised_at": alarm.raised_at.isoformat(),
                "at": at.isoformat(),
            }
            if self._dispatch(
                destination,
                f"alarm:{alarm.alarm_id}",
                what,
                topic,
                payload,
                about,
                alarm.alarm_id,
            ):
                self._told.setdefault(alarm.alarm_id, set()).add(destination)

    def control_room_event(self, kind: str, text: str) -> None:
        """A console event the supervisor must hear of (`operator_check_unanswered`,
        `storage_fault`, ...): paged to the supervisor. `text` is sent as it is: words about
        the console, never a person's name or a credential."""
        at = self.clock.now()
        message_id = uuid.uuid4().hex
        payload = {
            "schema": PAYLOAD_SCHEMA,
            "message_id": message_id,
            "site": self.site.site.name,
            "destination": "supervisor",
            "kind": "console",
            "event": kind,
            "text": text,
            "station": self.station,
            "at": at.isoformat(),
        }
        self._dispatch(
            "supervisor", f"console:{self.station}", kind, f"console/{kind}", payload, text, None
        )

    def delivered(self, outcome: DeliveryOutcome) -> None:
        """A delivery thread's news (through a core job): counted, audited when final, shown."""
        delivery = outcome.delivery
        if outcome.state == "retrying":
            self._count("retries")
        else:
            self._count("sent" if outcome.sent else "failed")
            detail: dict[str, Any] = {
                "destination": delivery.destination,
                "what": delivery.what,
                "transport": outcome.transport,
                "endpoint": outcome.endpoint,
                "tries": outcome.tries,
                "took_s": outcome.took_s,
                "message_id": delivery.message_id,
            }
            if outcome.reason:
                detail["reason"] = outcome.reason
            action = "alert.sent" if outcome.sent else "alert.failed"
            self._audit(action, delivery.subject, detail, at=outcome.at)
        page = self._pages.get(delivery.message_id)
        if page is None:  # news of a page this router no longer follows (it was stopped)
            page = _Page(delivery, delivery.subject, {outcome.transport: _Leg()})
        page.legs[outcome.transport] = _Leg(
            outcome.state, outcome.at, outcome.tries, outcome.reason, outcome.next_try_in_s
        )
        notice = self._page_notice(page)
        if notice.final:
            self._pages.pop(delivery.message_id, None)
        self._notify(notice)

    # -- plumbing --------------------------------------------------------------------------------

    def _dispatch(
        self,
        destination: str,
        subject: str,
        what: str,
        topic: str,
        payload: dict[str, Any],
        about: str,
        alarm_id: int | None,
    ) -> bool:
        """Hand one message to the destination's delivery threads; False when nothing was
        handed over (none configured, or replay)."""
        now = self.clock.now()
        workers = self._workers.get(destination, ())
        if not self._send:
            text = f"{label(what)}: {destination} not told (replay: nothing is sent)"
            self._notify(
                AlertNotice(subject, what, destination, "not_sent", text, now, about, alarm_id)
            )
            return False
        if not workers:
            self._count("not_configured")
            reason = f"no {destination} destination is configured"
            log.warning("%s %s: %s not told: %s", subject, what, destination, reason)
            if destination == "supervisor":  # a page: say so, and keep the fact
                self._audit(
                    "alert.not_sent",
                    subject,
                    {"destination": destination, "what": what, "reason": reason},
                    at=now,
                )
                text = (
                    f"{label(what)}: NO {destination} destination configured — "
                    "only this console knows"
                )
                self._notify(
                    AlertNotice(
                        subject, what, destination, "not_configured", text, now, about, alarm_id
                    )
                )
            return False
        message_id = str(payload["message_id"])
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        delivery = Delivery(
            destination,
            subject,
            what,
            OutgoingMessage(topic, body),
            message_id,
            self._retry_for_s.get(destination, 60.0),
            alarm_id,
        )
        page = _Page(delivery, about, {w.transport.kind: _Leg() for w in workers})
        self._pages[message_id] = page
        for worker in workers:
            self._count("submitted")
            worker.submit(delivery)
        self._notify(self._page_notice(page))
        return True

    def _page_notice(self, page: _Page) -> AlertNotice:
        delivery = page.delivery
        destination = delivery.destination
        sent = [(k, leg) for k, leg in page.legs.items() if leg.state == "sent"]
        failed = [(k, leg) for k, leg in page.legs.items() if leg.state == "failed"]
        open_ = [(k, leg) for k, leg in page.legs.items() if leg.state in ("sending", "retrying")]
        parts: list[str] = []
        if sent:
            ways = " and ".join(f"via {k} at {self._clock_text(leg.at)}" for k, leg in sent)
            parts.append(f"{_DONE.get(destination, destination + ' told')} {ways}")
        if failed:
            why = "; ".join(
                f"{k} failed after {_tries(leg.tries)}: {leg.reason}" for k, leg in failed
            )
            if sent or open_:
                parts.append(why.replace(" failed after", " FAILED after"))
            else:
                parts.append(f"{_NOT_DONE.get(destination, destination + ' NOT told')}: {why}")
        if open_:
            ways = " and ".join(
                k
                if leg.state == "sending"
                else f"{k} (try {leg.tries} failed: {leg.reason}; again in "
                f"{leg.next_try_in_s or 0:.0f} s)"
                for k, leg in open_
            )
            parts.append(f"{_DOING.get(destination, 'telling ' + destination)} via {ways}…")
        if open_:
            state: NoticeState = (
                "retrying" if any(leg.state == "retrying" for _, leg in open_) else "sending"
            )
        elif failed:
            state = "partly_sent" if sent else "failed"
        else:
            state = "sent"
        times = [leg.at for _, leg in [*sent, *failed] if leg.at is not None]
        return AlertNotice(
            delivery.subject,
            delivery.what,
            destination,
            state,
            f"{label(delivery.what)}: " + "; ".join(parts),
            max(times) if times else self.clock.now(),
            page.about,
            delivery.alarm_id,
        )

    def _clock_text(self, at: datetime | None) -> str:
        return "?" if at is None else f"{at.astimezone(self.site.tz):%H:%M:%S}"

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _audit(
        self, action: str, target: str, detail: dict[str, Any], *, at: datetime | None = None
    ) -> None:
        if self._audit_log is None:
            return
        task = AppendAudit(AUDIT_USER, action, target, detail, at=at or self.clock.now())
        try:  # queued, never waited for: the core does not wait on the disk
            written = self._audit_log.write(task)
        except Exception:
            log.exception("alerts: %s for %s not written to the audit log", action, target)
            return

        def done(future: Future[Any]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.error(
                    "alerts: %s for %s not written to the audit log: %s",
                    action,
                    target,
                    future.exception(),
                )

        written.add_done_callback(done)

    def _notify(self, notice: AlertNotice) -> None:
        for listener in list(self._listeners):
            try:
                listener(notice)
            except Exception:
                log.exception("alert notice listener failed on %s", notice.subject)


def _tries(n: int) -> str:
    return "1 try" if n == 1 else f"{n} tries"


class AlarmChanges:
    """An alarm-manager listener that tells the router what changed: a new alarm is "raised",
    one that became escalated "escalated", an acknowledged one whose risk came back "reflagged",
    a resolved one "resolved". It sees alarms as the manager hands them out (on the core thread)
    and knows the alarms open at start (`open_now`), so a reloaded alarm is never news.

        runtime.alarms.add_listener(AlarmChanges(router, runtime.alarms.open_alarms()))
    """

    def __init__(self, router: AlertRouter, open_now: list[Alarm] | None = None) -> None:
        self.router = router
        self._seen: dict[int, Alarm] = {a.alarm_id: a for a in open_now or ()}

    def __call__(self, alarm: Alarm) -> None:
        before = self._seen.get(alarm.alarm_id)
        if str(alarm.state) == "resolved":
            if before is not None:
                del self._seen[alarm.alarm_id]
                self.router.alarm_changed(alarm, "resolved")
            return  # later news of a resolved alarm (its writes settling) is not a change
        self._seen[alarm.alarm_id] = alarm
        if before is None:
            self.router.alarm_changed(alarm, "raised")
            return
        if _reflagged(before, alarm):
            self.router.alarm_changed(alarm, "reflagged")
        if alarm.escalated and not before.escalated:
            self.router.alarm_changed(alarm, "escalated")


def _reflagged(before: Alarm, alarm: Alarm) -> bool:
    """New activity on an alarm a person had already acknowledged."""
    flagged = getattr(alarm, "needs_attention", None)
    if flagged is not None:  # incidents: new activity marks the acknowledged alarm
        return bool(flagged) and not getattr(before, "needs_attention", False)
    return str(alarm.state) != "raised" and alarm.active and not before.active
