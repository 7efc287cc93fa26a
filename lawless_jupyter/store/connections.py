"""Connections to GitHub and Vercel: sealed tokens (``integrations``) and OAuth flows in
progress (``oauth_flows``). Local only, never mirrored."""

from __future__ import annotations

import time
from typing import Any

from .db import Database, as_dict, utcnow


class ConnectionRepository:
    def __init__(self, db: Database):
        self.db = db

    async def put_integration(self, row: dict[str, Any]) -> None:
        """Insert or replace the connection of (user_id, provider)."""
        now = utcnow()
        row = {"extra": None, "created_at": now, **row, "updated_at": now}
        columns = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in row if c != "created_at")
        async with self.db.transaction() as db:
            await db.execute(
                f"INSERT INTO integrations ({columns}) VALUES ({marks}) "
                f"ON CONFLICT (user_id, provider) DO UPDATE SET {updates}",
                row,
            )

    async def get_integration(self, user_id: str, provider: str) -> dict[str, Any] | None:
        return await self.db.fetchone(
            "SELECT * FROM integrations WHERE user_id = ? AND provider = ?", (user_id, provider)
        )

    async def list_integrations(self, user_id: str) -> list[dict[str, Any]]:
        return await self.db.fetchall(
            "SELECT * FROM integrations WHERE user_id = ? ORDER BY provider", (user_id,)
        )

    async def delete_integration(self, user_id: str, provider: str) -> bool:
        async with self.db.transaction() as db:
            cur = await db.execute(
                "DELETE FROM integrations WHERE user_id = ? AND provider = ?", (user_id, provider)
            )
            await db.execute(
                "DELETE FROM oauth_flows WHERE user_id = ? AND provider = ?", (user_id, provider)
            )
            return cur.rowcount > 0

    async def integrations_not_sealed_with(self, key_id: str) -> list[dict[str, Any]]:
        return await self.db.fetchall(
            "SELECT user_id, provider, secret FROM integrations WHERE key_id != ?", (key_id,)
        )

    async def reseal_integration(
        self, user_id: str, provider: str, old_secret: str, secret: str, key_id: str
    ) -> bool:
        """Replace the sealed secret if it is still ``old_secret`` (compare-and-set)."""
        async with self.db.transaction() as db:
            cur = await db.execute(
                "UPDATE integrations SET secret = ?, key_id = ? "
                "WHERE user_id = ? AND provider = ? AND secret = ?",
                (secret, key_id, user_id, provider, old_secret),
            )
            return cur.rowcount > 0

    async def add_oauth_flow(self, row: dict[str, Any]) -> None:
        row = {"redirect_to": None, "poll_interval": None, **row, "created_at": utcnow()}
        columns = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        async with self.db.transaction() as db:
            # flows nobody finished are let go of here, so the table stays small
            await db.execute("DELETE FROM oauth_flows WHERE expires_at < ?", (time.time(),))
            await db.execute(f"INSERT INTO oauth_flows ({columns}) VALUES ({marks})", row)

    async def take_oauth_flow(
        self, flow_id: str, user_id: str, provider: str, kind: str
    ) -> dict[str, Any] | None:
        """Remove and return a flow that is this user's and not expired (single use); None
        for an unknown, someone else's or an expired one (an expired one is removed too)."""
        async with self.db.transaction() as db:
            async with db.execute("SELECT * FROM oauth_flows WHERE id = ?", (flow_id,)) as cur:
                row = as_dict(await cur.fetchone())
            if row is None or (row["user_id"], row["provider"], row["kind"]) != (
                user_id,
                provider,
                kind,
            ):
                return None
            await db.execute("DELETE FROM oauth_flows WHERE id = ?", (flow_id,))
        return row if row["expires_at"] > time.time() else None

    async def get_oauth_flow(
        self, flow_id: str, user_id: str, provider: str, kind: str
    ) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM oauth_flows WHERE id = ?", (flow_id,))
        if row is None or (row["user_id"], row["provider"], row["kind"]) != (
            user_id,
            provider,
            kind,
        ):
            return None
        return row

    async def set_oauth_flow_interval(self, flow_id: str, seconds: float) -> None:
        async with self.db.transaction() as db:
            await db.execute(
                "UPDATE oauth_flows SET poll_interval = ? WHERE id = ?", (seconds, flow_id)
            )
