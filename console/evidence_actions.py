"""The auditor's acts through the service layer: exporting, verifying the audit log, putting an
incident's evidence under hold. `ControlRoom.apply` checks the role table (`console.roles`) and
audits a refusal; these actions then say yes (export, verify: the work itself, a long read, runs
in the caller's thread afterwards, never on the core thread) or write the hold.

    command.ask(AuthorizeExport("audrey"))             # refused unless audrey may export
    command.ask(HoldIncident("audrey", 7, "police case", case_ref="PC-12"))   # -> HoldRecord
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from console.roles import Act
from console.store import HoldRecord, PlaceHold, ReleaseHold

if TYPE_CHECKING:
    from console.control_room import ControlRoom

__all__ = [
    "AuthorizeExport",
    "AuthorizeVerify",
    "HoldIncident",
    "ReleaseIncidentHold",
    "ShowSigningKey",
    "SigningKey",
]


@dataclass(frozen=True, slots=True)
class AuthorizeExport:
    user: str
    verb: ClassVar[str] = "export incidents with their evidence"
    act: ClassVar[Act | None] = Act.EXPORT

    def perform(self, room: ControlRoom) -> str:
        return self.user


@dataclass(frozen=True, slots=True)
class AuthorizeVerify:
    user: str
    verb: ClassVar[str] = "verify the audit log"
    act: ClassVar[Act | None] = Act.READ_INCIDENT_LOG

    def perform(self, room: ControlRoom) -> str:
        return self.user


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The key that signs this console's audit heads and exports: what an auditor compares with
    the `public_key.pem` beside an export (`nightwatch verify DIR --public-key F`)."""

    fingerprint: str  # SHA-256 of the raw public key, in groups of 4 hex digits
    public_pem: str
    folder: str  # the key folder (the public key, the signed heads)
    location: str = ""  # where the private keys live, in words: key files or the OS keyring


@dataclass(frozen=True, slots=True)
class ShowSigningKey:
    user: str
    verb: ClassVar[str] = "show the export signing key"
    act: ClassVar[Act | None] = Act.READ_INCIDENT_LOG

    def perform(self, room: ControlRoom) -> SigningKey:
        keys = room.store.keys
        if keys is None:
            raise ValueError("this database was opened without its audit key folder: no key")
        return SigningKey(
            keys.fingerprint, keys.public_pem.decode("ascii"), str(keys.folder), keys.location
        )


@dataclass(frozen=True, slots=True)
class HoldIncident:
    user: str
    alarm_id: int
    reason: str
    case_ref: str | None = None
    verb: ClassVar[str] = "put an incident under hold"
    act: ClassVar[Act | None] = Act.HOLD_EVIDENCE

    def perform(self, room: ControlRoom) -> Future[HoldRecord]:
        return room.store.write(PlaceHold(self.alarm_id, self.reason, self.user, self.case_ref))


@dataclass(frozen=True, slots=True)
class ReleaseIncidentHold:
    user: str
    hold_id: int
    reason: str | None = None
    verb: ClassVar[str] = "release a hold"
    act: ClassVar[Act | None] = Act.HOLD_EVIDENCE

    def perform(self, room: ControlRoom) -> Future[HoldRecord]:
        return room.store.write(ReleaseHold(self.hold_id, self.user, self.reason))
