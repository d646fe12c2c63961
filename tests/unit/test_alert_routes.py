"""The alert router's logic above the network: an alarm's zones, which routes it takes, what
each change is, the words the console shows for each outcome, the delivery threads' retries and
stop, the site file's alert_destinations and the secrets they name.

The transports here are fakes (named so): scripted answers instead of a broker or a server. The
real MQTT broker and HTTP server are in tests/integration/test_alerts.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import re
import shutil
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from console.alarms import Alarm
from console.alerts.config import Transports, route_warnings, transports
from console.alerts.delivery import Delivery, DeliveryOutcome, DeliveryWorker, RetryPolicy
from console.alerts.places import Places
from console.alerts.router import AlarmChanges, AlertNotice, AlertRouter
from console.alerts.transports import DeliveryError, OutgoingMessage, shown_url, signature
from console.clock import FakeClock
from console.operator_check import OperatorCheck, OperatorCheckSettings, page_on_escalation
from console.rules.details import ProximityDetail
from console.secrets import SecretsError, SharedSecret, load_all_secrets, load_secrets
from console.severity import Severity
from console.site_file import Site, SiteFileError, load_site
from console.store import AlarmState

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example_site"
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
FAST = RetryPolicy(first_pause_s=0.01, factor=2.0, max_pause_s=0.04)


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(EXAMPLE / "site.yaml")


def site_with(folder: Path, extra: str = "", *, routes: str = "") -> Site:
    """The example site with more sections at the end and more alert routes."""
    shutil.copytree(EXAMPLE, folder / "site")
    path = folder / "site" / "site.yaml"
    text = path.read_text().replace("\nguards:", routes + "\nguards:")
    path.write_text(text + extra)
    return load_site(path)


def alarm(
    alarm_id: int = 1,
    *,
    subject: str = "milkmaid",
    camera: str = "cam-east",
    severity: str = "high",
    **changes: Any,
) -> Alarm:
    made = Alarm(
        alarm_id,
        camera,
        "proximity",
        subject,
        Severity(severity),
        AlarmState.RAISED,
        START,
        START,
        START,
        (3,),
        1.0,
        1.0,
        ProximityDetail(box=(1.0, 2.0, 3.0, 4.0)),
    )
    return replace(made, **changes)


# --------------------------------------------------------------------------- where an alarm is


def test_an_alarm_is_in_its_zone_its_objects_zone_or_its_cameras_zone(site: Site) -> None:
    places = Places(site)
    assert places.zones_of("milkmaid", "cam-east") == ("east-gallery",)  # the object's centre
    assert places.zones_of("night-watch", "cam-west") == ("west-gallery",)
    assert places.zones_of("store", "cam-corridor") == ("store",)  # a zone is its own
    assert places.zones_of("cam-corridor", "cam-corridor") == ("corridor",)  # camera health
    assert places.zones_of("somebody-else", "cam-east") == ("east-gallery",)  # the camera's
    assert places.zones_of("nothing", "no-camera") == ()
    assert (places.name("milkmaid"), places.camera_name("cam-east")) == (
        "The Milkmaid",
        "East gallery",
    )


def test_routes_match_severity_and_zones(tmp_path: Path) -> None:
    site = site_with(
        tmp_path, routes="  - match: {severity: [medium], zones: [store]}\n    to: [supervisor]\n"
    )
    router = AlertRouter(site, FakeClock(START), audit_log=None, report=lambda _o: None)
    assert router.destinations_for(alarm()) == {"control_room", "gallery"}
    assert router.destinations_for(alarm(severity="medium")) == {"control_room"}
    in_store = alarm(subject="store", camera="cam-corridor", severity="medium")
    assert router.destinations_for(in_store) == {"control_room", "supervisor"}


# --------------------------------------------------------------------------- what changed


class RecordingRouter:
    """A fake router: notes what it is told."""

    def __init__(self) -> None:
        self.told: list[tuple[int, str]] = []

    def alarm_changed(self, alarm: Alarm, what: str) -> None:
        self.told.append((alarm.alarm_id, what))


def test_alarm_changes_tell_raised_escalated_and_resolved_once() -> None:
    router = RecordingRouter()
    reloaded = alarm(9, state=AlarmState.ACKNOWLEDGED, active=False)
    changes = AlarmChanges(router, [reloaded])  # type: ignore[arg-type]
    first = alarm(1)
    changes(first)
    changes(replace(first, track_ids=(3, 4)))  # folded: not news
    changes(replace(first, escalated=True))
    acknowledged = replace(first, escalated=True, state=AlarmState.ACKNOWLEDGED, active=False)
    changes(acknowledged)
    resolved = replace(acknowledged, state=AlarmState.RESOLVED)
    changes(resolved)
    changes(replace(resolved, unsaved=0))  # its writes settling later
    changes(replace(reloaded, escalated=True))  # a reloaded alarm is never "raised"
    assert router.told == [(1, "raised"), (1, "escalated"), (1, "resolved"), (9, "escalated")]


def test_new_activity_on_an_acknowledged_alarm_is_a_reflag(site: Site, tmp_path: Path) -> None:
    """Through the real alarm manager (and store): raised, escalated, acknowledged, quiet, the
    person back: re-flagged."""
    from console.alarms import AlarmManager
    from console.rules import Finding
    from console.store import Store

    clock = FakeClock(START)
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}", snapshots_dir=tmp_path / "snaps")
    try:
        manager = AlarmManager(store, site, clock)
        router = RecordingRouter()
        manager.add_listener(AlarmChanges(router, manager.open_alarms()))  # type: ignore[arg-type]

        def seen() -> list[Alarm]:
            finding = Finding(
                "proximity", "cam-east", "milkmaid", 3, Severity.HIGH, clock.now(), 1.0
            )
            return manager.ingest([finding])

        (raised,) = seen()
        clock.advance(31)
        manager.tick()  # unacknowledged past 30 s: escalated
        manager.acknowledge(raised.alarm_id, "ana")
        clock.advance(120)
        manager.tick()  # the risk has gone
        seen()  # and is back
        manager.flush()
    finally:
        store.close()
    assert router.told[:3] == [(1, "raised"), (1, "escalated"), (1, "reflagged")]


def test_an_unknown_change_is_refused(site: Site) -> None:
    router = AlertRouter(site, FakeClock(START), audit_log=None, report=lambda _o: None)
    with pytest.raises(ValueError, match="'acknowledged' is not one of raised, reflagged"):
        router.alarm_changed(alarm(), "acknowledged")


# --------------------------------------------------------------------------- the words


class FakeTransport:
    """Scripted answers: an exception to raise per try (None: acknowledged)."""

    def __init__(self, kind: str, answers: list[DeliveryError | None]) -> None:
        self.kind = kind
        self.endpoint = f"{kind.lower()}://fake"
        self.answers = answers
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is not None:
            raise answer
        self.sent.append(message)


class FakeAuditLog:
    """Notes the audit rows it is handed, and on which thread."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.threads: set[str] = set()

    def write(self, task: Any) -> Any:
        from concurrent.futures import Future

        self.rows.append(task)
        self.threads.add(threading.current_thread().name)
        done: Future[Any] = Future()
        done.set_result(None)
        return done


