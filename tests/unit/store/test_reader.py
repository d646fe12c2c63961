"""The store's reader thread (console/reader.py) on a real SQLite file: reads in order, on its own
thread, errors handed to the asker, nothing left running or waiting after stop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from console.reader import ReaderStopped, StoreReader
from console.store import AddAlarmEvent, EventKind, RaiseAlarm, Store, alarm_events, get_alarm

AT = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def test_reads_run_on_the_reader_thread_in_the_order_asked(store: Store) -> None:
    alarm_id = store.write(
        RaiseAlarm(
            alarm_id=None, camera_id="cam-1", rule="proximity", severity="high", raised_at=AT
        )
    ).result()
    store.write(AddAlarmEvent(alarm_id, EventKind.COMMENT, "ana", {"text": "seen"}, AT)).result()
    threads: list[str] = []

    def where(session: Session, alarm_id: int) -> int:
        threads.append(threading.current_thread().name)
        return alarm_id

    reader = StoreReader(store)
    reader.start()
    try:
        steps = reader.submit(alarm_events, alarm_id)
        record = reader.submit(get_alarm, alarm_id)
        order = [reader.submit(where, n) for n in range(5)]
        assert [e.kind for e in steps.result(timeout=10)] == [EventKind.RAISE, EventKind.COMMENT]
        assert record.result(timeout=10).camera_id == "cam-1"
        assert [f.result(timeout=10) for f in order] == [0, 1, 2, 3, 4]
        assert set(threads) == {"nightwatch-reader"}
        assert reader.reads_done == 7
    finally:
        reader.stop()
    assert not reader.running
    assert "nightwatch-reader" not in {t.name for t in threading.enumerate()}


def test_a_failing_read_is_the_askers_answer_and_the_reader_goes_on(store: Store) -> None:
    reader = StoreReader(store)
    reader.start()
    try:
        missing = reader.submit(get_alarm, 404)
        with pytest.raises(Exception, match="404"):
            missing.result(timeout=10)
        assert reader.submit(alarm_events, 404).result(timeout=10) == []
    finally:
        reader.stop()


def test_reads_asked_before_start_or_after_stop_are_refused(store: Store) -> None:
    reader = StoreReader(store)
    early = reader.submit(alarm_events, 1)
    with pytest.raises(ReaderStopped):
        early.result(timeout=1)
    reader.start()
    with pytest.raises(RuntimeError, match="started already"):
        reader.start()
    gate = threading.Event()
    release = threading.Event()

    def slow(session: Session) -> str:
        gate.set()
        release.wait(10)
        return "done"

    running = reader.submit(slow)
    assert gate.wait(10)
    queued = reader.submit(alarm_events, 1)
    stopper = threading.Thread(target=reader.stop, name="stopper")
    stopper.start()
    release.set()
    stopper.join(10)
    assert running.result(timeout=1) == "done"  # the read in progress finishes
    with pytest.raises(ReaderStopped):
        queued.result(timeout=1)  # the rest is refused, said so
    with pytest.raises(ReaderStopped):
        reader.submit(alarm_events, 1).result(timeout=1)
