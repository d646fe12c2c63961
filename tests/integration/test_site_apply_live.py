"""A site edited while the console runs takes effect without a restart: real footage, the real
detector in worker processes, real capture processes and SQLite.

No camera stream is restarted that the edit did not touch (its status changes are counted: a
reopened stream goes `connecting` again; its capture process and its ring's segment are the
same), open alarms stay open (one on an object the edit deleted keeps its name), a camera added
goes live, one removed goes, one whose source changed is reopened alone; a bad hand edit is
refused, shown and audited while the running site stays."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from console.runtime import RuntimeOptions, SiteNotice, SiteRuntime
from console.site_apply import save_site
from console.site_file import load_site, read_site_text
from console.store import Store, audit_entries, get_alarm, list_config_changes
from inference.sources import StatusChange
from inference.worker_pool import DetectorSpec
from tests.media import media
from tests.sites import courtyard_site

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 120.0  # a generous bound for a busy shared machine; nothing here measures speed


def wait_until(condition, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


class Recorder:
    """Status changes per camera and site notices, from the runtime's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: dict[str, list[str]] = collections.defaultdict(list)
        self.notices: list[SiteNotice] = []

    def status(self, change: StatusChange) -> None:
        with self.lock:
            self.statuses[change.camera_id].append(str(change.status))

    def notice(self, notice: SiteNotice) -> None:
        with self.lock:
            self.notices.append(notice)

    def opened(self, camera_id: str) -> int:
        """How many times the camera's stream was (re)opened."""
        with self.lock:
            return self.statuses[camera_id].count("connecting")

    def live(self, camera_id: str) -> bool:
        with self.lock:
            return bool(self.statuses[camera_id]) and self.statuses[camera_id][-1] == "live"


def test_a_site_edited_while_running_takes_effect_without_a_restart(tmp_path: Path) -> None:
    site_path = courtyard_site(tmp_path)
    footage = site_path.parent / "footage"
    (footage / "tree.avi").symlink_to(media("tree.avi"))
    (footage / "path-copy.avi").symlink_to(media("vtest.avi"))
    store = Store(f"sqlite:///{tmp_path / 'console.db'}", snapshots_dir=tmp_path / "snapshots")
    seen = Recorder()
    runtime = SiteRuntime(
        load_site(site_path),
        store,
        RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1, site_path=site_path),
        on_status=seen.status,
        on_site_notice=seen.notice,
    )
    try:
        with runtime:
            # people walk past the plinth: an alarm on it, open
            wait_until(
                lambda: any(a.subject_id == "plinth" for a in runtime.alarms.open_alarms()),
                "an alarm on the plinth",
            )
            plinth_alarm = next(a for a in runtime.alarms.open_alarms() if a.subject_id == "plinth")
            ring = runtime.pipeline.rings["cam-path"]
            segment, pids = ring.segment, runtime.pipeline.capture_pids()
            assert seen.opened("cam-path") == 1

            # 1. the editor saves: a camera added, the plinth deleted, a new object
            text = read_site_text(site_path)
            edited = text.replace(
                "cameras:\n",
                "cameras:\n  - {id: cam-tree, name: Tree, floor: ground, "
                "source: footage/tree.avi}\n",
            ).replace(
                "  - id: plinth\n    name: Plinth by the sign", "  - id: bench\n    name: Bench"
            )
            report = save_site(site_path, edited, "ana", runtime.records, runtime=runtime)
            assert report.saved, report.problems
            assert report.applied is not None
            applied = report.applied.result(timeout=WAIT_S)
            assert applied.applied
            assert applied.cameras.added == ("cam-tree",)
            assert applied.cameras.kept == ("cam-path",)
            assert applied.objects[:2] == (("bench",), ("plinth",))
            assert plinth_alarm.alarm_id in applied.orphaned_alarms
            wait_until(lambda: seen.live("cam-tree"), "the added camera live")
            # the open alarm on the deleted object stays open, under its old name
            assert runtime.alarms.get(plinth_alarm.alarm_id).subject_id == "plinth"
            assert runtime.subject_name("plinth") == "Plinth by the sign (deleted from the site)"
            assert runtime.site.camera("cam-tree").name == "Tree"

            # 2. by hand: a broken edit is refused, shown and audited; nothing changes
            site_path.write_text(edited.replace("name: Tree,", "nam: Tree,"), encoding="utf-8")
            wait_until(lambda: any(n.kind == "refused" for n in seen.notices), "the refusal")
            refusal = next(n for n in seen.notices if n.kind == "refused")
            assert any("cameras[0].nam: unknown field" in p for p in refusal.problems)
            assert [c.id for c in runtime.site.cameras] == ["cam-tree", "cam-path"]

            # 3. by hand: the tree camera reads another file: reopened alone
            site_path.write_text(
                edited.replace("footage/tree.avi", "footage/path-copy.avi"), encoding="utf-8"
            )
            wait_until(lambda: seen.opened("cam-tree") == 2, "the tree camera reopened")
            wait_until(lambda: seen.live("cam-tree"), "the reopened camera live")

            # 4. by hand: the tree camera removed
            site_path.write_text(edited.replace(
                "  - {id: cam-tree, name: Tree, floor: ground, source: footage/tree.avi}\n", ""
            ), encoding="utf-8")  # fmt: skip
            wait_until(lambda: "cam-tree" not in runtime.pipeline.rings, "the camera removed")
            assert [c.id for c in runtime.site.cameras] == ["cam-path"]

            # the untouched camera was never reopened: one open, the same capture process,
            # the same ring segment, and its frames kept coming
            written = ring.write_seq
            wait_until(lambda: ring.write_seq > written, "frames of cam-path")
            assert seen.opened("cam-path") == 1
            assert ring.segment == segment
            assert runtime.pipeline.capture_pids()[0] == pids[0]
            assert runtime.alarms.get(plinth_alarm.alarm_id).state.value == "raised"
            applied_notices = [n for n in seen.notices if n.kind == "applied"]
            assert len(applied_notices) == 3
    finally:
        store.close()
    with Store(f"sqlite:///{tmp_path / 'console.db'}", read_only=True) as stored:
        changes = stored.read(list_config_changes)
        assert [c.user for c in changes] == ["ana", "system", "system"]
        actions = [e.action for e in stored.read(audit_entries)]
        assert actions.count("site.edit") == 3
        assert actions.count("site.applied") == 3
        assert actions.count("site.edit_refused") == 1
        by_hand = [e for e in stored.read(audit_entries) if e.action == "site.edit"][1]
        assert by_hand.detail["edited"] == "outside the console"
        assert (
            "-  - {id: cam-tree, name: Tree, floor: ground, source: footage/tree.avi}"
            in (by_hand.detail["diff"])
        )
        assert stored.read(get_alarm, plinth_alarm.alarm_id).state.value == "raised"


