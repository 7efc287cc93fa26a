"""Each person's preferences: one mirrored JSON document per user."""

from __future__ import annotations

import json
from typing import Any

from .db import Database, utcnow


class PreferenceRepository:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, user_id: str) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM preferences WHERE id = ?", (user_id,))
        if row is not None:
            row["data"] = json.loads(row["data"])
        return row

    async def put(self, user_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Replace a user's preferences (one document), as this database's latest version."""
        now = utcnow()
        async with self.db.transaction() as db:
            await db.execute(
                "INSERT INTO preferences (id, user_id, data, created_at, updated_at, origin) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at, origin = excluded.origin",
                (user_id, user_id, json.dumps(data), now, now, self.db.origin),
            )
        return await self.get(user_id)

    async def adopt(self, row: dict[str, Any]) -> dict[str, Any]:
        """Keep a copy of preferences another server wrote (fetched from Supabase) when this
        database has none yet; a local version, if one appeared meanwhile, wins here and
        last-write-wins settles it in Supabase."""
        data = row["data"] if isinstance(row["data"], str) else json.dumps(row["data"])
        async with self.db.transaction() as db:
            await db.execute(
                "INSERT INTO preferences (id, user_id, data, created_at, updated_at, origin) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    row["user_id"],
                    row["user_id"],
                    data,
                    row["created_at"],
                    row["updated_at"],
                    row.get("origin") or None,
                ),
            )
        return await self.get(row["user_id"])
