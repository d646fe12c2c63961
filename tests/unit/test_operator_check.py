"""The lone-operator check: prompts only at night, at seeded random intervals; silence escalates
and is written into the store's audit log."""

from __future__ import annotations

import random
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.clock import FakeClock
from console.operator_check import (
    CheckState,
    OperatorCheck,
    OperatorCheckEvent,
    OperatorCheckSettings,
)
from console.site_file import load_site
from console.store import Store, StoreWriteError, audit_entries, verify_chain

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
# The example museum (Europe/Amsterdam, UTC+1 in March) is open Tuesday 10:00-17:00.
TUESDAY_NOON = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)  # 12:00 local: open
TUESDAY_NIGHT = datetime(2026, 3, 3, 21, 0, tzinfo=UTC)  # 22:00 local: closed
SETTINGS = OperatorCheckSettings(min_interval_min=10, max_interval_min=30, answer_within_s=60)
SEED = 1234


@pytest.fixture(scope="module")
def site():
    return load_site(SITE)


@pytest.fixture
def store(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}", snapshots_dir=tmp_path / "snaps")
    yield store
    store.close()


def written(store: Store) -> list:
    """The check's audit rows, once its queued writes are done."""
    assert store.flush(timeout_s=60)
    return [e for e in store.read(audit_entries) if e.action.startswith("operator_check.")]


def make_check(
    site, clock: FakeClock, store=None
) -> tuple[OperatorCheck, list[OperatorCheckEvent]]:
    check = OperatorCheck(site, clock, store, settings=SETTINGS, seed=SEED)
    heard: list[OperatorCheckEvent] = []
    check.add_listener(heard.append)
    return check, heard


def expected_intervals_s(count: int) -> list[float]:
    """The waits the check draws from its seeded generator, in order."""
    rng = random.Random(SEED)
    return [rng.uniform(10 * 60, 30 * 60) for _ in range(count)]


def run_until_prompt(check: OperatorCheck, clock: FakeClock, limit_s: float) -> float:
    """Tick once a second; returns the seconds waited until the prompt (fails past limit_s)."""
    waited = 0.0
    while waited <= limit_s:
        if any(e.kind == "prompt" for e in check.tick()):
            return waited
        clock.advance(1.0)
        waited += 1.0
    pytest.fail(f"no prompt within {limit_s} s")


def test_no_prompt_while_the_museum_is_open(site) -> None:
    clock = FakeClock(TUESDAY_NOON)
    check, heard = make_check(site, clock)
    for _ in range(4 * 60):  # four hours of ticks, a minute apart (interval at most 30 min)
        check.tick()
        clock.advance(60)
    assert site.is_open(clock.now())  # 16:00 local, still open
    assert heard == []
    assert check.state == CheckState.OFF
    assert check.prompts == 0


def test_prompts_at_night_at_the_seeded_random_intervals(site) -> None:
    clock = FakeClock(TUESDAY_NIGHT)
    check, heard = make_check(site, clock)
    first, second = expected_intervals_s(2)
    waited = run_until_prompt(check, clock, limit_s=30 * 60 + 5)
    assert 10 * 60 <= waited <= 30 * 60
    assert waited == pytest.approx(first, abs=1.0)  # ticks are a second apart
    assert heard[-1].kind == "prompt"
    assert heard[-1].deadline_in_s == 60
    assert check.state == CheckState.PROMPTING

    clock.advance(20)
    answer = check.answer("ana")
    assert answer is not None
    assert answer.response_s == pytest.approx(20.0)
    assert not answer.late
    assert check.state == CheckState.WAITING
    assert check.due_in_s() == pytest.approx(second)
    waited = run_until_prompt(check, clock, limit_s=30 * 60 + 5)
    assert waited == pytest.approx(second, abs=1.0)
    assert [e.kind for e in heard] == ["prompt", "answered", "prompt"]
    assert heard[-1].prompt_id == 2


def test_an_answered_prompt_does_not_escalate(site, store) -> None:
    clock = FakeClock(TUESDAY_NIGHT)
    check, heard = make_check(site, clock, store)
    run_until_prompt(check, clock, limit_s=30 * 60 + 5)
    clock.advance(59)
    check.tick()
    assert check.deadline_in_s() == pytest.approx(1.0)
    assert check.answer("ana") is not None
    for _ in range(120):  # well past the deadline: nothing to escalate
        clock.advance(1)
        check.tick()
    assert "escalated" not in [e.kind for e in heard]
    assert check.escalations == 0
    actions = [(e.action, e.user) for e in written(store)]
    assert actions == [
        ("operator_check.prompt", "system"),
        ("operator_check.answered", "ana"),
    ]


