"""Saving the site and running a walk test, as actions of the service layer (the supervisor's
`configure` act of the role table).

    runtime.post(ApplySite("ana", edited_text, expected_digest=opened))  # -> SaveReport
    runtime.post(BeginWalkTest("ana", objects=("milkmaid",)))             # -> WalkTest (running)
    runtime.post(EndWalkTest("ana", test))                                # -> WalkTestReport

The service layer (`console.control_room.ControlRoom.apply`) checks the role on the core
thread and audits a refusal (`permission.refused`), as for every action. The save itself runs
on the site desk's own thread ("nightwatch-site-save"), never on the core or the GUI thread:
`save_site` checks the edit as `nightwatch check` does (it probes the video files the site
names), keeps the previous version, writes and fsyncs the file, records it and hands the new
site to the running console (`console.site_apply`). `perform` returns the future of that work,
so the answer reaches the window when the save is done. A save refused for its problems is
audited too (`site.save_refused`, with the problems), and nothing is written.

One `SiteDesk` per runtime (the site file it was started on; `runtime.site_desk`); the command
line makes its own over its store (`nightwatch site apply`). A walk test runs one at a time;
one still running when the console stops is finished as cancelled, and stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from console.roles import Act
from console.site_apply import DEFAULT_KEEP, SaveReport, TaskWriter, save_site
from console.store.audit import AppendAudit
from console.walk_test import WalkTest, WalkTestReport

if TYPE_CHECKING:
    from console.control_room import ControlRoom
    from console.runtime import SiteRuntime

log = logging.getLogger(__name__)

__all__ = ["ApplySite", "BeginWalkTest", "EndWalkTest", "SiteDesk"]

SAVE_THREAD_NAME = "nightwatch-site-save"


class SiteDesk:
    """The site file a console runs on, the thread its saves run on, and the walk test now.

    `path` None: the console was started without its site file (a test, a replay): a save is
    refused in words. `records` is where the change records go (`SiteRuntime.records`, or the
    command's `Store`). The save thread is started by the first save and joined by `close`.
    """

    def __init__(
        self,
        path: Path | None,
        records: TaskWriter | None,
        *,
        runtime: SiteRuntime | None = None,
        keep: int = DEFAULT_KEEP,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.records = records
        self.runtime = runtime
        self.keep = keep
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=SAVE_THREAD_NAME)
        self._lock = threading.Lock()
        self._closed = False
        self.walk_test: WalkTest | None = None  # the core thread's (set and cleared there)
        self.saves = 0  # saves asked (for tests and the log)

    # -- saving (asked on the core thread, done on the save thread) -------------------------

    def save(self, user: str, text: str, expected_digest: str | None) -> Future[SaveReport]:
        """Check, keep, write, record and apply `text` on the save thread; the future holds
        the `SaveReport` (refused: its `problems`, nothing written)."""
        if self.path is None:
            raise ValueError(
                "this console was started without its site file, so the site cannot be saved "
                "here: start it with `nightwatch run SITE`"
            )
        with self._lock:
            if self._closed:
                raise ValueError("the console is stopping: the site was not saved")
            self.saves += 1
            return self._executor.submit(self._save, user, text, expected_digest)

    def _save(self, user: str, text: str, expected_digest: str | None) -> SaveReport:
        assert self.path is not None
        report = save_site(
            self.path,
            text,
            user,
            self.records,
            runtime=self.runtime,
            expected_digest=expected_digest,
            keep=self.keep,
        )
        if report.problems and self.records is not None:
            log.warning("%s: save by %s refused: %s", self.path, user, "; ".join(report.problems))
            self.records.write(
                AppendAudit(
                    user=user[:64],
                    action="site.save_refused",
                    target=f"site:{self.path}"[:255],
                    detail={"problems": list(report.problems[:50]), "via": "editor"},
                )
            )
        return report

    # -- walk tests (the core thread) -------------------------------------------------------

    def begin_walk_test(
        self,
        user: str,
        objects: Iterable[str] | None,
        zones: Iterable[str] | None,
        note: str | None,
    ) -> WalkTest:
        if self.runtime is None:
            raise ValueError("a walk test needs the running console")
        running = self.walk_test
        if running is not None and running.running:
            raise ValueError(
                f"a walk test by {running.user} is running: it is finished before another starts"
            )
        test = WalkTest(self.runtime, user, objects=objects, zones=zones, note=note)
        test.start()
        self.walk_test = test
        return test

    def end_walk_test(self, test: WalkTest, cancelled: bool) -> Future[WalkTestReport]:
        if self.walk_test is test:
            self.walk_test = None
        return test.finish(cancelled=cancelled)

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Finish a running walk test (stored as cancelled) and join the save thread (a save
        under way completes first)."""
        with self._lock:
            self._closed = True
        running, self.walk_test = self.walk_test, None
        if running is not None and running.running:
            log.warning(
                "the console stops: the walk test by %s is stored as cancelled", running.user
            )
            running.finish(cancelled=True)
        self._executor.shutdown(wait=True)


# --------------------------------------------------------------------------- the actions


@dataclass(frozen=True, slots=True)
class ApplySite:
    """A supervisor saves the edited site: `text` is the site file's new text; `expected_digest`
    the SHA-256 of the text the editor opened (a file changed since is not overwritten)."""

    user: str
    text: str
    expected_digest: str | None = None
    verb: ClassVar[str] = "save the site"
    act: ClassVar[Act | None] = Act.CONFIGURE

    def perform(self, room: ControlRoom) -> Future[SaveReport]:
        return room.site_office().save(self.user, self.text, self.expected_digest)


@dataclass(frozen=True, slots=True)
class BeginWalkTest:
    """Start a walk test of these objects and zones (None: every object; every zone armed at
    some time). The answer's value is the running `WalkTest` (`progress()` from any thread)."""

    user: str
    objects: tuple[str, ...] | None = None
    zones: tuple[str, ...] | None = None
    note: str | None = None
    verb: ClassVar[str] = "start a walk test"
    act: ClassVar[Act | None] = Act.CONFIGURE

    def perform(self, room: ControlRoom) -> WalkTest:
        return room.site_office().begin_walk_test(self.user, self.objects, self.zones, self.note)


@dataclass(frozen=True, slots=True)
class EndWalkTest:
    """Finish (or cancel) a walk test: what was not passed fails; the report is stored with its
    evidence and is the answer's value (`WalkTestReport`)."""

    user: str
    test: WalkTest
    cancelled: bool = False
    verb: ClassVar[str] = "finish a walk test"
    act: ClassVar[Act | None] = Act.CONFIGURE

    def perform(self, room: ControlRoom) -> Future[WalkTestReport]:
        return room.site_office().end_walk_test(self.test, self.cancelled)
