"""Accounts, sessions, the sign-in back-off, hand-overs and locks, through the service layer over
a real SQLite store, with real argon2id hashes and a FakeClock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.account_actions import AddAccount, DisableAccount, EnableAccount, SetPassword
from console.accounts import FIRST_WAIT_S, FREE_ATTEMPTS, MAX_WAIT_S, backoff_wait_s
from console.actions import ActionAnswer, answer_when_ready
from console.clock import FakeClock
from console.control_room import ControlRoom
from console.passwords import OWASP_ARGON2ID, PASSWORDS, Password, PasswordHashing
from console.record_actions import ChangeSetting, ShowSettings
from console.roles import Role
from console.shift_actions import (
    ChangeOwnPassword,
    CreateFirstSupervisor,
    HandOver,
    Lock,
    LogIn,
    LogOut,
    Unlock,
)
from console.store import (
    ChangeConsoleSetting,
    Store,
    audit_entries,
    console_settings,
    get_user,
    list_shifts,
    verify_chain,
)
from tests.people import QUICK_HASHING, enroll, password_of

START = datetime(2026, 11, 28, 2, 14, tzinfo=UTC)
DESK = "control-room"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'nightwatch.db'}")
    yield store
    assert store.close().all_stored


def room_over(store: Store, clock: FakeClock) -> ControlRoom:
    store.flush()
    return ControlRoom.load(store, clock, hashing=QUICK_HASHING)


def ask(room: ControlRoom, action: object) -> ActionAnswer:
    return answer_when_ready(room.apply(action)).result(timeout=30)  # type: ignore[arg-type]


def actions(store: Store, prefix: str = "") -> list[tuple[str, str]]:
    store.flush()
    return [(e.user, e.action) for e in store.read(audit_entries) if e.action.startswith(prefix)]


def test_passwords_are_argon2id_at_owasp_parameters() -> None:
    hashed = PASSWORDS.hash(Password("correct horse battery"))
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (OWASP_ARGON2ID.memory_kib, OWASP_ARGON2ID.time_cost) == (19456, 2)
    assert PASSWORDS.verify(hashed, Password("correct horse battery"))
    assert not PASSWORDS.verify(hashed, Password("correct horse battery!"))
    assert not PASSWORDS.verify(None, Password("anything at all"))
    assert PASSWORDS.needs_rehash(QUICK_HASHING.hash(Password("weaker parameters")))
    secret = Password("hunter2 hunter2")
    assert "hunter2" not in repr(secret) + str(secret) + f"{secret}"
    assert "hunter2" not in repr(LogIn("ana", secret, DESK))


def test_sign_in_starts_a_shift_and_sign_out_ends_it(store: Store, clock: FakeClock) -> None:
    enroll(store, "night-monitor", Role.OPERATOR)
    room = room_over(store, clock)
    signed = ask(room, LogIn("Night-Monitor", password_of("night-monitor"), DESK))
    assert signed.ok, signed.refusal
    assert (signed.value.user, signed.value.role) == ("night-monitor", Role.OPERATOR)
    assert signed.value.lock_after_s == 600.0
    clock.advance(3600)
    assert ask(room, LogOut("night-monitor", DESK)).ok
    store.flush()
    (shift,) = store.read(list_shifts, user="night-monitor")
    assert (shift.started_at, shift.ended_at, shift.station) == (
        START,
        START.replace(hour=3),
        DESK,
    )
    assert actions(store, "log") == [("night-monitor", "login"), ("night-monitor", "logout")]
    # signed out: nothing more in their name
    answer = ask(room, ShowSettings("night-monitor"))
    assert (answer.ok, answer.code) == (False, "signed_out")


def test_names_are_unique_whatever_their_case(store: Store, clock: FakeClock) -> None:
    enroll(store, "boss", Role.SUPERVISOR)
    room = room_over(store, clock)
    assert ask(room, LogIn("boss", password_of("boss"), DESK)).ok
    added = ask(room, AddAccount("boss", "Ana", "operator", Password("twelve chars ok")))
    assert added.ok, added.refusal
    again = ask(room, AddAccount("boss", "ANA", "auditor", Password("twelve chars ok")))
    assert not again.ok
    assert "taken" in again.refusal
    for bad, words in (
        ("system", "reserved"),
        ("nightwatch-service", "reserved"),
        ("two words", "letters, digits"),
        ("", "letters, digits"),
    ):
        refused = ask(room, AddAccount("boss", bad, "operator", Password("twelve chars ok")))
        assert words in (refused.refusal or ""), bad
    short = ask(room, AddAccount("boss", "carl", "operator", Password("too short")))
    assert "at least 12 characters" in short.refusal
    store.flush()
    assert store.read(get_user, "ana").name == "Ana"


def test_failed_sign_ins_back_off_per_user_and_per_console(store: Store, clock: FakeClock) -> None:
    assert [backoff_wait_s(n) for n in range(FREE_ATTEMPTS + 3)] == [0, 0, 0, 2, 4, 8]
    assert backoff_wait_s(40) == MAX_WAIT_S
    enroll(store, "night-monitor", Role.OPERATOR)
    enroll(store, "relief", Role.OPERATOR)
    room = room_over(store, clock)
    wrong = Password("not the password")
    for _ in range(FREE_ATTEMPTS):
        answer = ask(room, LogIn("night-monitor", wrong, DESK))
        assert answer.refusal.startswith("wrong name or password")
    assert f"the next try waits {FIRST_WAIT_S:.0f} s" in answer.refusal
    # within the wait even the right password is refused, without being checked
    right = ask(room, LogIn("night-monitor", password_of("night-monitor"), DESK))
    assert right.refusal == "too many failed attempts: try again in 2 s"
    # per console: another name at the same console waits too ...
    other = ask(room, LogIn("relief", password_of("relief"), DESK))
    assert "too many failed attempts" in other.refusal
    # ... but not at another console
    assert ask(room, LogIn("relief", password_of("relief"), "back-office")).ok
    # the back-off is stored: a restarted console (or the next command) still waits
    restarted = room_over(store, clock)
    again = ask(restarted, LogIn("night-monitor", password_of("night-monitor"), DESK))
    assert "too many failed attempts" in again.refusal
    clock.advance(FIRST_WAIT_S)
    assert ask(restarted, LogIn("night-monitor", password_of("night-monitor"), DESK)).ok
    # a success clears it: the next mistakes start counting from zero
    assert ask(restarted, LogOut("night-monitor", DESK)).ok
    answer = ask(restarted, LogIn("night-monitor", wrong, DESK))
    assert answer.refusal == "wrong name or password"
    assert actions(store, "login.") == [
        ("night-monitor", "login.failed"),
        ("night-monitor", "login.failed"),
        ("night-monitor", "login.failed"),
        ("night-monitor", "login.throttled"),
        ("relief", "login.throttled"),
        ("night-monitor", "login.throttled"),
        ("night-monitor", "login.failed"),
    ]
    reasons = [e.detail["reason"] for e in store.read(audit_entries) if e.action == "login.failed"]
    assert reasons == ["wrong password"] * 4


def test_unknown_names_are_refused_in_the_same_words(store: Store, clock: FakeClock) -> None:
    enroll(store, "night-monitor", Role.OPERATOR)
    room = room_over(store, clock)
    unknown = ask(room, LogIn("mallory", Password("any password here"), DESK))
    wrong = ask(room, LogIn("night-monitor", Password("any password here"), "other-desk"))
    assert unknown.refusal == wrong.refusal == "wrong name or password"
    store.flush()
    failed = [e for e in store.read(audit_entries) if e.action == "login.failed"]
    assert [(e.user, e.detail["reason"]) for e in failed] == [
        ("mallory", "unknown name"),
        ("night-monitor", "wrong password"),
    ]


def test_a_disabled_user_cannot_sign_in_and_is_signed_out(store: Store, clock: FakeClock) -> None:
    enroll(store, "boss", Role.SUPERVISOR)
    enroll(store, "night-monitor", Role.OPERATOR)
    room = room_over(store, clock)
    assert ask(room, LogIn("boss", password_of("boss"), "office")).ok
    assert ask(room, LogIn("night-monitor", password_of("night-monitor"), DESK)).ok
    disabled = ask(room, DisableAccount("boss", "night-monitor"))
    assert disabled.ok
    assert disabled.value.disabled
    # their session ended with it
    answer = ask(room, ShowSettings("night-monitor"))
    assert (answer.ok, answer.code) == (False, "disabled")
    refused = ask(room, LogIn("night-monitor", password_of("night-monitor"), DESK))
    assert "disabled" in refused.refusal
    # the last enabled supervisor stays, and nobody disables themselves
    assert "own account" in ask(room, DisableAccount("boss", "boss")).refusal
    assert ask(room, EnableAccount("boss", "night-monitor")).ok
    assert ask(room, LogIn("night-monitor", password_of("night-monitor"), DESK)).ok
    store.flush()
    assert store.read(get_user, "night-monitor").disabled is False
    assert actions(store, "user.") == [
        ("test", "user.add"),
        ("test", "user.add"),
        ("boss", "user.disable"),
        ("boss", "user.enable"),
    ]
    (ended, _current) = store.read(list_shifts, user="night-monitor")
    assert ended.end_reason == "account disabled by boss"


def test_hand_over_records_both_names_and_the_confirmed_note(
    store: Store, clock: FakeClock
) -> None:
    for name, role in (
        ("night-monitor", Role.OPERATOR),
        ("relief", Role.OPERATOR),
        ("audrey", Role.AUDITOR),
    ):
        enroll(store, name, role)
    room = room_over(store, clock)
    assert ask(room, LogIn("night-monitor", password_of("night-monitor"), DESK)).ok
    note = "Alarm 7 at the Milkmaid: guard Anna checked, visitor warned. Cam-east flickers."
    unconfirmed = ask(
        room, HandOver("night-monitor", DESK, note, "relief", password_of("relief"), False)
    )
    assert "must confirm reading" in unconfirmed.refusal
    no_note = ask(
        room, HandOver("night-monitor", DESK, "  ", "relief", password_of("relief"), True)
    )
    assert "write a note" in no_note.refusal
    wrong = ask(
        room, HandOver("night-monitor", DESK, note, "relief", Password("nope nope nope"), True)
    )
    assert wrong.refusal == "wrong name or password"
    auditor = ask(
        room, HandOver("night-monitor", DESK, note, "audrey", password_of("audrey"), True)
    )
    assert "cannot take a shift" in auditor.refusal
    clock.advance(8 * 3600)
    handed = ask(room, HandOver("night-monitor", DESK, note, "relief", password_of("relief"), True))
    assert handed.ok, handed.refusal
    assert (handed.value.user, handed.value.handed_over_by, handed.value.note) == (
        "relief",
        "night-monitor",
        note,
    )
    # the outgoing monitor acts no more; the incoming one does
    assert ask(room, ShowSettings("night-monitor")).code == "signed_out"
    assert ask(room, ShowSettings("relief")).ok
    store.flush()
    (before,) = store.read(list_shifts, user="night-monitor")
    (after,) = store.read(list_shifts, user="relief")
    assert (before.end_reason, before.handover_note, before.handed_to) == (
        "handed over",
        note,
        "relief",
    )
    assert (after.taken_over_from, after.note_confirmed_at, after.station) == (
        before.id,
        START.replace(hour=10),
        DESK,
    )
    (row,) = [e for e in store.read(audit_entries) if e.action == "shift.handover"]
    assert (row.detail["from"], row.detail["to"], row.detail["note"]) == (
        "night-monitor",
        "relief",
        note,
    )
    assert actions(store, "handover.") == [
        ("relief", "handover.failed"),
        ("audrey", "handover.refused"),
    ]


def test_a_locked_console_needs_the_password_to_act(store: Store, clock: FakeClock) -> None:
    enroll(store, "night-monitor", Role.OPERATOR)
    enroll(store, "relief", Role.OPERATOR)
    room = room_over(store, clock)
    assert ask(room, LogIn("night-monitor", password_of("night-monitor"), DESK)).ok
    locked = ask(room, Lock("night-monitor", DESK, reason="no input for 10 min"))
    assert locked.ok
    assert locked.value.locked
    refused = ask(room, ShowSettings("night-monitor"))
    assert (refused.code, refused.refusal) == (
        "locked",
        "the console is locked: night-monitor's password unlocks it",
    )
    assert ask(room, Unlock("night-monitor", DESK, Password("wrong wrong wrong"))).code == (
        "sign_in"
    )
    unlocked = ask(room, Unlock("night-monitor", DESK, password_of("night-monitor")))
    assert unlocked.ok
    assert not unlocked.value.locked
    assert ask(room, ShowSettings("night-monitor")).ok
    # someone else at a locked console takes it over: the locked shift ends
    assert ask(room, Lock("night-monitor", DESK)).ok
    assert ask(room, LogIn("relief", password_of("relief"), DESK)).ok
    store.flush()
    (shift,) = store.read(list_shifts, user="night-monitor")
    assert shift.end_reason == "replaced by relief at the locked console"
    assert actions(store, "console.lock") + actions(store, "unlock") == [
        ("night-monitor", "console.lock"),
        ("night-monitor", "console.lock"),
        ("night-monitor", "unlock.failed"),
        ("night-monitor", "unlock"),
    ]
    # nobody signs in over an unlocked console
    busy = ask(room, LogIn("night-monitor", password_of("night-monitor"), DESK))
    assert "relief is signed in at this console" in busy.refusal


def test_the_first_start_makes_the_first_supervisor_once(store: Store, clock: FakeClock) -> None:
    room = room_over(store, clock)
    assert not room.accounts.has_accounts
    short = ask(room, CreateFirstSupervisor("boss", Password("short"), DESK))
    assert "at least 12" in short.refusal
    first = ask(room, CreateFirstSupervisor("boss", password_of("boss"), DESK))
    assert first.ok, first.refusal
    assert (first.value.user, first.value.role) == ("boss", Role.SUPERVISOR)
    assert room.accounts.has_accounts
    second = ask(room, CreateFirstSupervisor("eve", Password("twelve chars ok"), DESK))
    assert "accounts exist already" in second.refusal
    store.flush()
    (row,) = [e for e in store.read(audit_entries) if e.action == "user.add"]
    assert (row.user, row.detail["first_run"], row.detail["role"]) == ("boss", True, "supervisor")
    assert store.read(get_user, "boss").created_by == "boss"
    # the second start signs in as usual
    assert ask(room_over(store, clock), LogIn("boss", password_of("boss"), "other")).ok


def test_own_password_and_a_supervisors_reset(store: Store, clock: FakeClock) -> None:
    enroll(store, "boss", Role.SUPERVISOR)
    enroll(store, "night-monitor", Role.OPERATOR)
    room = room_over(store, clock)
    assert ask(room, LogIn("boss", password_of("boss"), "office")).ok
    assert ask(room, LogIn("night-monitor", password_of("night-monitor"), DESK)).ok
    new = Password("a brand new passphrase")
    wrong = ask(room, ChangeOwnPassword("night-monitor", DESK, Password("not my password"), new))
    assert wrong.code == "sign_in"
    mine = ask(room, ChangeOwnPassword("night-monitor", DESK, password_of("night-monitor"), new))
    assert mine.ok, mine.refusal
    reset = Password("the supervisor set this")
    assert ask(room, SetPassword("boss", "night-monitor", reset)).ok
    restarted = room_over(store, clock)
    assert not ask(restarted, LogIn("night-monitor", new, DESK)).ok
    assert ask(restarted, LogIn("night-monitor", reset, "other-desk")).ok
    assert actions(store, "user.password") == [
        ("night-monitor", "user.password"),
        ("boss", "user.password"),
    ]


def test_a_console_setting_is_a_config_change_and_survives_a_restart(
    store: Store, clock: FakeClock
) -> None:
    enroll(store, "boss", Role.SUPERVISOR)
    room = room_over(store, clock)
    assert ask(room, LogIn("boss", password_of("boss"), "office")).ok
    for bad in (-1, 1000, "soon", float("nan")):
        refused = ask(room, ChangeSetting("boss", "lock_after_min", bad))
        assert "lock_after_min" in refused.refusal
        assert repr(bad) in refused.refusal
    assert "no console setting" in ask(room, ChangeSetting("boss", "colour", 1)).refusal
    changed = ask(room, ChangeSetting("boss", "lock_after_min", "2.5"))
    assert changed.ok
    assert changed.value.lock_after_s == 150.0
    store.flush()
    assert store.read(console_settings) == {"lock_after_min": 2.5}
    restarted = room_over(store, clock)
    signed = ask(restarted, LogIn("boss", password_of("boss"), "office"))
    assert signed.value.lock_after_s == 150.0
    (row,) = [e for e in store.read(audit_entries) if e.action == "config.change"]
    assert (row.user, row.target, row.detail["before"], row.detail["after"]) == (
        "boss",
        "console:lock_after_min",
        None,
        2.5,
    )
    with pytest.raises(TypeError):
        ChangeConsoleSetting("boss", "x", object())


def test_passwords_never_reach_logs_audit_or_database(
    store: Store, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = ["first supervisor secret", "operator passphrase 1", "typo in passphrase"]
    caplog.set_level(logging.DEBUG)
    room = ControlRoom.load(store, clock, hashing=PasswordHashing())  # the real parameters
    assert ask(room, CreateFirstSupervisor("boss", Password(secrets[0]), "office")).ok
    assert ask(room, AddAccount("boss", "ana", "operator", Password(secrets[1]))).ok
    assert not ask(room, LogIn("ana", Password(secrets[2]), DESK)).ok
    answer = ask(room, LogIn("ana", Password(secrets[1]), DESK))
    assert answer.ok
    store.flush()
    assert store.read(verify_chain).ok
    texts = [caplog.text, repr(answer), repr(store.read(audit_entries))]
    files = [p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("nightwatch.db")]
    for secret in secrets:
        assert all(secret not in text for text in texts), secret
        assert all(secret.encode() not in data for data in files), secret
