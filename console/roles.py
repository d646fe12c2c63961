"""Who may do what: the one table of roles and acts that the service layer enforces.

    operator     watch, acknowledge, dispatch, resolve, comment, answer the still-there check,
                 put a person on the watch list, dismiss an advisory as normal
    supervisor   all of that, plus configuration, users, muting rules, viewing escalations,
                 switching behaviour learning on or off, reading the incident log (the incident
                 browser), holds on evidence
    auditor      read the incident log, export it, verify it, put evidence under hold; cannot
                 change an alarm or the site
    service      the headless console's own account: nothing a person asks for

Every action a person (or a script) asks of the core names the `Act` it needs
(`console.actions`); `console.control_room.ControlRoom.apply` looks the acting user's role up in
the core's own record of accounts (`console.accounts.AccountBook`), never trusting the caller,
and refuses with `PermissionRefused` what `ROLE_TABLE` does not allow, writing the refusal
(who, what, when) into the audit log. The window hides what a role cannot do; the refusal in the
core is the guarantee.

This module is pure (no store, no Qt), so the table can be read, printed and tested alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "PERSON_ROLES",
    "ROLE_TABLE",
    "Act",
    "PermissionRefused",
    "Role",
    "role_table_markdown",
]


class Act(StrEnum):
    """What a person may ask of the core (the columns of the role table)."""

    WATCH = "watch"
    ACKNOWLEDGE = "acknowledge"
    DISPATCH = "dispatch"
    RESOLVE = "resolve"
    COMMENT = "comment"
    ANSWER_CHECK = "answer_check"
    CONFIGURE = "configure"
    MANAGE_USERS = "manage_users"
    MUTE_RULES = "mute_rules"
    VIEW_ESCALATIONS = "view_escalations"
    READ_INCIDENT_LOG = "read_incident_log"
    EXPORT = "export"
    # -- behaviour (console/behaviour)
    WATCH_PERSON = "watch_person"
    DISMISS_ADVISORY = "dismiss_advisory"
    SWITCH_BEHAVIOUR = "switch_behaviour"
    HOLD_EVIDENCE = "hold_evidence"

    @property
    def words(self) -> str:
        """'acknowledge alarms', for refusals and the docs."""
        return _ACT_WORDS[self]


_ACT_WORDS: dict[Act, str] = {
    Act.WATCH: "watch the cameras and the open alarms",
    Act.ACKNOWLEDGE: "acknowledge alarms",
    Act.DISPATCH: "dispatch guards and record their arrival",
    Act.RESOLVE: "resolve alarms",
    Act.COMMENT: "comment on alarms",
    Act.ANSWER_CHECK: "answer the still-there check",
    Act.CONFIGURE: "change the console's configuration",
    Act.MANAGE_USERS: "manage user accounts",
    Act.MUTE_RULES: "mute rules",
    Act.VIEW_ESCALATIONS: "view escalations",
    Act.READ_INCIDENT_LOG: "read the incident log",
    Act.EXPORT: "export the incident log",
    Act.WATCH_PERSON: "put a person on the watch list, or take them off",
    Act.DISMISS_ADVISORY: "dismiss an advisory as normal",
    Act.SWITCH_BEHAVIOUR: "switch behaviour learning on or off",
    Act.HOLD_EVIDENCE: "keep an incident's evidence past retention (a hold)",
}


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    SERVICE = "service"  # the headless console itself: never stored, never signs in

    @property
    def acts(self) -> frozenset[Act]:
        return ROLE_TABLE[self]

    def may(self, act: Act) -> bool:
        return act in ROLE_TABLE[self]


PERSON_ROLES: tuple[Role, ...] = (Role.OPERATOR, Role.SUPERVISOR, Role.AUDITOR)

_OPERATOR = frozenset(
    {
        Act.WATCH,
        Act.ACKNOWLEDGE,
        Act.DISPATCH,
        Act.RESOLVE,
        Act.COMMENT,
        Act.ANSWER_CHECK,
        Act.WATCH_PERSON,
        Act.DISMISS_ADVISORY,
    }
)

ROLE_TABLE: Mapping[Role, frozenset[Act]] = MappingProxyType(
    {
        Role.OPERATOR: _OPERATOR,
        # issue 18: the incident browser is the auditor's page and also a supervisor's view
        Role.SUPERVISOR: _OPERATOR
        | {
            Act.CONFIGURE,
            Act.MANAGE_USERS,
            Act.MUTE_RULES,
            Act.VIEW_ESCALATIONS,
            Act.SWITCH_BEHAVIOUR,
            Act.READ_INCIDENT_LOG,
            Act.HOLD_EVIDENCE,
        },
        Role.AUDITOR: frozenset({Act.READ_INCIDENT_LOG, Act.EXPORT, Act.HOLD_EVIDENCE}),
        Role.SERVICE: frozenset(),
    }
)


class PermissionRefused(Exception):
    """The core refused an action: who asked, what for, and why, in words.

    `act` is None when the refusal is not about the role. `code` says which check refused:
    `role`, `no_account`, `disabled`, `signed_out`, `locked`, `sign_in`, `undeclared` (an action
    that names no act: refused, never let through)."""

    def __init__(
        self,
        user: str,
        act: Act | None,
        reason: str,
        *,
        role: Role | None = None,
        code: str = "role",
    ) -> None:
        super().__init__(reason)
        self.user = user
        self.act = act
        self.role = role
        self.reason = reason
        self.code = code


def role_table_markdown() -> str:
    """The role table as a Markdown table (docs/users-and-roles.md carries it; a test checks)."""
    roles = PERSON_ROLES
    lines = [
        "| may … | " + " | ".join(r.value for r in roles) + " |",
        "| --- | " + " | ".join(":---:" for _ in roles) + " |",
    ]
    for act in Act:
        marks = " | ".join("yes" if r.may(act) else "—" for r in roles)
        lines.append(f"| {act.words} (`{act.value}`) | {marks} |")
    return "\n".join(lines)
