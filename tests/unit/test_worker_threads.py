"""How many inference threads each detector worker gets."""

from __future__ import annotations

import pytest

from inference import worker_pool
from inference.worker_pool import DetectorSpec, threads_per_worker


@pytest.mark.parametrize(
    ("cores", "devices", "expected"),
    [
        (2, ["cpu", "cpu"], 1),  # two workers on two cores: one thread each
        (2, ["cpu"], 2),  # one worker has the machine
        (16, ["cpu"] * 4, 4),
        (2, ["cpu"] * 3, 1),  # never below one
        (8, ["cuda:0", "cuda:1"], 8),  # GPU workers share nothing among CPU workers
    ],
)
def test_cores_are_shared_among_cpu_workers(monkeypatch, cores, devices, expected) -> None:
    monkeypatch.setattr(worker_pool, "cpu_cores", lambda: cores)
    assert threads_per_worker(DetectorSpec(), devices) == expected


def test_an_explicit_thread_count_wins(monkeypatch) -> None:
    monkeypatch.setattr(worker_pool, "cpu_cores", lambda: 16)
    assert threads_per_worker(DetectorSpec(threads_per_worker=3), ["cpu"] * 8) == 3


def test_the_pool_passes_its_share_to_each_worker(monkeypatch) -> None:
    monkeypatch.setattr(worker_pool, "cpu_cores", lambda: 2)
    pool = worker_pool.WorkerPool(DetectorSpec("ssdlite"), cpu_workers=2)
    assert pool.size == 2
    assert pool.threads_per_worker == 1
