"""First answers to POSTs sent with an ``Idempotency-Key``, per user, until they expire.
Local only, never mirrored: a retry comes back to the server that answered."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .db import Database


@dataclass(frozen=True)
class KeptAnswer:
    fingerprint: str  # of the request that was answered (method, path, body)
    status: int
    body: dict[str, Any]


class IdempotencyRepository:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, user_id: str, key: str) -> KeptAnswer | None:
        """The answer kept for this user's key, unless it has expired."""
        row = await self.db.fetchone(
            "SELECT fingerprint, status, answer FROM idempotency_keys "
            "WHERE user_id = ? AND key = ? AND expires_at > ?",
            (user_id, key, time.time()),
        )
        if row is None:
            return None
        return KeptAnswer(row["fingerprint"], row["status"], json.loads(row["answer"]))

    async def keep(self, user_id: str, key: str, answer: KeptAnswer, *, seconds: float) -> None:
        """Keep ``answer`` for ``seconds`` (an expired row of the same key is replaced)."""
        now = time.time()
        await self.db.write(
            lambda db: db.execute(
                "INSERT INTO idempotency_keys "
                "(user_id, key, fingerprint, status, answer, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, key) DO UPDATE SET "
                "fingerprint = excluded.fingerprint, status = excluded.status, "
                "answer = excluded.answer, created_at = excluded.created_at, "
                "expires_at = excluded.expires_at",
                (
                    user_id,
                    key,
                    answer.fingerprint,
                    answer.status,
                    json.dumps(answer.body),
                    now,
                    now + seconds,
                ),
            )
        )

    async def sweep(self) -> int:
        """Forget expired answers; how many went."""
        async with self.db.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM idempotency_keys WHERE expires_at <= ?", (time.time(),)
            )
            return cursor.rowcount
