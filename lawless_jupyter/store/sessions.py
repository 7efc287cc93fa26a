"""Workspace sessions: their rows (a compare-and-set state machine) and the append-only
history of their moves (``session_events``)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

import aiosqlite

from ..errors import Conflict, QuotaExceeded
from .db import ENDED_STATES, Database, as_dict, utcnow

_EVENT = (
    "INSERT INTO session_events (session_id, from_state, to_state, detail, at) "
    "VALUES (?, ?, ?, ?, ?)"
)


def _text(value: Any) -> Any:
    """Enum members (states) are stored by value."""
    return getattr(value, "value", value)


class SessionRepository:
    def __init__(self, db: Database):
        self.db = db

    async def create(self, session: dict[str, Any], *, max_live_per_repo: int) -> dict[str, Any]:
        """Insert a session in state ``creating``, enforcing the per-repository quota and the
        uniqueness of its name, branch and worktree path in the same transaction."""
        now = utcnow()
        row = {
            **session,
            "state": "creating",
            "created_at": now,
            "updated_at": now,
            "origin": self.db.origin,
        }
        async with self.db.transaction() as db:
            async with db.execute(
                "SELECT COUNT(*) FROM workspace_sessions WHERE repo_path = ? "
                f"AND state NOT IN {ENDED_STATES}",
                (row["repo_path"],),
            ) as cur:
                (live,) = await cur.fetchone()
            if live >= max_live_per_repo:
                raise QuotaExceeded(
                    f"The repository {row['repo']} already has {live} workspace sessions, the "
                    f"limit is {max_live_per_repo}. Delete a session to start another.",
                    limit=max_live_per_repo,
                    remaining=0,
                    reset=time.time() + 60,
                    retry_after=60,
                    quota="sessions per repository",
                )
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            try:
                await db.execute(
                    f"INSERT INTO workspace_sessions ({columns}) VALUES ({marks})",
                    tuple(row.values()),
                )
            except sqlite3.IntegrityError as e:
                what = "name" if row.get("name") else "branch or worktree"
                raise Conflict(
                    f"A live session with this {what} already exists in {row['repo']}.",
                    details={"name": row.get("name")},
                ) from e
            await self._append_event(db, row["id"], None, "creating", None, now)
        return row

    async def count_live(self, repo_path: str) -> int:
        """Sessions that count against the repository's quota (a batch checks it first)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM workspace_sessions WHERE repo_path = ? "
            f"AND state NOT IN {ENDED_STATES}",
            (repo_path,),
        )
        return row["n"] if row else 0

    async def pin(self, row: dict[str, Any]) -> None:
        """Keep a copy of a session that runs on a remote worker (``row["worker"]``), in the
        state the worker gave it."""
        row = {**row, "origin": self.db.origin}
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        async with self.db.transaction() as db:
            try:
                await db.execute(
                    f"INSERT INTO workspace_sessions ({columns}) VALUES ({marks})",
                    tuple(row.values()),
                )
            except sqlite3.IntegrityError as e:
                raise Conflict(
                    f"A live session with this name already exists in {row['repo']}.",
                    details={"name": row.get("name")},
                ) from e
            await self._append_event(
                db, row["id"], None, row["state"], f"on worker {row['worker']}", utcnow()
            )

    async def _append_event(
        self,
        db: aiosqlite.Connection,
        session_id: str,
        from_state: str | None,
        to_state: str,
        detail: str | None,
        at: str,
    ) -> None:
        await db.execute(_EVENT, (session_id, from_state, to_state, detail, at))

    async def transition(
        self,
        session_id: str,
        expected: Iterable[str],
        to_state: str,
        *,
        detail: str | None = None,
        **fields: Any,
    ) -> dict[str, Any] | None:
        """Move a session to ``to_state`` only if it is now in one of ``expected`` (a
        compare-and-set), updating ``fields`` too. Returns the new row, or None when the
        session is missing or in another state."""
        expected = tuple(_text(s) for s in expected)
        to_state = _text(to_state)
        now = utcnow()
        updates = {**fields, "state": to_state, "updated_at": now, "origin": self.db.origin}
        assignments = ", ".join(f"{k} = ?" for k in updates)

        def move(db: sqlite3.Connection) -> dict[str, Any] | None:  # one trip: on its path
            row = db.execute("SELECT * FROM workspace_sessions WHERE id = ?", (session_id,))
            current = as_dict(row.fetchone())
            if current is None or current["state"] not in expected:
                return None
            db.execute(
                f"UPDATE workspace_sessions SET {assignments} WHERE id = ?",
                (*updates.values(), session_id),
            )
            db.execute(_EVENT, (session_id, current["state"], to_state, detail, now))
            return {**current, **updates}

        return await self.db.write(move)

    async def update(self, session_id: str, **fields: Any) -> None:
        """Update columns that are not the state (the state moves by transition only)."""
        assert "state" not in fields
        fields["updated_at"] = utcnow()
        fields["origin"] = self.db.origin
        assignments = ", ".join(f"{k} = ?" for k in fields)
        async with self.db.transaction() as db:
            await db.execute(
                f"UPDATE workspace_sessions SET {assignments} WHERE id = ?",
                (*fields.values(), session_id),
            )

    async def discard(self, session_id: str) -> None:
        """Erase a session that never came to be (its creation was rolled back)."""
        async with self.db.transaction() as db:
            await db.execute("DELETE FROM session_events WHERE session_id = ?", (session_id,))
            await db.execute("DELETE FROM workspace_sessions WHERE id = ?", (session_id,))

    async def get(self, session_id: str) -> dict[str, Any] | None:
        return await self.db.fetchone(
            "SELECT * FROM workspace_sessions WHERE id = ?", (session_id,)
        )

    async def for_user(
        self, user_id: str, *, repo_path: str | None = None, include_ended: bool = False
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM workspace_sessions WHERE user_id = ?"
        params: list[Any] = [user_id]
        if repo_path is not None:
            sql += " AND repo_path = ?"
            params.append(repo_path)
        if not include_ended:
            sql += " AND state != 'deleted'"
        return await self.db.fetchall(sql + " ORDER BY created_at DESC", params)

    async def in_states(self, states: Iterable[str]) -> list[dict[str, Any]]:
        states = tuple(_text(s) for s in states)
        marks = ", ".join("?" for _ in states)
        return await self.db.fetchall(
            f"SELECT * FROM workspace_sessions WHERE state IN ({marks}) ORDER BY created_at",
            states,
        )

    async def events(self, session_id: str) -> list[dict[str, Any]]:
        return await self.db.fetchall(
            "SELECT * FROM session_events WHERE session_id = ? ORDER BY seq", (session_id,)
        )
