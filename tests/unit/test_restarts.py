"""The restart back-off of capture processes and detector workers, on a fake clock."""

from __future__ import annotations

import pytest

from inference.restarts import RestartBackoff, RestartPolicy


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_first_failure_is_restarted_at_once_and_repeats_back_off(clock) -> None:
    backoff = RestartBackoff(RestartPolicy(0.2, 30.0, healthy_after_s=60.0), clock)
    delays = []
    for _ in range(10):
        backoff.started()
        clock.now += 5.0  # dies 5 s after each start: not healthy
        delays.append(backoff.failed())
    assert delays == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0])
    assert backoff.failures == 10


def test_a_process_that_ran_well_for_a_while_counts_as_a_first_failure(clock) -> None:
    backoff = RestartBackoff(RestartPolicy(0.2, 30.0, healthy_after_s=60.0), clock)
    for _ in range(6):  # six quick deaths in a row: up to 6.4 s
        backoff.started()
        clock.now += 1.0
        backoff.failed()
    backoff.started()
    clock.now += 60.0  # then a healthy minute
    assert backoff.ran_s() == pytest.approx(60.0)
    assert backoff.failed() == pytest.approx(0.2), "the sixth crash costs what the first did"
    assert backoff.failures == 1
    backoff.started()
    clock.now += 59.9  # just short of healthy: the count goes on
    assert backoff.failed() == pytest.approx(0.4)


def test_a_week_of_healthy_runs_never_backs_off(clock) -> None:
    backoff = RestartBackoff(RestartPolicy(0.5, 15.0, healthy_after_s=60.0), clock)
    for _ in range(50):
        backoff.started()
        clock.now += 3 * 3600.0
        assert backoff.failed() == pytest.approx(0.5)


def test_not_running_has_run_for_nothing(clock) -> None:
    backoff = RestartBackoff(RestartPolicy(), clock)
    assert backoff.ran_s() == 0.0
    assert backoff.failed() == pytest.approx(0.2)  # killed before it was started: a failure


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first_s": -1.0}, "first_s"),
        ({"first_s": 5.0, "max_s": 1.0}, "first_s"),
        ({"factor": 0.5}, "factor"),
        ({"healthy_after_s": 0.0}, "healthy_after_s"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        RestartPolicy(**kwargs)
