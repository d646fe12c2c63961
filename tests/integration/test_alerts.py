"""Alerts that reach someone: a real mosquitto broker and a real paho subscriber, a real HTTP
server for webhooks, a real SQLite store and the runtime's own core thread.

The runtime runs without cameras: its core thread and its alert delivery threads are started,
the alarms come from scripted findings (a FakeClock drives escalation), and every delivery goes
over loopback to a broker or a server the test started. Nothing is said to be sent unless the
broker acknowledged it (PUBACK) or the server answered 2xx; each outcome is in the audit log,
written by the core thread alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from console.alerts.router import AlertNotice
from console.clock import FakeClock
from console.rules import Finding
from console.rules.details import ProximityDetail
from console.runtime import SiteRuntime
from console.severity import Severity
from console.site_file import Site, load_site
from console.store import AppendAudit, AuditEntry, Store, audit_entries
from tests.mqtt_broker import MosquittoBroker, Subscriber, mosquitto_missing
from tests.webhook_receiver import WebhookReceiver

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example_site"
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # a Saturday night: the museum is closed
CLOCK_TEXT = r"\d\d:\d\d:\d\d"
FORBIDDEN_KEYS = {"snapshot", "image", "jpeg", "track_ids", "track_id", "user", "password", "box"}

_NO_BROKER = mosquitto_missing()
needs_mosquitto = pytest.mark.skipif(_NO_BROKER is not None, reason=_NO_BROKER or "")


# --------------------------------------------------------------------------- the console


class RecordingStore(Store):
    """A real store that notes which threads hand it writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writers: set[str] = set()

    def write(self, task: Any) -> Any:
        self.writers.add(threading.current_thread().name)
        return super().write(task)


class Console:
    """A SiteRuntime with its core and alert threads running, and no cameras."""

    def __init__(self, site: Site, store: RecordingStore) -> None:
        self.clock = FakeClock(START)
        self.store = store
        self.notices: list[AlertNotice] = []
        self._cond = threading.Condition()
        self.runtime = SiteRuntime(site, store, clock=self.clock, on_alert_notice=self._heard)
        self.runtime.alerts.start()
        self.runtime.core.start()
        self.core(self.runtime.alerts.announce_start)

    def _heard(self, notice: AlertNotice) -> None:
        with self._cond:
            self.notices.append(notice)
            self._cond.notify_all()

    def core(self, job: Callable[[], Any]) -> Any:
        return self.runtime.core.post(job).result(timeout=30)

    def raise_alarm(self, subject: str = "milkmaid", camera: str = "cam-east") -> int:
        finding = Finding(
            "proximity", camera, subject, 3, Severity.HIGH, self.clock.now(), 1.0, ProximityDetail()
        )
        (alarm,) = self.core(lambda: self.runtime.alarms.ingest([finding]))
        return int(alarm.alarm_id)

    def escalate(self) -> None:
        """Past the high alarms' escalation time (30 s), then one tick on the core."""
        self.clock.advance(31.0)
        self.core(self.runtime.tick)

    def wait_for(self, wanted: Callable[[AlertNotice], bool], timeout_s: float = 60) -> AlertNotice:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = [n for n in self.notices if n.state != "warning" and wanted(n)]
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                assert left > 0, f"no such notice; heard: {[n.text for n in self.notices]}"
                self._cond.wait(left)

    def audit(self, prefix: str = "alert.") -> list[AuditEntry]:
        """The audit rows so far (a marker written through the core: every row before it is on
        disk), those whose action starts with `prefix`."""
        self.runtime.write_audit(AppendAudit("test", "test.marker")).result(timeout=30)
        return [e for e in self.store.read(audit_entries) if e.action.startswith(prefix)]

    def close(self) -> None:
        self.runtime.alerts.stop()
        self.runtime.core.stop()
        self.runtime.alarms.flush(timeout_s=10)


def site_with(folder: Path, destinations: str) -> Site:
    shutil.copytree(EXAMPLE, folder / "site")
    path = folder / "site" / "site.yaml"
    path.write_text(path.read_text() + destinations)
    return load_site(path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordingStore]:
    store = RecordingStore(f"sqlite:///{tmp_path / 'alarms.db'}", snapshots_dir=tmp_path / "snaps")
    yield store
    store.close()