class Harness:
    """A router whose supervisor goes through fake transports; this test's thread plays the
    core: it takes the delivery threads' outcomes from a queue and hands them to the router."""

    def __init__(self, site: Site, fakes: list[FakeTransport], *, retry_for_s: float = 5.0) -> None:
        self.outcomes: queue.Queue[DeliveryOutcome] = queue.Queue()
        self.notices: list[AlertNotice] = []
        self.audit = FakeAuditLog()
        self.router = AlertRouter(
            site,
            FakeClock(START),
            audit_log=self.audit,
            report=self.outcomes.put,
            listener=self.notices.append,
            retry=FAST,
            endpoints=Transports({"supervisor": tuple(fakes)}, (), {"supervisor": retry_for_s}),
        )
        self.router.start()

    def settle(self, finals: int) -> AlertNotice:
        """Hand outcomes to the router until `finals` final ones came; the last notice."""
        while finals:
            outcome = self.outcomes.get(timeout=30)
            self.router.delivered(outcome)
            finals -= outcome.final
        return self.notices[-1]

    def close(self) -> None:
        self.router.stop()


def test_a_page_is_said_as_it_goes_sending_retrying_sent(site: Site) -> None:
    fake = FakeTransport("MQTT", [DeliveryError("broker busy"), None])
    harness = Harness(site, [fake])
    try:
        harness.router.alarm_changed(alarm(7), "escalated")
        assert harness.notices[0].text == "escalated: paging the supervisor via MQTT…"
        final = harness.settle(1)
    finally:
        harness.close()
    states = [n.state for n in harness.notices if n.destination == "supervisor"]
    assert states == ["sending", "retrying", "sent"]
    retrying = next(n for n in harness.notices if n.state == "retrying")
    assert retrying.text.startswith(
        "escalated: paging the supervisor via MQTT (try 1 failed: broker busy; again in"
    )
    assert re.fullmatch(r"escalated: supervisor paged via MQTT at \d\d:\d\d:\d\d", final.text)
    assert final.about == "alarm 7: proximity at The Milkmaid (high)"
    body = json.loads(fake.sent[0].body)
    assert fake.sent[0].topic == "east-gallery/high"
    assert (body["change"], body["alarm_id"], body["place"]) == ("escalated", 7, "The Milkmaid")
    assert "box" not in json.dumps(body)  # the finding's detail stays home
    (row,) = harness.audit.rows
    assert (row.action, row.target, row.detail["tries"]) == ("alert.sent", "alarm:7", 2)
    assert harness.audit.threads == {threading.current_thread().name}


