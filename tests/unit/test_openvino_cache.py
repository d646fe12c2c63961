"""The cache of converted models (`openvino_runtime.cached_ir`): built once, in place atomically,
verified on every load. The builds here write plain files (no OpenVINO needed); the real model
is cached in tests/integration/test_detect_openvino.py."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from inference.detectors.openvino_runtime import (
    CHECKSUMS,
    IR_BIN,
    IR_XML,
    cached_ir,
    cpu_config,
    verified,
)

KEY = "model-abc123-openvino-v1"


def entries(root: Path) -> list[str]:
    """What the cache root holds, lock files aside (they stay: removing one races a waiter)."""
    return sorted(p.name for p in root.iterdir() if not p.name.endswith(".lock"))


class CountingBuild:
    """Writes a two-file "IR" and counts how often it was asked to."""

    def __init__(self, text: str = "<net/>") -> None:
        self.calls = 0
        self.text = text

    def __call__(self, folder: Path) -> None:
        self.calls += 1
        (folder / IR_XML).write_text(self.text)
        (folder / IR_BIN).write_bytes(b"\x00weights" * 1000)


def test_built_once_then_reused(tmp_path: Path) -> None:
    build = CountingBuild()
    folder = cached_ir(KEY, build, tmp_path)
    assert folder == tmp_path / KEY
    assert verified(folder)
    assert sorted(p.name for p in folder.iterdir()) == [CHECKSUMS, IR_BIN, IR_XML]
    recorded = json.loads((folder / CHECKSUMS).read_text())
    assert recorded["key"] == KEY
    assert cached_ir(KEY, build, tmp_path) == folder
    assert build.calls == 1
    assert entries(tmp_path) == [KEY]  # nothing temporary left


@pytest.mark.parametrize(
    "damage",
    ["truncate-bin", "edit-xml", "drop-checksums", "garble-checksums", "drop-bin"],
)
def test_a_damaged_cache_is_found_and_rebuilt(tmp_path: Path, damage: str) -> None:
    build = CountingBuild()
    folder = cached_ir(KEY, build, tmp_path)
    good_bin = (folder / IR_BIN).read_bytes()
    if damage == "truncate-bin":
        (folder / IR_BIN).write_bytes(good_bin[:100])
    elif damage == "edit-xml":
        (folder / IR_XML).write_text("<net>changed</net>")
    elif damage == "drop-checksums":
        (folder / CHECKSUMS).unlink()
    elif damage == "garble-checksums":
        (folder / CHECKSUMS).write_text("{not json")
    else:
        (folder / IR_BIN).unlink()
    assert not verified(folder)
    assert cached_ir(KEY, build, tmp_path) == folder
    assert build.calls == 2
    assert verified(folder)
    assert (folder / IR_BIN).read_bytes() == good_bin
    assert entries(tmp_path) == [KEY]  # the damaged copy is gone


def test_a_build_that_fails_leaves_no_cache(tmp_path: Path) -> None:
    def crashing(folder: Path) -> None:
        (folder / IR_XML).write_text("<net/>")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cached_ir(KEY, crashing, tmp_path)
    assert entries(tmp_path) == []

    def incomplete(folder: Path) -> None:
        (folder / IR_XML).write_text("<net/>")

    with pytest.raises(RuntimeError, match=f"wrote no {IR_BIN}"):
        cached_ir(KEY, incomplete, tmp_path)
    assert entries(tmp_path) == []


def test_a_build_finished_first_elsewhere_is_kept(tmp_path: Path) -> None:
    """Where the lock does not hold (say, a cache on a network share), a build that finds the
    folder already in place and sound keeps it and throws its own away."""
    elsewhere = cached_ir(KEY, CountingBuild("<net>first</net>"), tmp_path / "elsewhere")
    root = tmp_path / "cache"

    def slower(folder: Path) -> None:
        shutil.copytree(elsewhere, root / KEY)  # the other machine finishes meanwhile
        CountingBuild("<net>second</net>")(folder)

    folder = cached_ir(KEY, slower, root)
    assert (folder / IR_XML).read_text() == "<net>first</net>"
    assert verified(folder)
    assert entries(root) == [KEY]


def test_workers_starting_together_build_once(tmp_path: Path) -> None:
    """The second worker waits for the first's build (a file lock) instead of repeating it."""
    second_started = threading.Event()
    calls: list[str] = []

    def slow_build(folder: Path) -> None:
        calls.append(threading.current_thread().name)
        second_started.wait(10)
        time.sleep(0.3)  # the second worker reaches the lock meanwhile
        CountingBuild()(folder)

    def second() -> None:
        second_started.set()
        cached_ir(KEY, slow_build, tmp_path)

    first = threading.Thread(target=cached_ir, args=(KEY, slow_build, tmp_path), name="first")
    first.start()
    while not calls:
        time.sleep(0.01)
    other = threading.Thread(target=second, name="second")
    other.start()
    first.join(20)
    other.join(20)
    assert calls == ["first"]
    assert verified(tmp_path / KEY)


def test_rebuild_replaces_a_verified_cache(tmp_path: Path) -> None:
    cached_ir(KEY, CountingBuild("<net>old</net>"), tmp_path)
    folder = cached_ir(KEY, CountingBuild("<net>new</net>"), tmp_path, rebuild=True)
    assert (folder / IR_XML).read_text() == "<net>new</net>"
    assert verified(folder)
    assert entries(tmp_path) == [KEY]


def test_builds_left_by_a_crash_are_cleared_once_old(tmp_path: Path) -> None:
    old = tmp_path / f".{KEY}-dead.part"
    recent = tmp_path / ".other-key-busy.part"
    for path in (old, recent):
        path.mkdir()
        (path / IR_XML).write_text("half")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    cached_ir(KEY, CountingBuild(), tmp_path)
    assert not old.exists()
    assert recent.exists()  # perhaps another worker's build in progress


def test_cpu_config_pins_nothing_and_refuses_zero_threads() -> None:
    config = cpu_config(2)
    assert config == {
        "PERFORMANCE_HINT": "THROUGHPUT",
        "INFERENCE_NUM_THREADS": 2,
        "INFERENCE_PRECISION_HINT": "f32",  # not bfloat16, which finds other people
        "ENABLE_CPU_PINNING": False,
    }
    assert cpu_config(1, "LATENCY")["PERFORMANCE_HINT"] == "LATENCY"
    with pytest.raises(ValueError, match="at least 1"):
        cpu_config(0)
    with pytest.raises(ValueError, match="unknown performance hint"):
        cpu_config(2, "FAST")
