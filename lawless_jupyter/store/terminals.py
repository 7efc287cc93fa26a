"""Terminals of workspace sessions and their output, kept up to a cap (local only)."""

from __future__ import annotations

from typing import Any

from .db import Database, utcnow


class TerminalRepository:
    def __init__(self, db: Database):
        self.db = db

    async def add(self, row: dict[str, Any]) -> dict[str, Any]:
        row = {**row, "created_at": utcnow(), "closed_at": None}
        async with self.db.transaction() as db:
            await db.execute(
                "INSERT INTO terminals (id, name, session_id, user_id, cwd, created_at, closed_at)"
                " VALUES (:id, :name, :session_id, :user_id, :cwd, :created_at, :closed_at)",
                row,
            )
        return row

    async def close(self, terminal_id: str) -> None:
        async with self.db.transaction() as db:
            await db.execute(
                "UPDATE terminals SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                (utcnow(), terminal_id),
            )

    async def close_open(self) -> int:
        """At start-up no terminal of a previous run is alive any more."""
        async with self.db.transaction() as db:
            cur = await db.execute(
                "UPDATE terminals SET closed_at = ? WHERE closed_at IS NULL", (utcnow(),)
            )
            return cur.rowcount

    async def of_session(self, session_id: str) -> list[dict[str, Any]]:
        return await self.db.fetchall(
            "SELECT * FROM terminals WHERE session_id = ? ORDER BY created_at", (session_id,)
        )

    async def append_output(
        self, terminal_id: str, data: str, cap_bytes: int, *, dropped_before: int = 0
    ) -> None:
        """Append output, then let go of the oldest beyond ``cap_bytes``.

        ``dropped_before``: bytes the caller already let go of (counted, never stored)."""
        encoded = data.encode("utf-8", "replace")
        if len(encoded) >= cap_bytes:  # this batch alone fills the cap: it replaces the rest
            dropped_before += len(encoded) - cap_bytes
            data = encoded[-cap_bytes:].decode("utf-8", "ignore")
            async with self.db.transaction() as db:
                await db.execute(
                    "DELETE FROM terminal_output WHERE terminal_id = ?", (terminal_id,)
                )
                await db.execute(
                    "INSERT INTO terminal_output (terminal_id, data, bytes) VALUES (?, ?, ?)",
                    (terminal_id, data, len(data.encode("utf-8", "replace"))),
                )
                await db.execute(
                    "UPDATE terminals SET dropped_bytes = dropped_bytes + stored_bytes + ?, "
                    "stored_bytes = ? WHERE id = ?",
                    (dropped_before, len(data.encode("utf-8", "replace")), terminal_id),
                )
            return
        size = len(encoded)
        async with self.db.transaction() as db:
            if dropped_before:
                await db.execute(
                    "UPDATE terminals SET dropped_bytes = dropped_bytes + ? WHERE id = ?",
                    (dropped_before, terminal_id),
                )
            await db.execute(
                "INSERT INTO terminal_output (terminal_id, data, bytes) VALUES (?, ?, ?)",
                (terminal_id, data, size),
            )
            await db.execute(
                "UPDATE terminals SET stored_bytes = stored_bytes + ? WHERE id = ?",
                (size, terminal_id),
            )
            async with db.execute(
                "SELECT stored_bytes FROM terminals WHERE id = ?", (terminal_id,)
            ) as cur:
                (stored,) = await cur.fetchone()
            if stored <= cap_bytes:
                return
            # let go of the oldest output: whole chunks, then the head of the next one, so
            # exactly the newest ``cap_bytes`` stay
            excess = stored - cap_bytes
            whole: list[tuple[int]] = []
            async with db.execute(
                "SELECT seq, data, bytes FROM terminal_output WHERE terminal_id = ? ORDER BY seq",
                (terminal_id,),
            ) as cur:
                chunks = await cur.fetchall()  # at most about cap_bytes of text
            for seq, chunk, size in chunks:
                if excess <= 0:
                    break
                if size <= excess:
                    whole.append((seq,))
                    excess -= size
                    continue
                kept = chunk.encode("utf-8", "replace")[excess:].decode("utf-8", "ignore")
                kept_size = len(kept.encode("utf-8", "replace"))
                await db.execute(
                    "UPDATE terminal_output SET data = ?, bytes = ? WHERE seq = ?",
                    (kept, kept_size, seq),
                )
                excess -= size - kept_size
            await db.executemany("DELETE FROM terminal_output WHERE seq = ?", whole)
            dropped = stored - cap_bytes - excess
            await db.execute(
                "UPDATE terminals SET stored_bytes = stored_bytes - ?, "
                "dropped_bytes = dropped_bytes + ? WHERE id = ?",
                (dropped, dropped, terminal_id),
            )

    async def output(self, terminal_id: str) -> str:
        rows = await self.db.fetchall(
            "SELECT data FROM terminal_output WHERE terminal_id = ? ORDER BY seq", (terminal_id,)
        )
        return "".join(r["data"] for r in rows)
