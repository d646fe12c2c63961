"""Ctrl-C and SIGTERM close the console window cleanly: the real `nightwatch run` window
(offscreen) on the courtyard site, with real capture and detector processes, in a child
process that the test signals."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.sites import courtyard_site

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_the_window_and_stores_every_alarm(tmp_path: Path, sig) -> None:
    site = courtyard_site(tmp_path)
    db = tmp_path / "console.db"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # the window's QSettings go here
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "ui.cli", "run", str(site), "--db", f"sqlite:///{db}"]
    command += ["--detector", "ssdlite", "--workers", "1"]
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    errors: list[str] = []
    live = threading.Event()

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            errors.append(line)
            text = "".join(errors)
            if "cam-path is live" in text and "console window open on" in text:
                live.set()

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not live.is_set() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live.is_set(), "".join(errors)[-3000:]
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert proc.stdout is not None
        out = proc.stdout.read()  # little goes to stdout: the pipe cannot have filled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(10)
    log = "".join(errors)
    assert proc.returncode == 0, log[-3000:]
    assert f"stopped on {signal.Signals(sig).name}; every alarm is stored" in out
    assert f"{signal.Signals(sig).name} received: closing the console" in log
    assert "KeyboardInterrupt" not in log
    assert "store closed" in log
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # the window saved its layout on the way out, as when its close button is used
    assert list((tmp_path / "config").rglob("*.conf")), "no QSettings file written"
