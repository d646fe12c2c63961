"""The words an alarm is shown in: one table, used by every view.

The alarm queue, the focus wall, the floor plan, the dispatch dialog and the alarm's detail all
say the same thing for the same state ("Guard sent", then "Guard on scene" once the guard
arrived), the same words for a rule ("Too close") and a severity ("HIGH"). A view that needs a
word takes it from here, never spells its own.

    shown_state(alarm).word      # "NEW", "NEW ACTIVITY", "Acknowledged", "Guard sent", ...
    rule_words("proximity")      # "Too close"
"""

from __future__ import annotations

import enum

from console.alarms import Alarm
from console.store import AlarmState, EventKind, Outcome

__all__ = [
    "OUTCOME_WORDS",
    "RULE_WORDS",
    "SEVERITY_BARS",
    "SEVERITY_COLOR_ROLE",
    "STEP_WORDS",
    "ShownState",
    "outcome_words",
    "rule_words",
    "severity_role",
    "severity_words",
    "shown_state",
    "state_word",
    "step_words",
]


class ShownState(enum.Enum):
    """Where an alarm stands, as the monitor reads it (finer than `AlarmState`: a re-flagged
    alarm, a guard on the way or on scene)."""

    NEW = "NEW"
    NEW_ACTIVITY = "NEW ACTIVITY"
    ACKNOWLEDGED = "Acknowledged"
    GUARD_SENT = "Guard sent"
    GUARD_ON_SCENE = "Guard on scene"
    RESOLVED = "Resolved"

    @property
    def word(self) -> str:
        return self.value

    @property
    def wants_a_look(self) -> bool:
        """Nobody has looked at it yet (or at its new activity): shown bold, in capitals."""
        return self in (ShownState.NEW, ShownState.NEW_ACTIVITY)


def shown_state(alarm: Alarm) -> ShownState:
    if alarm.state == AlarmState.RESOLVED:
        return ShownState.RESOLVED
    if alarm.state == AlarmState.RAISED:
        return ShownState.NEW
    if alarm.needs_attention:
        return ShownState.NEW_ACTIVITY
    if alarm.state == AlarmState.DISPATCHED:
        if alarm.guard_on_the_way is None and alarm.dispatches:
            return ShownState.GUARD_ON_SCENE
        return ShownState.GUARD_SENT
    return ShownState.ACKNOWLEDGED


def state_word(alarm: Alarm) -> str:
    return shown_state(alarm).word


RULE_WORDS: dict[str, str] = {
    "proximity": "Too close",
    "after_hours": "After hours",
    "loitering": "Loitering",
    "restricted_zone": "Restricted zone",
    "object_missing": "Object missing or moved",
    "camera_health": "Camera fault",
}


def rule_words(rule: str) -> str:
    """The rule as the monitor reads it ("Too close", not "proximity")."""
    return RULE_WORDS.get(rule, rule.replace("_", " ").capitalize())


# Severity is shown as a word and a number of bars (or a shape), tinted with these palette roles.
SEVERITY_COLOR_ROLE: dict[str, str] = {"high": "offline", "medium": "stalled", "low": "connecting"}
SEVERITY_BARS: dict[str, int] = {"high": 3, "medium": 2, "low": 1}


def severity_words(severity: str) -> str:
    return str(severity).upper()


def severity_role(severity: str) -> str:
    """The palette role that colours this severity (high, medium, low)."""
    return SEVERITY_COLOR_ROLE.get(str(severity), "connecting")


OUTCOME_WORDS: dict[Outcome, str] = {
    Outcome.FALSE_ALARM: "False alarm",
    Outcome.VISITOR_WARNED: "Visitor warned",
    Outcome.INTERVENTION: "Intervention",
    Outcome.POLICE_CALLED: "Police called",
    Outcome.OTHER: "Other (say what in the note)",
}


def outcome_words(outcome: Outcome) -> str:
    return OUTCOME_WORDS.get(outcome, outcome.value.replace("_", " ").capitalize())


# The steps of an alarm as its detail lists them (the store's event kinds).
STEP_WORDS: dict[EventKind, str] = {
    EventKind.RAISE: "Raised",
    EventKind.ACKNOWLEDGE: "Acknowledged",
    EventKind.ACTIVITY: "New activity",
    EventKind.SEEN: "New activity seen",
    EventKind.ESCALATE: "Escalated",
    EventKind.DISPATCH: "Guard sent",
    EventKind.ARRIVE: "Guard on scene",
    EventKind.RESOLVE: "Resolved",
    EventKind.COMMENT: "Comment",
}


def step_words(kind: EventKind | str) -> str:
    try:
        return STEP_WORDS[EventKind(kind)]
    except ValueError:
        return str(kind).replace("_", " ").capitalize()
