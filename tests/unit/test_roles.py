"""The role table, enforced at the service layer: every role x every action entry.

A real SQLite store, a real alarm manager on the example site, real argon2id hashes, and the
`ControlRoom` the console and the command-line tools both go through. For each role, each
entry is asked by a signed-in user of that role: exactly what `ROLE_TABLE` allows passes;
everything else is refused with a permission error and leaves one `permission.refused` audit
row naming the user and the act.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console import account_actions, actions, evidence_actions, record_actions, shift_actions
from console.accounts import SERVICE_USER
from console.actions import (
    Acknowledge,
    ActionAnswer,
    AnswerStillThere,
    Comment,
    Dispatch,
    GuardArrived,
    Resolve,
    answer_when_ready,
)
from console.alarms import Alarm, AlarmManager
from console.behaviour import actions as behaviour_actions
from console.behaviour.model import BehaviourModel
from console.clock import FakeClock
from console.control_room import ControlRoom
from console.operator_check import OperatorCheck, OperatorCheckSettings
from console.passwords import Password
from console.presence import Observation, Presence
from console.roles import PERSON_ROLES, ROLE_TABLE, Act, PermissionRefused, Role
from console.rules import Finding
from console.rules.details import BehaviourDetail
from console.severity import Severity
from console.site_file import Site, load_site
from console.store import Outcome, PlaceHold, Store, audit_entries
from console.store.incident_search import IncidentFilter
from inference.detections import Detections
from tests.people import QUICK_HASHING, enroll, password_of

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # the museum is closed
NAMES = {Role.OPERATOR: "night-monitor", Role.SUPERVISOR: "boss", Role.AUDITOR: "audrey"}
ACTION_MODULES = (
    actions,
    shift_actions,
    account_actions,
    record_actions,
    behaviour_actions,
    evidence_actions,
)
SUBJECTS = itertools.count(1)
# The table, spelled out here on its own: the oracle the service layer is checked against
# (not ROLE_TABLE itself, which a test below compares with it).
OPERATOR_MAY = {
    Act.WATCH,
    Act.ACKNOWLEDGE,
    Act.DISPATCH,
    Act.RESOLVE,
    Act.COMMENT,
    Act.ANSWER_CHECK,
    Act.WATCH_PERSON,
    Act.DISMISS_ADVISORY,
}
EXPECTED: dict[Role, set[Act]] = {
    Role.OPERATOR: OPERATOR_MAY,
    # issue 18 added the incident browser to the supervisor's view (reading, not exporting)
    Role.SUPERVISOR: OPERATOR_MAY
    | {
        Act.CONFIGURE,
        Act.MANAGE_USERS,
        Act.MUTE_RULES,
        Act.VIEW_ESCALATIONS,
        Act.SWITCH_BEHAVIOUR,
        Act.READ_INCIDENT_LOG,
        Act.HOLD_EVIDENCE,
    },
    Role.AUDITOR: {Act.READ_INCIDENT_LOG, Act.EXPORT, Act.HOLD_EVIDENCE},
    Role.SERVICE: set(),
}


@dataclass
class Case:
    """What an entry needs to be asked for real: alarms in a given state, a prompting check."""

    room: ControlRoom
    manager: AlarmManager
    clock: FakeClock
    site: Site
    user: str
    station: str
    tmp: Path
    walks: Presence | None = None  # what the behaviour model sees

    def alarm(self, *, acknowledged: bool = False, dispatched: bool = False) -> Alarm:
        n = next(SUBJECTS)  # a subject of its own: a new alarm, not folded into another
        self.clock.advance(1)
        now = self.clock.now()
        finding = Finding("proximity", "cam-east", f"object-{n}", n, Severity.HIGH, now, 1.0)
        (alarm,) = self.manager.ingest([finding])
        if acknowledged or dispatched:
            alarm = self.manager.acknowledge(alarm.alarm_id, "setup")
        if dispatched:
            alarm = self.manager.dispatch(alarm.alarm_id, self.site.guards[0].id, "setup")
            assert self.manager.flush()  # the dispatch is stored and its id known
            self.manager.settle()
        return alarm

    def hold(self) -> int:
        """A hold in force on an alarm of its own (placed by setup), for releasing."""
        alarm = self.alarm()
        assert self.manager.flush()
        placed = self.room.store.write(PlaceHold(alarm.alarm_id, "setup", "setup")).result()
        return placed.id

    def prompting_check(self) -> OperatorCheck:
        settings = OperatorCheckSettings(min_interval_min=1, max_interval_min=1)
        check = OperatorCheck(self.site, self.clock, None, settings=settings, seed=1)
        check.tick()  # closed: the next prompt is scheduled
        self.clock.advance(61)
        check.tick()
        return check

    def tracked_person(self) -> int:
        """A new visitor on cam-east, seen by the behaviour model; returns their track id."""
        model = self.room.behaviour_model()
        n = next(SUBJECTS)
        self.clock.advance(1)
        camera = self.walks.update(
            Observation("cam-east", float(n), people_at(n), (1280, 720)), self.clock.now()
        )
        model.observe(camera, self.clock.now(), {n: None})
        return n

    def watched_visitor(self) -> str:
        watched = self.room.behaviour_model().watch(
            "cam-east", self.tracked_person(), "setup", "setup", self.clock.now()
        )
        return watched.visitor_id

    def advisory(self) -> Alarm:
        n = next(SUBJECTS)
        self.clock.advance(1)
        detail = BehaviourDetail(reason="stayed 9 min near The Milkmaid; usual is under 1 min")
        finding = Finding(
            "behaviour", "cam-east", f"visitor-{n}", n, Severity.LOW, self.clock.now(), 1.0, detail
        )
        (alarm,) = self.manager.ingest([finding])
        return alarm


def people_at(n: int) -> Detections:
    x = 100.0 + (n % 10) * 100
    return Detections([[x, 400.0, x + 50, 600.0]], [0.9], track_id=[n])


# Every role-gated entry of the service layer: the act it needs, and how to ask it.
ENTRIES: list[tuple[Act, Callable[[Case], object]]] = [
    (Act.WATCH, lambda c: shift_actions.Watch(c.user, c.station)),
    (
        Act.WATCH,
        lambda c: shift_actions.HandOver(
            c.user, c.station, "quiet night", "relief", password_of("relief"), True
        ),
    ),
    (Act.ACKNOWLEDGE, lambda c: Acknowledge(c.alarm().alarm_id, c.user)),
    (
        Act.DISPATCH,
        lambda c: Dispatch(c.alarm(acknowledged=True).alarm_id, c.site.guards[0].id, c.user),
    ),
    (Act.DISPATCH, lambda c: GuardArrived(c.alarm(dispatched=True).alarm_id, c.user)),
    (
        Act.RESOLVE,
        lambda c: Resolve(c.alarm(acknowledged=True).alarm_id, Outcome.FALSE_ALARM, c.user),
    ),
    (Act.COMMENT, lambda c: Comment(c.alarm().alarm_id, c.user, "seen on cam-east")),
    (Act.ANSWER_CHECK, lambda c: AnswerStillThere(c.prompting_check(), c.user)),
    (Act.CONFIGURE, lambda c: record_actions.ChangeSetting(c.user, "lock_after_min", 5)),
    (
        Act.MANAGE_USERS,
        lambda c: account_actions.AddAccount(
            c.user, f"new-{c.station}", "operator", Password("a long new password")
        ),
    ),
    (Act.MANAGE_USERS, lambda c: account_actions.DisableAccount(c.user, "spare")),
    (Act.MANAGE_USERS, lambda c: account_actions.EnableAccount(c.user, "spare")),
    (
        Act.MANAGE_USERS,
        lambda c: account_actions.SetPassword(c.user, "spare", Password("another long secret")),
    ),
    (Act.MANAGE_USERS, lambda c: account_actions.ListAccounts(c.user)),
    (
        Act.WATCH_PERSON,
        lambda c: behaviour_actions.WatchPerson(
            c.user, "cam-east", c.tracked_person(), "asked about the alarm wiring"
        ),
    ),
    (
        Act.WATCH_PERSON,
        lambda c: behaviour_actions.UnwatchPerson(c.user, c.watched_visitor(), "left"),
    ),
    (
        Act.DISMISS_ADVISORY,
        lambda c: behaviour_actions.DismissAsNormal(c.user, c.advisory().alarm_id),
    ),
    (Act.SWITCH_BEHAVIOUR, lambda c: behaviour_actions.SwitchBehaviour(c.user, True, "checked")),
    (Act.SWITCH_BEHAVIOUR, lambda c: behaviour_actions.ShowBehaviour(c.user)),
    (Act.VIEW_ESCALATIONS, lambda c: record_actions.ViewEscalations(c.user)),
    (Act.READ_INCIDENT_LOG, lambda c: record_actions.ReadIncidentLog(c.user)),
    (
        Act.READ_INCIDENT_LOG,
        lambda c: record_actions.SearchIncidents(c.user, IncidentFilter(rules=("proximity",))),
    ),
    (
        Act.READ_INCIDENT_LOG,
        lambda c: record_actions.ReadIncidentFigures(c.user, IncidentFilter(), "Europe/Amsterdam"),
    ),
    (Act.READ_INCIDENT_LOG, lambda c: record_actions.ViewIncident(c.user, c.alarm().alarm_id)),
    (Act.EXPORT, lambda c: evidence_actions.AuthorizeExport(c.user)),
    (Act.READ_INCIDENT_LOG, lambda c: evidence_actions.AuthorizeVerify(c.user)),
    (Act.READ_INCIDENT_LOG, lambda c: evidence_actions.ShowSigningKey(c.user)),
    (
        Act.HOLD_EVIDENCE,
        lambda c: evidence_actions.HoldIncident(c.user, c.alarm().alarm_id, "police case", "PC-1"),
    ),
    (Act.HOLD_EVIDENCE, lambda c: evidence_actions.ReleaseIncidentHold(c.user, c.hold())),
]
# Acts of the table that no service entry uses yet, each with the reason.
NO_ENTRY_YET = {Act.MUTE_RULES: "muting rules comes with the supervisor tools"}
# Entries that prove who asks with a password, or need only a session: tested in test_accounts.
NOT_ROLE_GATED = {
    "LogIn",
    "Unlock",
    "CreateFirstSupervisor",
    "Lock",
    "LogOut",
    "ChangeOwnPassword",
    "ShowSettings",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def site() -> Site:
    return load_site(SITE)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}", snapshots_dir=tmp_path / "snaps")
    yield store
    assert store.close().all_stored


def ready(room: ControlRoom, action: object) -> ActionAnswer:
    return answer_when_ready(room.apply(action)).result(timeout=30)  # type: ignore[arg-type]


def refusals(store: Store) -> list:
    store.flush()
    return [e for e in store.read(audit_entries) if e.action == "permission.refused"]


@pytest.mark.parametrize("role", [*PERSON_ROLES, Role.SERVICE], ids=lambda r: r.value)
def test_every_role_may_do_exactly_what_the_table_says(
    role: Role, store: Store, site: Site, clock: FakeClock, tmp_path: Path
) -> None:
    for person_role, name in [*NAMES.items(), (Role.OPERATOR, "relief")]:
        enroll(store, name, person_role)
    enroll(store, "spare", Role.OPERATOR)
    manager = AlarmManager(store, site, clock)
    behaviour = BehaviourModel(site)
    seen = Presence(site)
    wrong: list[str] = []
    for n, (act, ask) in enumerate(ENTRIES):
        # a fresh service layer over the same store for each entry: what one entry did (a
        # hand-over, a disabled account) does not decide the next
        store.flush()
        room = ControlRoom.load(
            store, clock, alarms=manager, hashing=QUICK_HASHING, behaviour=behaviour
        )
        station = f"desk-{n}"
        if role == Role.SERVICE:
            user = room.accounts.start_service(station).user
        else:
            user = NAMES[role]
            signed = ready(room, shift_actions.LogIn(user, password_of(user), station))
            assert signed.ok, signed.refusal
        case = Case(room, manager, clock, site, user, station, tmp_path, seen)
        action = ask(case)
        before = len(refusals(store))
        answer = ready(room, action)
        rows = refusals(store)[before:]
        label = f"{role.value} x {type(action).__name__} ({act.value})"
        if act in EXPECTED[role]:
            if not answer.ok or rows:
                wrong.append(f"{label}: should pass, got {answer.refusal!r}")
        else:
            if answer.ok or answer.code != "role":
                wrong.append(f"{label}: should be refused for the role, got {answer!r}")
            elif len(rows) != 1 or rows[0].user != user or rows[0].detail["act"] != act.value:
                wrong.append(f"{label}: no single audit row naming the user and act: {rows}")
            elif rows[0].detail["role"] != role.value:
                wrong.append(f"{label}: the audit row names role {rows[0].detail['role']}")
            else:
                with pytest.raises(PermissionRefused, match="may not"):
                    room.accounts.authorize(user, act)
    assert not wrong, "\n".join(wrong)


def test_the_entries_cover_every_action_and_every_act() -> None:
    """A new action must join the table-driven test (or say why it is not role-gated), and every
    act of the table must have an entry (or be listed as not having one yet)."""
    declared = {
        name
        for module in ACTION_MODULES
        for name, obj in inspect.getmembers(module, inspect.isclass)
        if obj.__module__ == module.__name__ and hasattr(obj, "act") and hasattr(obj, "verb")
    }
    site = load_site(SITE)
    clock = FakeClock(START)
    probe = Case(None, None, clock, site, "u", "s", Path("/tmp"))  # type: ignore[arg-type]
    covered: set[str] = set()
    acts_with_entries: set[Act] = set()
    for act, ask in ENTRIES:
        try:
            action = ask(probe)
        except AttributeError:  # needs a manager: an alarm step
            action = None
        if action is not None:
            covered.add(type(action).__name__)
            assert type(action).act == act, f"{type(action).__name__} names {type(action).act}"
        acts_with_entries.add(act)
    covered |= {"Acknowledge", "Dispatch", "GuardArrived", "Resolve", "Comment", "ViewIncident"}
    covered |= {"WatchPerson", "UnwatchPerson", "DismissAsNormal"}  # need a running model
    covered |= {"HoldIncident", "ReleaseIncidentHold"}  # need an alarm too
    assert declared - covered - NOT_ROLE_GATED == set()
    assert set(Act) - acts_with_entries == set(NO_ENTRY_YET)


def test_an_action_that_names_no_act_is_refused_and_audited(store: Store, clock: FakeClock) -> None:
    enroll(store, "boss", Role.SUPERVISOR)
    room = ControlRoom.load(store, clock, hashing=QUICK_HASHING)
    assert ready(room, shift_actions.LogIn("boss", password_of("boss"), "desk")).ok

    @dataclass(frozen=True)
    class Sneaky:
        user: str
        verb = "do something new"

        def perform(self, room: ControlRoom) -> str:
            raise AssertionError("performed without a role check")

    answer = ready(room, Sneaky("boss"))
    assert (answer.ok, answer.code) == (False, "undeclared")
    (row,) = refusals(store)
    assert row.user == "boss"
    assert row.detail["code"] == "undeclared"


def test_the_role_table_in_words() -> None:
    assert {role: set(acts) for role, acts in ROLE_TABLE.items()} == EXPECTED
    assert all(role.may(act) == (act in EXPECTED[role]) for role in Role for act in Act)
    assert Role.OPERATOR.acts < Role.SUPERVISOR.acts
    assert Role.SUPERVISOR.acts - Role.OPERATOR.acts == {
        Act.CONFIGURE,
        Act.MANAGE_USERS,
        Act.MUTE_RULES,
        Act.VIEW_ESCALATIONS,
        Act.SWITCH_BEHAVIOUR,
        Act.READ_INCIDENT_LOG,
        Act.HOLD_EVIDENCE,
    }
    assert Role.AUDITOR.acts == {Act.READ_INCIDENT_LOG, Act.EXPORT, Act.HOLD_EVIDENCE}
    assert ROLE_TABLE[Role.SERVICE] == frozenset()
    docs = Path(__file__).resolve().parents[2] / "docs"
    from console.roles import role_table_markdown

    table = role_table_markdown()
    assert table in (docs / "users-and-roles.md").read_text()
    assert table in (docs / "ARCHITECTURE.md").read_text()


def test_refusals_of_people_not_signed_in_are_audited(store: Store, clock: FakeClock) -> None:
    enroll(store, "night-monitor", Role.OPERATOR)
    room = ControlRoom.load(store, clock, hashing=QUICK_HASHING)
    for user, code in (("night-monitor", "signed_out"), ("mallory", "no_account")):
        answer = ready(room, record_actions.ShowSettings(user))
        assert (answer.ok, answer.code) == (False, code)
    assert [(r.user, r.detail["code"]) for r in refusals(store)] == [
        ("night-monitor", "signed_out"),
        ("mallory", "no_account"),
    ]
    room.accounts.start_service("headless")
    assert SERVICE_USER not in {u.name for u in room.accounts.views()}
