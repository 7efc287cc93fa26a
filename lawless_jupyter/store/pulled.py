"""What a row pulled from Supabase may change here: data, never where things are.

Anyone holding the user's Supabase credential can write their rows there (a notebook on
their server reads it from the environment). So a pulled row is data: it may rename a
session, record an error, end a session (``failed``, ``deleted``: neither deletes anything),
set the Claude session a conversation resumes, replace preferences. Paths, the repository,
branch and base, the worker and the owner belong to this database and are never taken from
Supabase: deletion and reconciliation act on them.
"""

from __future__ import annotations

from typing import Any

#: per mirrored mutable table, the columns a newer version from Supabase may change here
PULLED: dict[str, frozenset[str]] = {
    "workspace_sessions": frozenset({"name", "error", "state"}),
    "conversations": frozenset({"claude_session_id"}),
    "preferences": frozenset({"data"}),
}
#: taken with every winning version: the last-write-wins bookkeeping
VERSION_COLUMNS = ("updated_at", "origin")
#: the states a pulled row may move a session to (from any state but ``deleted``)
PULLED_STATES = frozenset({"failed", "deleted"})
_TEXT_LIMIT = 1000


def pulled_updates(table: str, remote: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    """The columns of ``remote`` (Supabase's version) to write over ``local``."""
    updates = {c: remote[c] for c in VERSION_COLUMNS if c in remote}
    for column in sorted(PULLED.get(table, ())):
        if column in remote and _acceptable(column, remote[column], local):
            updates[column] = remote[column]
    return updates


def _acceptable(column: str, value: Any, local: dict[str, Any]) -> bool:
    if column == "state":
        return value in PULLED_STATES and local.get("state") != "deleted"
    if column == "claude_session_id":  # handed to the CLI as --resume's value
        return value is None or (_text(value, 200) and not value.startswith("-"))
    if column in ("name", "error"):
        return value is None or _text(value, _TEXT_LIMIT)
    return True  # preferences: checked where they are used (preferences.py)


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit and value.isprintable()
