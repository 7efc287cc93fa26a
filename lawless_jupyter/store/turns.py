"""A session's turns as checkpoints (``turns``; local only, not mirrored): every chat turn
and every rewind, numbered per session, with the commit that recorded the worktree before
it (a turn's once its first tool is about to run; none when it only answered). Rows change
only to record that checkpoint, a turn's end and whether a rewind undid it."""

from __future__ import annotations

import json
from typing import Any

from .db import Database, utcnow

_JSON = ("files_changed", "usage")


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON:
        if row.get(key) is not None:
            row[key] = json.loads(row[key])
    return row


class TurnRepository:
    def __init__(self, db: Database):
        self.db = db

    async def next_number(self, session_id: str) -> int:
        row = await self.db.fetchone(
            "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM turns WHERE session_id = ?",
            (session_id,),
        )
        return row["n"] if row else 1

    async def add(self, turn: dict[str, Any]) -> dict[str, Any]:
        """Insert a turn (``number`` from ``next_number``: the caller holds the session's
        turn lock, so two inserts cannot take the same one)."""
        row = {"started_at": utcnow(), **turn}
        columns = ", ".join(row)
        insert = f"INSERT INTO turns ({columns}) VALUES ({', '.join('?' for _ in row)})"
        await self.db.write(lambda db: db.execute(insert, (*row.values(),)))
        return row

    async def set_checkpoint(self, turn_id: str, checkpoint: Any) -> None:
        """Record a turn's checkpoint (a ``workspace.Checkpoint``), written by its first tool."""
        values = (checkpoint.commit, checkpoint.tree, checkpoint.head, turn_id)
        await self.db.write(
            lambda db: db.execute(
                "UPDATE turns SET checkpoint = ?, checkpoint_tree = ?, checkpoint_head = ? "
                "WHERE id = ?",
                values,
            )
        )

    async def finish(
        self,
        turn_id: str,
        *,
        stop_reason: str | None,
        files_changed: list[str] | None,
        cost_usd: float | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        values = (
            utcnow(),
            stop_reason,
            None if files_changed is None else json.dumps(files_changed),
            cost_usd,
            None if usage is None else json.dumps(usage),
            turn_id,
        )
        await self.db.write(
            lambda db: db.execute(
                "UPDATE turns SET ended_at = ?, stop_reason = ?, files_changed = ?, "
                "cost_usd = ?, usage = ? WHERE id = ?",
                values,
            )
        )

    async def get(self, session_id: str, turn_id: str) -> dict[str, Any] | None:
        row = await self.db.fetchone(
            "SELECT * FROM turns WHERE session_id = ? AND id = ?", (session_id, turn_id)
        )
        return _decoded(row) if row else None

    async def of_session(self, session_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM turns WHERE session_id = ? ORDER BY number", (session_id,)
        )
        return [_decoded(r) for r in rows]

    async def mark_rewound(self, session_id: str, target: dict[str, Any], rewind_id: str) -> None:
        """After rewinding to ``target``: it and every later turn still in effect were undone
        by ``rewind_id``; when ``target`` is itself a rewind, what it undid is back."""
        async with self.db.transaction() as db:
            await db.execute(
                "UPDATE turns SET rewound_by = ? WHERE session_id = ? AND number >= ? "
                "AND id != ? AND rewound_by IS NULL",
                (rewind_id, session_id, target["number"], rewind_id),
            )
            if target["kind"] == "rewind":
                await db.execute(
                    "UPDATE turns SET rewound_by = NULL WHERE session_id = ? AND rewound_by = ?",
                    (session_id, target["id"]),
                )
