"""How serious a risk is: one closed set that knows its own order.

    Severity.HIGH.rank      # 0: sorts first
    Severity("medium").lower()   # Severity.LOW

A `Severity` is a `StrEnum`, so it is stored, printed and compared as its word ("high"), and the
site file's words parse into it; nothing else in the console spells or ranks the words itself.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Severity"]


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for high, 1 for medium, 2 for low: sorting by rank puts the most severe first."""
        return _RANKS[self]

    def lower(self) -> Severity:
        """One tier less severe (low stays low)."""
        order = tuple(Severity)
        return order[min(self.rank + 1, len(order) - 1)]

    def graver(self, other: Severity) -> Severity:
        """The more severe of the two."""
        return self if self.rank <= other.rank else other


_RANKS: dict[Severity, int] = {severity: rank for rank, severity in enumerate(Severity)}