def test_one_transport_failing_is_said_beside_the_one_that_worked(site: Site) -> None:
    mqtt = FakeTransport("MQTT", [DeliveryError("not authorized", permanent=True)])
    hook = FakeTransport("webhook", [None])
    harness = Harness(site, [mqtt, hook])
    try:
        harness.router.control_room_event("operator_check_unanswered", "nobody answered")
        final = harness.settle(2)
    finally:
        harness.close()
    assert final.state == "partly_sent"
    assert re.fullmatch(
        r"still-there check unanswered: supervisor paged via webhook at \d\d:\d\d:\d\d; "
        r"MQTT FAILED after 1 try: not authorized",
        final.text,
    )
    assert sorted(r.action for r in harness.audit.rows) == ["alert.failed", "alert.sent"]
    assert hook.sent[0].topic == "console/operator_check_unanswered"


def test_every_try_failing_is_never_called_sent(site: Site) -> None:
    fake = FakeTransport("MQTT", [DeliveryError("connection refused")])
    harness = Harness(site, [fake], retry_for_s=0.05)
    try:
        harness.router.alarm_changed(alarm(3), "escalated")
        final = harness.settle(1)
    finally:
        harness.close()
    assert final.state == "failed"
    assert re.fullmatch(
        r"escalated: supervisor NOT paged: MQTT failed after \d+ tries: connection refused",
        final.text,
    )
    assert "paged via" not in " ".join(n.text for n in harness.notices)
    assert [r.action for r in harness.audit.rows] == ["alert.failed"]


def test_no_supervisor_is_said_and_audited_and_replay_sends_nothing(site: Site) -> None:
    audit = FakeAuditLog()
    notices: list[AlertNotice] = []
    router = AlertRouter(
        site, FakeClock(START), audit_log=audit, report=lambda _o: None, listener=notices.append
    )
    router.alarm_changed(alarm(4), "escalated")
    assert [n.text for n in notices] == [
        "escalated: NO supervisor destination configured — only this console knows"
    ]
    assert [(r.action, r.detail["destination"]) for r in audit.rows] == [
        ("alert.not_sent", "supervisor")
    ]
    assert router.stats().not_configured == 2  # the gallery route and the supervisor

    replayed: list[AlertNotice] = []
    replay = AlertRouter(
        site,
        FakeClock(START),
        audit_log=audit,
        report=lambda _o: None,
        listener=replayed.append,
        send=False,
    )
    replay.alarm_changed(alarm(5), "escalated")
    assert {n.state for n in replayed} == {"not_sent"}
    assert replayed[-1].text == "escalated: supervisor not told (replay: nothing is sent)"


# --------------------------------------------------------------------------- delivery threads


def test_pauses_double_up_to_their_cap() -> None:
    policy = RetryPolicy()
    assert [policy.pause_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 15, 15]


