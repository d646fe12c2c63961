"""Reading the record and configuring the console: the incident log, escalations, console
settings (the export: `console.evidence_actions.AuthorizeExport`, then `console.export`).

    runtime.post(ReadIncidentLog("ana", since=t0))          # -> list[Incident]
    runtime.post(ViewEscalations("boss", since=t0))         # -> list[Escalation]
    runtime.post(ChangeSetting("boss", "lock_after_min", 5)) # -> ConsoleSettings
    runtime.post(SearchIncidents("ana", IncidentFilter(...)))  # -> IncidentPage
    runtime.post(ReadIncidentFigures("ana", f, "Europe/Amsterdam"))  # -> IncidentFigures
    runtime.post(ViewIncident("ana", 7))                     # -> IncidentRecord

Reads of the old kind are audited and run on the store's writer thread (the answer
arrives when they are done); the incident browser's reads (search, figures, one incident) run
on the runtime's reader thread (`ControlRoom.read`), and each is audited through the writer
without waiting (`incident_log.read` with the filter, `incident_log.figures`,
`incident.viewed`). The core thread only checks the role and hands them over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from console.roles import Act
from console.store import ReadEscalations, ReadIncidents
from console.store.incident_search import (
    IncidentFilter,
    incident_figures,
    incident_record,
    search_incidents,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from console.control_room import ConsoleSettings, ControlRoom
    from console.store import Escalation, Incident
    from console.store.incident_search import IncidentFigures, IncidentPage, IncidentRecord

__all__ = [
    "ChangeSetting",
    "ReadIncidentFigures",
    "ReadIncidentLog",
    "SearchIncidents",
    "ShowSettings",
    "ViewEscalations",
    "ViewIncident",
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


@dataclass(frozen=True, slots=True)
class SearchIncidents:
    """One page of the incident browser's search (reader thread); audited `incident_log.read`
    with the filter and the page asked for."""

    user: str
    filter: IncidentFilter
    page_size: int = 200
    after: tuple[datetime, int] | None = None
    count: bool = True
    verb: ClassVar[str] = "search the incident log"
    act: ClassVar[Act | None] = Act.READ_INCIDENT_LOG

    def perform(self, room: ControlRoom) -> Future[IncidentPage]:
        facts = {"filter": self.filter.as_json(), "page_size": self.page_size}
        if self.after is not None:
            facts["after"] = [self.after[0].isoformat(), self.after[1]]
        room.audit(self.user, "incident_log.read", "incident_log", facts)
        return room.read(
            search_incidents, self.filter, self.page_size, after=self.after, count=self.count
        )


@dataclass(frozen=True, slots=True)
class ReadIncidentFigures:
    """The browser's charts for a filter (reader thread); audited `incident_log.figures`."""

    user: str
    filter: IncidentFilter
    timezone: str
    verb: ClassVar[str] = "read the incident figures"
    act: ClassVar[Act | None] = Act.READ_INCIDENT_LOG

    def perform(self, room: ControlRoom) -> Future[IncidentFigures]:
        room.audit(self.user, "incident_log.figures", "incident_log", self.filter.as_json())
        return room.read(incident_figures, self.filter, self.timezone)


@dataclass(frozen=True, slots=True)
class ViewIncident:
    """One incident's whole record (steps, guards, sightings, snapshots, clips) on the reader
    thread; each view audited `incident.viewed`."""

    user: str
    alarm_id: int
    verb: ClassVar[str] = "view an incident"
    act: ClassVar[Act | None] = Act.READ_INCIDENT_LOG

    def perform(self, room: ControlRoom) -> Future[IncidentRecord]:
        room.audit(self.user, "incident.viewed", f"alarm:{self.alarm_id}", {})
        return room.read(incident_record, self.alarm_id)
