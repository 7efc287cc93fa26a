"""The Jupyter kernel each workspace session started (local only, never mirrored)."""

from __future__ import annotations

from typing import Any

from .db import Database, utcnow


class KernelRepository:
    def __init__(self, db: Database):
        self.db = db

    async def record(
        self,
        session_id: str,
        kernel_id: str,
        kernel_name: str,
        pid: int | None,
        pid_started: float | None,
    ) -> None:
        async with self.db.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO session_kernels"
                " (session_id, kernel_id, kernel_name, pid, pid_started, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, kernel_id, kernel_name, pid, pid_started, utcnow()),
            )

    async def forget(self, session_id: str) -> None:
        async with self.db.transaction() as db:
            await db.execute("DELETE FROM session_kernels WHERE session_id = ?", (session_id,))

    async def of_session(self, session_id: str) -> dict[str, Any] | None:
        return await self.db.fetchone(
            "SELECT * FROM session_kernels WHERE session_id = ?", (session_id,)
        )

    async def all(self) -> list[dict[str, Any]]:
        return await self.db.fetchall("SELECT * FROM session_kernels ORDER BY started_at")