@pytest.mark.parametrize("edit", ["by hand"])
def test_nightwatch_run_applies_an_edited_site_file(tmp_path: Path, edit: str) -> None:
    """`nightwatch run --headless` watches its site file: the edit is applied and printed, no
    stream is reopened, and the alarm open before it is still open when the console stops."""
    site_path = courtyard_site(tmp_path)
    db = tmp_path / "live.db"
    made = subprocess.run(  # a real site has no default accounts: the first supervisor first
        [
            sys.executable,
            "-m",
            "console.cli",
            "users",
            "add",
            "boss",
            "--role",
            "supervisor",
            "--db",
            f"sqlite:///{db}",
        ],
        cwd=REPO,
        input="supervise the night\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "run",
            str(site_path),
            "--headless",
            "--db",
            f"sqlite:///{db}",
            "--detector",
            "ssdlite",
            "--workers",
            "1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None

        def read_until(predicate, what: str) -> str:
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line.rstrip())
                if predicate(line):
                    return line
            raise AssertionError(f"no {what} in:\n" + "\n".join(lines[-40:]))

        raised = read_until(lambda s: s.startswith("alarm ") and " raised:" in s, "alarm")
        alarm_id = int(raised.split()[1])
        text = read_site_text(site_path)
        site_path.write_text(text.replace("loiter_s: 600", "loiter_s: 900"), encoding="utf-8")
        read_until(lambda s: s.startswith("SITE: site applied"), "applied site")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        lines += out.splitlines()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "\n".join(lines[-40:])
    assert "SITE: site applied: 1 zone changed: courtyard" in lines
    assert sum(1 for s in lines if s.startswith("camera cam-path connecting")) == 1
    with Store(f"sqlite:///{db}", read_only=True) as stored:
        assert stored.read(get_alarm, alarm_id).state.value == "raised"
        (change,) = stored.read(list_config_changes)
        assert change.user == "system"