def test_stop_gives_up_what_waits_and_joins_the_thread() -> None:
    outcomes: list[DeliveryOutcome] = []
    worker = DeliveryWorker(
        FakeTransport("MQTT", [DeliveryError("down")]),
        outcomes.append,
        retry=RetryPolicy(first_pause_s=60),
    )
    worker.start()
    delivery = Delivery("supervisor", "alarm:1", "escalated", OutgoingMessage("t", b"{}"), "m", 600)
    worker.submit(delivery)
    while not outcomes:  # the first try failed; the next is a minute away
        threading.Event().wait(0.01)
    worker.stop()
    assert worker.thread is None
    assert [o.state for o in outcomes] == ["retrying", "failed"]
    assert outcomes[-1].reason == "the console stopped before it was acknowledged (last try: down)"
    worker.submit(delivery)  # after stop: failed at once, never queued
    assert outcomes[-1].reason == "the alert service is not running"


# --------------------------------------------------------------------------- configuration


def test_the_reference_site_warns_of_what_goes_nowhere(site: Site) -> None:
    assert [(w.path, w.text) for w in route_warnings(site)] == [
        (
            "alert_routes[0].to",
            "gallery alerts go nowhere: no gallery destination is configured "
            "(alert_destinations.gallery)",
        ),
        (
            "alert_destinations.supervisor",
            "escalations page nobody: no supervisor destination is configured, only this "
            "console knows",
        ),
    ]


def test_configured_destinations_warn_of_nothing_but_missing_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("hook: {secret: s3cret}\n")
    secrets.chmod(0o600)
    monkeypatch.setenv("NIGHTWATCH_SECRETS", str(secrets))
    site = site_with(
        tmp_path,
        "alert_destinations:\n"
        "  gallery: {mqtt: {host: broker.museum.lan, credentials: broker}}\n"
        "  supervisor: {webhook: {url: 'https://hooks.museum.example/page?token=abc', "
        "secret: hook}, retry_for_s: 90}\n",
    )
    assert route_warnings(site) == []
    built = transports(site)
    assert [(w.path, w.text) for w in built.warnings] == [
        (
            "alert_destinations.gallery.mqtt.credentials",
            "gallery MQTT: no credentials 'broker' in the secrets store; connecting without",
        )
    ]
    (mqtt,) = built.by_destination["gallery"]
    (hook,) = built.by_destination["supervisor"]
    assert mqtt.endpoint == "mqtt://broker.museum.lan:1883"
    assert hook.endpoint == "https://hooks.museum.example/page"  # the token is not shown
    assert built.retry_for_s == {"gallery": 60.0, "supervisor": 90.0}


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("  gallery: {}\n", "alert_destinations.gallery: needs mqtt, webhook or both"),
        (
            "  gallery: {mqtt: {host: 'mqtt://broker'}}\n",
            "alert_destinations.gallery.mqtt.host: a host name or address, not a URL",
        ),
        (
            "  gallery: {mqtt: {host: 'nw:hunter2@broker'}}\n",
            "alert_destinations.gallery.mqtt.host: credentials belong in the secrets store "
            "(name them in `credentials`) (got '***@broker')",
        ),
        (
            "  gallery: {mqtt: {host: broker, topic_prefix: 'museum/#'}}\n",
            "alert_destinations.gallery.mqtt.topic_prefix: a topic prefix has no wildcards",
        ),
        (
            "  gallery: {mqtt: {host: broker, port: 70000}}\n",
            "alert_destinations.gallery.mqtt.port: should be less than or equal to 65535",
        ),
        (
            "  supervisor: {webhook: {url: 'https://page:hunter2@hooks.example/x'}}\n",
            "alert_destinations.supervisor.webhook.url: credentials belong in the secrets store "
            "(name a shared secret in `secret`), not in the URL (got 'https://***@hooks.example/x')",
        ),
        (
            "  supervisor: {webhook: {url: 'ftp://hooks.example/x'}}\n",
            "alert_destinations.supervisor.webhook.url: a webhook is an https:// (or http://) URL",
        ),
        (
            "  supervisor: {webhook: {url: 'https://h/x', timout_s: 3}}\n",
            "alert_destinations.supervisor.webhook.timout_s: unknown field, did you mean "
            "'timeout_s'?",
        ),
        (
            "  supervisor: {webhook: {url: 'https://h/x'}, retry_for_s: 0}\n",
            "alert_destinations.supervisor.retry_for_s: should be greater than 0",
        ),
    ],
)
def test_bad_destinations_name_the_file_the_field_and_the_value(
    tmp_path: Path, extra: str, problem: str
) -> None:
    with pytest.raises(SiteFileError) as caught:
        site_with(tmp_path, "alert_destinations:\n" + extra)
    (line,) = caught.value.problems
    assert line.startswith(str(tmp_path / "site" / "site.yaml") + ": " + problem)
    assert "hunter2" not in line


