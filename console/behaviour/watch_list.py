"""The watch list: the few visitors the control room follows across cameras, and why.

An entry names an anonymous visitor of this console's memory ("visitor 17"), who put them on
the list (an operator from a tile, or the system with an advisory), the reason in words, and
when it expires. Entries live in memory only; each addition, removal and expiry is written to
the audit log by the model. Nothing on the list identifies anybody.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from console.store import SYSTEM_USER

__all__ = ["WatchEntry", "WatchList"]


@dataclass(frozen=True, slots=True)
class WatchEntry:
    visitor_id: str
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime

    @property
    def by_system(self) -> bool:
        return self.added_by == SYSTEM_USER


class WatchList:
    """Visitor id -> entry (the core thread's alone)."""

    def __init__(self) -> None:
        self._entries: dict[str, WatchEntry] = {}

    def __contains__(self, visitor_id: object) -> bool:
        return visitor_id in self._entries

    def __iter__(self) -> Iterator[WatchEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: (e.added_at, e.visitor_id)))

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, visitor_id: str) -> WatchEntry | None:
        return self._entries.get(visitor_id)

    def add(self, entry: WatchEntry) -> None:
        self._entries[entry.visitor_id] = entry

    def remove(self, visitor_id: str) -> WatchEntry | None:
        return self._entries.pop(visitor_id, None)

    def expired(self, now: datetime) -> list[WatchEntry]:
        """Remove and return the entries whose time is up."""
        gone = [e for e in self._entries.values() if e.expires_at <= now]
        for entry in gone:
            del self._entries[entry.visitor_id]
        return gone

    def clear(self) -> list[WatchEntry]:
        gone = list(self)
        self._entries.clear()
        return gone
