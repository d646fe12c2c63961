"""Who may export, verify the audit log and place holds: the one place the role check goes.

Issue 21 (users and roles) brings accounts, passwords and a role table enforced by the service
layer. Until it is merged, the commands here take `--user NAME`, record it in the audit row (and
an export's manifest), and call `require_auditor_role` before they act; that function is where
the role table's check plugs in (an auditor may export and verify; a supervisor or an auditor may
place and release holds), together with signing the user in.
"""

from __future__ import annotations

from enum import StrEnum

from console.store import Store


class AuditAct(StrEnum):
    EXPORT = "export"
    VERIFY = "verify"
    HOLD = "hold"


class AccessRefused(Exception):
    """The user may not do this (the message says who, what and why)."""


def require_auditor_role(store: Store, user: str, act: AuditAct) -> str:
    """Return the acting user's name, or raise `AccessRefused`.

    TODO(issue 21): look `user` up in the accounts and refuse unless the role table allows
    `act` (console/roles.py on the users branch: `Role.may(Act.EXPORT)`), after signing the user
    in. Today only a name is required, and it is recorded.
    """
    name = user.strip()
    if not name:
        raise AccessRefused(f"{act.value}: name who does it with --user NAME")
    return name
