"""Attempts (best-of-N): the attempt row and one row per session it started.

Local only: not mirrored to Supabase (the sessions themselves are)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .db import Database, utcnow


def _session_row(row: dict[str, Any]) -> dict[str, Any]:
    row["diff"] = json.loads(row["diff"]) if row.get("diff") else None
    return row


class AttemptRepository:
    def __init__(self, db: Database):
        self.db = db

    async def create(self, attempt: dict[str, Any], sessions: list[dict[str, Any]]) -> None:
        """The attempt (state ``creating``) and its session rows, in one transaction, before
        any session is made: a crash half-way leaves a row that says which ones to clean."""
        now = utcnow()
        row = {**attempt, "state": "creating", "created_at": now, "updated_at": now}
        async with self.db.transaction() as db:
            await db.execute(
                f"INSERT INTO attempts ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                tuple(row.values()),
            )
            for s in sessions:
                s = {"turn_state": "pending", **s, "attempt_id": row["id"], "updated_at": now}
                await db.execute(
                    f"INSERT INTO attempt_sessions ({', '.join(s)}) "
                    f"VALUES ({', '.join('?' for _ in s)})",
                    tuple(s.values()),
                )

    async def discard(self, attempt_id: str) -> None:
        """Erase an attempt that never came to be (its creation was rolled back)."""
        async with self.db.transaction() as db:
            await db.execute("DELETE FROM attempt_sessions WHERE attempt_id = ?", (attempt_id,))
            await db.execute("DELETE FROM attempts WHERE id = ?", (attempt_id,))

    async def get(self, attempt_id: str) -> dict[str, Any] | None:
        return await self.db.fetchone("SELECT * FROM attempts WHERE id = ?", (attempt_id,))

    async def for_user(self, user_id: str) -> list[dict[str, Any]]:
        return await self.db.fetchall(
            "SELECT * FROM attempts WHERE user_id = ? ORDER BY created_at DESC", (user_id,)
        )

    async def in_states(self, states: Iterable[str]) -> list[dict[str, Any]]:
        states = tuple(states)
        marks = ", ".join("?" for _ in states)
        return await self.db.fetchall(
            f"SELECT * FROM attempts WHERE state IN ({marks}) ORDER BY created_at", states
        )

    async def sessions(self, attempt_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM attempt_sessions WHERE attempt_id = ? ORDER BY position",
            (attempt_id,),
        )
        return [_session_row(r) for r in rows]

    async def session(self, session_id: str) -> dict[str, Any] | None:
        """The attempt row of a session (None: the session is not part of an attempt)."""
        row = await self.db.fetchone(
            "SELECT * FROM attempt_sessions WHERE session_id = ?", (session_id,)
        )
        return _session_row(row) if row else None

    async def update(self, attempt_id: str, **fields: Any) -> None:
        fields["updated_at"] = utcnow()
        assignments = ", ".join(f"{k} = ?" for k in fields)
        async with self.db.transaction() as db:
            await db.execute(
                f"UPDATE attempts SET {assignments} WHERE id = ?", (*fields.values(), attempt_id)
            )

    async def update_session(self, session_id: str, **fields: Any) -> None:
        if "diff" in fields and fields["diff"] is not None:
            fields["diff"] = json.dumps(fields["diff"])
        fields["updated_at"] = utcnow()
        assignments = ", ".join(f"{k} = ?" for k in fields)
        async with self.db.transaction() as db:
            await db.execute(
                f"UPDATE attempt_sessions SET {assignments} WHERE session_id = ?",
                (*fields.values(), session_id),
            )

    async def finish_turn(
        self, session_id: str, *, stop_reason: str | None, duration_ms: int, cost_usd: float
    ) -> None:
        """A turn of the session ended: counted, its cost added (one statement, so two
        turns ending together cannot lose one)."""
        async with self.db.transaction() as db:
            await db.execute(
                "UPDATE attempt_sessions SET turn_state = 'finished', stop_reason = ?, "
                "duration_ms = ?, cost_usd = cost_usd + ?, turns = turns + 1, updated_at = ? "
                "WHERE session_id = ?",
                (stop_reason, duration_ms, cost_usd, utcnow(), session_id),
            )

    async def fail_check(self, session_id: str) -> None:
        """A check that will not run or finish after all (its after-turn work failed)."""
        async with self.db.transaction() as db:
            await db.execute(
                "UPDATE attempt_sessions SET check_state = 'error', updated_at = ? "
                "WHERE session_id = ? AND check_state IN ('pending', 'running')",
                (utcnow(), session_id),
            )

    async def interrupt_running(self) -> int:
        """After a restart: turns and checks that were running are over, unfinished."""
        async with self.db.transaction() as db:
            cur = await db.execute(
                "UPDATE attempt_sessions SET turn_state = 'interrupted', updated_at = ? "
                "WHERE turn_state IN ('running', 'pending')",
                (utcnow(),),
            )
            changed = cur.rowcount
            cur = await db.execute(
                "UPDATE attempt_sessions SET check_state = 'interrupted', updated_at = ? "
                "WHERE check_state = 'running'",
                (utcnow(),),
            )
            return changed + cur.rowcount
