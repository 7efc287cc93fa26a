"""The workspace session state machine, explicit so that illegal moves are refused.

creating -> active | failed
active   -> connected | updating | deleting
connected -> active | deleting          (a chat stream is attached)
updating -> active                      (a git operation that changes the branch)
failed   -> deleting
deleting -> deleted | failed
"""

from __future__ import annotations

from enum import Enum

from ..errors import Conflict


class SessionState(str, Enum):
    CREATING = "creating"
    ACTIVE = "active"
    CONNECTED = "connected"
    UPDATING = "updating"
    DELETING = "deleting"
    DELETED = "deleted"
    FAILED = "failed"


S = SessionState

TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    S.CREATING: frozenset({S.ACTIVE, S.FAILED}),
    S.ACTIVE: frozenset({S.CONNECTED, S.UPDATING, S.DELETING}),
    S.CONNECTED: frozenset({S.ACTIVE, S.DELETING}),
    S.UPDATING: frozenset({S.ACTIVE}),
    S.FAILED: frozenset({S.DELETING}),
    S.DELETING: frozenset({S.DELETED, S.FAILED, S.ACTIVE}),
    S.DELETED: frozenset(),
}


def check_transition(current: str, target: SessionState) -> None:
    if target not in TRANSITIONS[SessionState(current)]:
        raise Conflict(
            f"The session is {current}; it cannot become {target.value} now.",
            details={"state": current, "requested": target.value},
        )