def test_an_unanswered_prompt_escalates_once_and_is_stored(site, store) -> None:
    clock = FakeClock(TUESDAY_NIGHT)
    check, heard = make_check(site, clock, store)
    run_until_prompt(check, clock, limit_s=30 * 60 + 5)
    prompted_at = clock.now()
    for _ in range(59):
        clock.advance(1)
        check.tick()
    assert check.state == CheckState.PROMPTING  # 59 s: not yet
    clock.advance(1)
    events = check.tick()
    assert [e.kind for e in events] == ["escalated"]
    assert check.state == CheckState.ESCALATED
    for _ in range(300):  # escalates once, the prompt stays up
        clock.advance(1)
        check.tick()
    assert [e.kind for e in heard] == ["prompt", "escalated"]
    assert check.escalations == 1

    entries = written(store)
    escalation = next(e for e in entries if e.action == "operator_check.escalated")
    assert escalation.target == "console:control-room"
    assert escalation.user == "system"
    assert escalation.detail == {"prompt": 1, "unanswered_s": 60}
    assert (escalation.at - prompted_at).total_seconds() == pytest.approx(60.0)
    assert store.read(verify_chain).ok

    late = check.answer("ana")  # the monitor comes back: answered late, logged
    assert late is not None
    assert late.late
    assert late.response_s == pytest.approx(360.0)
    assert written(store)[-1].action == "operator_check.answered"
    assert written(store)[-1].detail["late"] is True
    assert check.state == CheckState.WAITING


def test_a_pending_prompt_is_withdrawn_when_the_museum_opens(site) -> None:
    clock = FakeClock(datetime(2026, 3, 4, 8, 40, tzinfo=UTC))  # Wed 09:40 local, opens 10:00
    settings = OperatorCheckSettings(min_interval_min=5, max_interval_min=10, answer_within_s=3600)
    check = OperatorCheck(site, clock, settings=settings, seed=SEED)
    heard: list[OperatorCheckEvent] = []
    check.add_listener(heard.append)
    run_until_prompt(check, clock, limit_s=10 * 60 + 5)
    assert not site.is_open(clock.now())
    for _ in range(30 * 60):  # past 10:00
        clock.advance(1)
        check.tick()
    assert site.is_open(clock.now())
    assert [e.kind for e in heard] == ["prompt", "withdrawn"]
    assert check.state == CheckState.OFF
    assert check.answer("ana") is None  # nothing to answer any more


def test_escalation_reaches_listeners_even_when_the_store_fails(site) -> None:
    class BrokenStore:
        def write(self, task: object) -> None:
            raise OSError("disk full")

    clock = FakeClock(TUESDAY_NIGHT)
    check, heard = make_check(site, clock, BrokenStore())
    run_until_prompt(check, clock, limit_s=30 * 60 + 5)
    clock.advance(60)
    check.tick()
    assert [e.kind for e in heard] == ["prompt", "escalated"]


def test_escalation_reaches_listeners_when_the_queued_write_fails_later(site, caplog) -> None:
    class FailingStore:
        def write(self, task: object) -> Future:
            failed: Future = Future()
            failed.set_exception(StoreWriteError("cannot write nightwatch.db: the disk is full"))
            return failed

    clock = FakeClock(TUESDAY_NIGHT)
    check, heard = make_check(site, clock, FailingStore())
    run_until_prompt(check, clock, limit_s=30 * 60 + 5)
    clock.advance(60)
    check.tick()
    assert [e.kind for e in heard] == ["prompt", "escalated"]
    assert "escalated not written to the store: cannot write nightwatch.db" in caplog.text


def test_settings_refuse_an_empty_interval() -> None:
    with pytest.raises(ValueError, match="max_interval_min"):
        OperatorCheckSettings(min_interval_min=30, max_interval_min=10)
    with pytest.raises(ValueError, match="answer_within_s"):
        OperatorCheckSettings(answer_within_s=0)
