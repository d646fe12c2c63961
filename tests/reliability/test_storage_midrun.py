"""Storage faults under a running console (CI-sized: each fault once; bench/reliability.py faults
times them): the database made read-only, moved away and back, deleted, its disk filled, each
under a real headless console (tests/reliability/faults.py says what is checked). No time is
asserted; the deadlines are generous."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.disks import IS_ROOT
from tests.media import media
from tests.reliability.faults import FAULTS, read_only_supported, run_fault
from tests.reliability.sites import reliability_site

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize("fault", FAULTS)
def test_a_storage_fault_mid_run_is_shown_and_loses_nothing_it_can_keep(
    tmp_path: Path, fault: str
) -> None:
    if fault == "disk full" and not IS_ROOT:
        pytest.skip("a full disk under a running console needs a tmpfs (root)")
    if fault == "read-only" and (why := read_only_supported(tmp_path / "probe")) is not None:
        pytest.skip(why)
    site = reliability_site(tmp_path / "site", [str(media("vtest.avi"))])
    run = run_fault(fault, tmp_path / "run", site)
    assert run.problems == [], run.line()
    assert run.shown_s is not None  # reported, in words naming the database
    assert run.message is not None
    assert "cannot write" in run.message
    assert len(run.during) == 3  # raised and on screen during the fault
    if fault == "deleted":  # gone for good: the close names what it could not store
        assert run.closed["all_stored"] is False
        assert "alarm.raise x3" in str(run.closed["text"])
    else:
        assert run.cleared_s is not None
        assert run.closed["all_stored"] is True