# --------------------------------------------------------------------------- secrets and signing


def test_shared_secrets_sit_beside_credentials_and_are_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("cam-east: {username: v, password: p}\nhook: {secret: 'k3y'}\n")
    path.chmod(0o600)
    credentials, shared = load_all_secrets(path)
    assert set(credentials) == {"cam-east"}
    assert load_secrets(path) == credentials  # cameras see only credentials
    assert shared == {"hook": SharedSecret("k3y")}
    assert "k3y" not in repr(shared)
    path.write_text("hook: {secret: a, username: b}\n")
    with pytest.raises(SecretsError, match="hook: needs exactly username and password"):
        load_all_secrets(path)


def test_the_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"alarm_id":1}'
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert signature(SharedSecret("k3y"), body) == f"sha256={expected}"


def test_a_shown_url_holds_no_query_and_no_password() -> None:
    assert shown_url("https://hooks.example/p/q?token=abc#x") == "https://hooks.example/p/q"
    assert shown_url("https://u:pw@hooks.example/p") == "https://***@hooks.example/p"


# --------------------------------------------------------------------------- the still-there check


def test_an_unanswered_check_is_handed_to_the_router(site: Site) -> None:
    clock = FakeClock(START)  # 03:00 in Amsterdam: closed
    check = OperatorCheck(
        site,
        clock,
        settings=OperatorCheckSettings(min_interval_min=1, max_interval_min=1, answer_within_s=60),
        seed=1,
    )
    pages: list[tuple[str, str]] = []
    page_on_escalation(check, lambda kind, text: pages.append((kind, text)))
    check.tick()
    clock.advance(61)
    check.tick()  # the prompt
    assert pages == []
    clock.advance(61)
    check.tick()  # unanswered: escalated
    assert pages == [
        (
            "operator_check_unanswered",
            "nobody answered the still-there check at console control-room within 60 s (check 1)",
        )
    ]


def test_an_applied_edit_renews_the_warnings_with_the_destinations_that_run(
    tmp_path: Path,
) -> None:
    """Routes follow an edit at once; destinations only at the next start: a route fixed in an
    edit takes its warning away, a destination added in one does not (it sends nothing yet)."""
    site = site_with(tmp_path / "a")
    router = AlertRouter(site, FakeClock(START), audit_log=None, report=lambda _o: None)
    assert [w.path for w in router.warnings] == [
        "alert_routes[0].to",
        "alert_destinations.supervisor",
    ]
    assert all(w.fix for w in router.warnings)  # each says how to cure it
    with_supervisor = site_with(
        tmp_path / "b",
        "alert_destinations:\n  supervisor: {webhook: {url: 'https://hooks.museum.example/p'}}\n",
    )
    assert router.use_site(with_supervisor) is False  # takes effect at the next start
    assert [w.path for w in router.warnings] == [
        "alert_routes[0].to",
        "alert_destinations.supervisor",
    ]
    text = (tmp_path / "a" / "site" / "site.yaml").read_text()
    fixed = tmp_path / "c" / "site.yaml"
    fixed.parent.mkdir(parents=True)
    for item in (tmp_path / "a" / "site").iterdir():
        if item.name != "site.yaml":
            (fixed.parent / item.name).symlink_to(item)
    fixed.write_text(text.replace("to: [control_room, gallery]", "to: [control_room]"))
    router.use_site(load_site(fixed))
    assert [w.path for w in router.warnings] == ["alert_destinations.supervisor"]
