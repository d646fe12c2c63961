"""What a store operation raises. Every message names the database, file or row concerned."""

from __future__ import annotations


class StoreError(Exception):
    """A store operation failed; the message names the database or file concerned."""


class StoreWriteError(StoreError):
    """A write did not reach the disk (disk full, I/O error, permissions): nothing was stored."""


class StoreClosedError(StoreError):
    """The store was closed; no more work is accepted."""


class AlarmNotFoundError(StoreError, LookupError):
    """No alarm (or dispatch, snapshot, user, shift) with that id."""


class StaleStateError(StoreError):
    """The alarm is not in the state the caller expected (or is already resolved)."""


class AlarmIdTakenError(StoreError):
    """An alarm was raised with an id that another, different alarm already has."""


class StoreLockedError(StoreError):
    """Another console holds the database (one console per SQLite database)."""