@pytest.fixture(autouse=True)
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A secrets file of the test's own (never the user's)."""
    path = tmp_path / "secrets.yaml"
    monkeypatch.setenv("NIGHTWATCH_SECRETS", str(path))
    return path


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker(tmp_path / "broker")
    try:
        broker.start()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"mosquitto cannot start here: {exc}")
    yield broker
    broker.close()


@pytest.fixture
def console_of(store: RecordingStore) -> Iterator[Callable[[Site], Console]]:
    made: list[Console] = []

    def make(site: Site) -> Console:
        console = Console(site, store)
        made.append(console)
        return console

    yield make
    for console in made:
        console.close()
        assert not console.runtime.alerts.threads(), "an alert thread outlived stop()"


def mqtt_destinations(port: int, *, retry_for_s: float = 30, credentials: str = "") -> str:
    creds = f", credentials: {credentials}" if credentials else ""
    mqtt = f"{{host: 127.0.0.1, port: {port}, timeout_s: 2{creds}}}"
    return (
        "alert_destinations:\n"
        f"  gallery: {{mqtt: {mqtt}, retry_for_s: {retry_for_s}}}\n"
        f"  supervisor: {{mqtt: {mqtt}, retry_for_s: {retry_for_s}}}\n"
    )


# --------------------------------------------------------------------------- MQTT


@needs_mosquitto
def test_a_high_alarm_reaches_the_gallery_and_its_escalation_pages_the_supervisor(
    tmp_path: Path, broker: MosquittoBroker, console_of: Callable[[Site], Console]
) -> None:
    subscriber = Subscriber(broker.port, "nightwatch/#")
    try:
        console = console_of(site_with(tmp_path, mqtt_destinations(broker.port)))
        alarm_id = console.raise_alarm()

        topic, payload = subscriber.next()
        assert topic == "nightwatch/gallery/east-gallery/high"
        assert payload["alarm_id"] == alarm_id
        assert (payload["change"], payload["rule"], payload["severity"]) == (
            "raised",
            "proximity",
            "high",
        )
        assert (payload["place"], payload["camera"], payload["zone_name"]) == (
            "The Milkmaid",
            "East gallery",
            "East gallery",
        )
        assert payload["state"] == "raised"
        assert payload["site"] == "Example Museum"
        assert not FORBIDDEN_KEYS & set(payload), "the payload holds no image, track or person"
        sent = console.wait_for(lambda n: n.what == "raised" and n.final)
        assert re.fullmatch(f"raised: gallery alerted via MQTT at {CLOCK_TEXT}", sent.text)

        console.escalate()
        received = {subscriber.next()[0]: None for _ in range(2)}
        assert set(received) == {
            "nightwatch/gallery/east-gallery/high",  # the route's destination hears it too
            "nightwatch/supervisor/east-gallery/high",
        }
        paged = console.wait_for(
            lambda n: n.what == "escalated" and n.destination == "supervisor" and n.final
        )
        assert paged.state == "sent"
        assert re.fullmatch(f"escalated: supervisor paged via MQTT at {CLOCK_TEXT}", paged.text)
        assert paged.about == f"alarm {alarm_id}: proximity at The Milkmaid (high)"

        # the all-clear goes where the news went, so a strobe can stop
        console.core(lambda: console.runtime.alarms.acknowledge(alarm_id, "ana"))
        console.core(lambda: console.runtime.alarms.resolve(alarm_id, "false_alarm", "ana"))
        cleared = {subscriber.next()[1]["change"] for _ in range(2)}
        assert cleared == {"resolved"}
        for destination in ("gallery", "supervisor"):
            console.wait_for(
                lambda n, d=destination: n.what == "resolved" and n.destination == d and n.final
            )

        rows = console.audit()
        sent_rows = [(r.action, r.detail["destination"], r.detail["what"]) for r in rows]
        assert sorted(sent_rows) == sorted(
            [
                ("alert.sent", "gallery", "raised"),
                ("alert.sent", "gallery", "escalated"),
                ("alert.sent", "supervisor", "escalated"),
                ("alert.sent", "gallery", "resolved"),
                ("alert.sent", "supervisor", "resolved"),
            ]
        )
        assert {r.target for r in rows} == {f"alarm:{alarm_id}"}
        assert rows[0].detail["endpoint"] == f"mqtt://127.0.0.1:{broker.port}"
        stats = console.runtime.alerts.stats()
        assert (stats.sent, stats.failed, stats.waiting) == (5, 0, 0)
    finally:
        subscriber.close()
    assert console.store.writers == {"nightwatch-core"}, "only the core thread writes the store"


@needs_mosquitto
def test_a_broker_killed_mid_way_is_retried_then_reported_failed_and_nothing_is_claimed(
    tmp_path: Path, broker: MosquittoBroker, console_of: Callable[[Site], Console]
) -> None:
    subscriber = Subscriber(broker.port, "nightwatch/supervisor/#")
    console = console_of(site_with(tmp_path, mqtt_destinations(broker.port, retry_for_s=2.5)))
    try:
        first = console.raise_alarm()
        console.escalate()
        assert subscriber.next()[1]["alarm_id"] == first
        for destination in ("gallery", "supervisor"):  # every news of the first alarm is out
            console.wait_for(
                lambda n, d=destination: (
                    n.alarm_id == first
                    and n.what == "escalated"
                    and n.destination == d
                    and n.state == "sent"
                )
            )
    finally:
        subscriber.close()
    broker.kill()

    second = console.raise_alarm(subject="night-watch", camera="cam-west")
    console.escalate()
    retrying = console.wait_for(
        lambda n: n.alarm_id == second and n.destination == "supervisor" and n.state == "retrying"
    )
    assert "paging the supervisor via MQTT (try 1 failed: cannot connect to" in retrying.text
    failed = console.wait_for(
        lambda n: n.alarm_id == second and n.destination == "supervisor" and n.final
    )
    assert failed.state == "failed"
    assert failed.text.startswith("escalated: supervisor NOT paged: MQTT failed after 2 tries: ")
    assert "Connection refused" in failed.text
    assert "paged via" not in failed.text

    rows = [r for r in console.audit() if r.target == f"alarm:{second}"]
    assert {r.action for r in rows} == {"alert.failed"}
    supervisor = next(r for r in rows if r.detail["destination"] == "supervisor")
    assert supervisor.detail["tries"] == 2
    assert "Connection refused" in supervisor.detail["reason"]
    stats = console.runtime.alerts.stats()
    assert stats.failed == 3  # the second alarm's raise (gallery), escalation (gallery, supervisor)
    assert stats.retries >= 3
    assert console.store.writers == {"nightwatch-core"}


@needs_mosquitto
def test_broker_credentials_come_from_the_secrets_store_and_a_refusal_is_not_retried(
    tmp_path: Path, secrets: Path, store: RecordingStore, caplog: pytest.LogCaptureFixture
) -> None:
    broker = MosquittoBroker(tmp_path / "broker", users={"nightwatch": "s3cret-broker-pw"})
    try:
        broker.start()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"mosquitto cannot start here: {exc}")
    subscriber: Subscriber | None = None
    consoles: list[Console] = []
    try:
        subscriber = Subscriber(
            broker.port, "nightwatch/#", user="nightwatch", password="s3cret-broker-pw"
        )
        secrets.write_text("broker: {username: nightwatch, password: s3cret-broker-pw}\n")
        secrets.chmod(0o600)
        site = site_with(tmp_path / "a", mqtt_destinations(broker.port, credentials="broker"))
        console = Console(site, store)
        consoles.append(console)
        console.raise_alarm()
        assert subscriber.next()[0] == "nightwatch/gallery/east-gallery/high"
        console.wait_for(lambda n: n.state == "sent")
        console.close()

        secrets.write_text("broker: {username: nightwatch, password: wrong-password}\n")
        with caplog.at_level("DEBUG"):
            console = Console(site, store)
            consoles.append(console)
            console.raise_alarm(subject="night-watch", camera="cam-west")  # alarm 1 is open
            failed = console.wait_for(lambda n: n.final and n.state == "failed")
        assert "refused the connection: Not authorized" in failed.text
        assert "failed after 1 try" in failed.text  # refused credentials are not tried again
        rows = console.audit()
        assert rows[-1].action == "alert.failed"
        assert rows[-1].detail["tries"] == 1
        everything = caplog.text + json.dumps([r.detail for r in rows]) + failed.text
        assert "wrong-password" not in everything
        assert "s3cret-broker-pw" not in everything
    finally:
        if subscriber is not None:
            subscriber.close()
        for console in consoles:
            console.close()
        broker.close()


# --------------------------------------------------------------------------- webhooks


def webhook_destinations(url: str, *, retry_for_s: float, timeout_s: float = 2) -> str:
    hook = f"{{url: '{url}', secret: hook-key, timeout_s: {timeout_s}}}"
    return f"alert_destinations:\n  supervisor: {{webhook: {hook}, retry_for_s: {retry_for_s}}}\n"


@pytest.fixture
def hook_secret(secrets: Path) -> str:
    secrets.write_text("hook-key: {secret: 'a long shared secret'}\n")
    secrets.chmod(0o600)
    return "a long shared secret"


@pytest.fixture
def receiver_of() -> Iterator[Callable[[list[int | str]], WebhookReceiver]]:
    made: list[WebhookReceiver] = []

    def make(answers: list[int | str]) -> WebhookReceiver:
        made.append(WebhookReceiver(answers).start())
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def test_a_webhook_gets_signed_json_and_a_500_is_tried_again(
    tmp_path: Path, hook_secret: str, receiver_of, console_of
) -> None:
    receiver = receiver_of([500, 200])
    console = console_of(site_with(tmp_path, webhook_destinations(receiver.url, retry_for_s=30)))
    alarm_id = console.raise_alarm()
    console.escalate()
    retrying = console.wait_for(lambda n: n.state == "retrying")
    assert "try 1 failed:" in retrying.text
    assert "answered HTTP 500" in retrying.text
    paged = console.wait_for(lambda n: n.final)
    assert re.fullmatch(f"escalated: supervisor paged via webhook at {CLOCK_TEXT}", paged.text)

    assert len(receiver.received) == 2  # the 500, then the 200
    headers, body = receiver.received[-1]
    expected = hmac.new(hook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Nightwatch-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert (payload["alarm_id"], payload["change"], payload["destination"]) == (
        alarm_id,
        "escalated",
        "supervisor",
    )
    assert payload["message_id"] == json.loads(receiver.received[0][1])["message_id"]
    (row,) = console.audit()
    assert (row.action, row.detail["tries"]) == ("alert.sent", 2)
    assert row.detail["transport"] == "webhook"
    assert row.detail["endpoint"] == receiver.url


def test_a_webhook_that_never_answers_times_out_and_is_reported_failed(
    tmp_path: Path, hook_secret: str, receiver_of, console_of
) -> None:
    receiver = receiver_of(["hang"])
    destinations = webhook_destinations(receiver.url, retry_for_s=2, timeout_s=0.5)
    console = console_of(site_with(tmp_path, destinations))
    console.core(lambda: console.runtime.alerts.control_room_event("storage_fault", "test"))
    failed = console.wait_for(lambda n: n.final)
    assert failed.state == "failed"
    assert failed.text == (
        f"storage fault: supervisor NOT paged: webhook failed after 2 tries: {receiver.url}: "
        "no answer within 0.5 s"
    )
    (row,) = console.audit()
    assert (row.action, row.target, row.detail["what"]) == (
        "alert.failed",
        "console:control-room",
        "storage_fault",
    )


def test_a_webhook_404_is_reported_at_once(
    tmp_path: Path, hook_secret: str, receiver_of, console_of
) -> None:
    receiver = receiver_of([404])
    console = console_of(site_with(tmp_path, webhook_destinations(receiver.url, retry_for_s=60)))
    console.core(
        lambda: console.runtime.alerts.control_room_event("operator_check_unanswered", "nobody")
    )
    failed = console.wait_for(lambda n: n.final)
    assert failed.text == (
        "still-there check unanswered: supervisor NOT paged: webhook failed after 1 try: "
        f"{receiver.url} answered HTTP 404 Not Found"
    )
    assert len(receiver.received) == 1


# --------------------------------------------------------------------------- nothing configured


def test_the_reference_site_loads_and_says_what_goes_nowhere(
    tmp_path: Path, console_of, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    shared = Path(__file__).resolve().parents[3] / "shared" / "examples" / "site.yaml"
    site_file = shared if shared.exists() else EXAMPLE / "site.yaml"
    assert main(["check", str(site_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"{site_file}: warning: alert_routes[0].to: gallery alerts go nowhere: no gallery "
        "destination is configured (alert_destinations.gallery)"
    )
    assert out[-1].endswith(": ok")

    console = console_of(load_site(site_file))
    warnings = [r.detail["warning"] for r in console.audit("alerts.warning")]
    assert warnings[0].startswith("gallery alerts go nowhere: no gallery destination is configured")
    assert any("escalations page nobody" in w for w in warnings)

    alarm_id = console.raise_alarm()
    console.escalate()
    notice = console.wait_for(lambda n: n.what == "escalated")
    assert notice.state == "not_configured"
    assert notice.text == (
        "escalated: NO supervisor destination configured — only this console knows"
    )
    (row,) = console.audit("alert.")
    assert (row.action, row.target, row.detail["reason"]) == (
        "alert.not_sent",
        f"alarm:{alarm_id}",
        "no supervisor destination is configured",
    )
    stats = console.runtime.alerts.stats()
    assert (stats.sent, stats.submitted, stats.not_configured) == (0, 0, 3)


@needs_mosquitto
def test_stop_gives_up_what_waits_reports_it_and_joins_the_threads(
    tmp_path: Path, broker: MosquittoBroker, store: RecordingStore
) -> None:
    console = Console(site_with(tmp_path, mqtt_destinations(broker.port, retry_for_s=600)), store)
    broker.kill()
    console.raise_alarm()
    console.wait_for(lambda n: n.state == "retrying")
    runtime = console.runtime
    runtime.alerts.stop()
    assert not runtime.alerts.threads()
    failed = console.wait_for(lambda n: n.final)
    assert "the console stopped before it was acknowledged (last try: cannot connect" in failed.text
    assert [r.action for r in console.audit()] == ["alert.failed"]
    runtime.core.stop()
