"""What happened (``activity``, per user) and what the store holds (the monitoring gauges)."""

from __future__ import annotations

import json
from typing import Any

from .db import ENDED_STATES, Database, utcnow


class ActivityRepository:
    def __init__(self, db: Database):
        self.db = db

    async def counts(self) -> dict[str, int]:
        """What the monitoring gauges show: live sessions, open terminals, outbox rows."""
        row = await self.db.fetchone(
            "SELECT "
            f"(SELECT COUNT(*) FROM workspace_sessions WHERE state NOT IN {ENDED_STATES}) "
            "AS active_sessions, "
            "(SELECT COUNT(*) FROM terminals WHERE closed_at IS NULL) AS open_terminals, "
            "(SELECT COUNT(*) FROM outbox WHERE parked_at IS NULL) AS outbox_depth"
        )
        assert row is not None
        return row

    async def record(self, user_id: str, kind: str, detail: dict[str, Any]) -> None:
        async with self.db.transaction() as db:
            await db.execute(
                "INSERT INTO activity (user_id, kind, detail, created_at) VALUES (?, ?, ?, ?)",
                (user_id, kind, json.dumps(detail), utcnow()),
            )

    async def recent(self, user_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT seq, user_id, kind, detail, created_at FROM activity WHERE user_id = ? "
            "ORDER BY seq DESC LIMIT ?",
            (user_id, limit),
        )
        for r in rows:
            r["detail"] = json.loads(r["detail"])
        return rows
