"""Reading the record and configuring the console: the incident log, its export, escalations,
console settings.

    runtime.post(ReadIncidentLog("ana", since=t0))          # -> list[Incident]
    runtime.post(ExportIncidentLog("ana", Path("n.jsonl"))) # -> ExportReceipt
    runtime.post(ViewEscalations("boss", since=t0))         # -> list[Escalation]
    runtime.post(ChangeSetting("boss", "lock_after_min", 5)) # -> ConsoleSettings

Reads and exports are audited and run on the store's writer thread (the answer arrives when
they are done); the core thread only checks the role and hands them over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from console.roles import Act
from console.store import ExportIncidents, ReadEscalations, ReadIncidents

if TYPE_CHECKING:
    from concurrent.futures import Future

    from console.control_room import ConsoleSettings, ControlRoom
    from console.store import Escalation, ExportReceipt, Incident

__all__ = [
    "ChangeSetting",
    "ExportIncidentLog",
    "ReadIncidentLog",
    "ShowSettings",
    "ViewEscalations",
]


@dataclass(frozen=True, slots=True)
class ReadIncidentLog:
    user: str
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000
    verb: ClassVar[str] = "read the incident log"
    act: ClassVar[Act | None] = Act.READ_INCIDENT_LOG

    def perform(self, room: ControlRoom) -> Future[list[Incident]]:
        task = ReadIncidents(self.user, self.since, self.until, self.limit)
        return room.store.write(task)


@dataclass(frozen=True, slots=True)
class ExportIncidentLog:
    user: str
    path: Path
    since: datetime | None = None
    until: datetime | None = None
    verb: ClassVar[str] = "export the incident log"
    act: ClassVar[Act | None] = Act.EXPORT

    def perform(self, room: ControlRoom) -> Future[ExportReceipt]:
        return room.store.write(ExportIncidents(self.user, self.path, self.since, self.until))


@dataclass(frozen=True, slots=True)
class ViewEscalations:
    user: str
    since: datetime | None = None
    verb: ClassVar[str] = "view escalations"
    act: ClassVar[Act | None] = Act.VIEW_ESCALATIONS

    def perform(self, room: ControlRoom) -> Future[list[Escalation]]:
        return room.store.write(ReadEscalations(self.user, self.since))


@dataclass(frozen=True, slots=True)
class ChangeSetting:
    user: str
    key: str
    value: Any
    verb: ClassVar[str] = "change a console setting"
    act: ClassVar[Act | None] = Act.CONFIGURE

    def perform(self, room: ControlRoom) -> ConsoleSettings:
        return room.change_setting(self.user, self.key, self.value)


@dataclass(frozen=True, slots=True)
class ShowSettings:
    user: str
    verb: ClassVar[str] = "show the console settings"
    act: ClassVar[Act | None] = None

    def perform(self, room: ControlRoom) -> ConsoleSettings:
        return room.settings
