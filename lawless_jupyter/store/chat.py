"""Chat: conversations (one per workspace session, or free) and their append-only messages."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from .db import Database, utcnow


class ChatRepository:
    def __init__(self, db: Database):
        self.db = db

    async def conversation_for(self, user_id: str, session_id: str | None) -> dict[str, Any]:
        """The conversation of a workspace session (made on first use), or a new free one
        when ``session_id`` is None."""
        if session_id is not None:
            found = await self.db.fetchone(
                "SELECT * FROM conversations WHERE session_id = ?", (session_id,)
            )
            if found is not None:
                return found
        now = utcnow()
        row = {
            "id": str(uuid.uuid4()),
            "user_id": user_id,
            "session_id": session_id,
            "claude_session_id": None,
            "created_at": now,
            "updated_at": now,
            "origin": self.db.origin,
        }
        async with self.db.transaction() as db:
            await db.execute(
                "INSERT INTO conversations (id, user_id, session_id, claude_session_id, "
                "created_at, updated_at, origin) VALUES (:id, :user_id, :session_id, "
                ":claude_session_id, :created_at, :updated_at, :origin) ON CONFLICT DO NOTHING",
                row,
            )
        if session_id is not None:  # a concurrent first use may have won the insert
            return await self.db.fetchone(
                "SELECT * FROM conversations WHERE session_id = ?", (session_id,)
            )
        return row

    async def session_conversation(self, session_id: str) -> dict[str, Any] | None:
        """The conversation of a workspace session, if anyone has chatted there (read only)."""
        return await self.db.fetchone(
            "SELECT * FROM conversations WHERE session_id = ?", (session_id,)
        )

    async def get_conversation(self, conversation_id: str) -> dict[str, Any] | None:
        return await self.db.fetchone(
            "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
        )

    async def set_claude_session(self, conversation_id: str, claude_session_id: str | None) -> None:
        async with self.db.transaction() as db:
            await db.execute(
                "UPDATE conversations SET claude_session_id = ?, updated_at = ?, origin = ? "
                "WHERE id = ?",
                (claude_session_id, utcnow(), self.db.origin, conversation_id),
            )

    async def append_message(
        self, conversation_id: str, turn_id: str, role: str, content: dict[str, Any]
    ) -> int:
        """Append one message to a conversation (history is never rewritten)."""
        row = (str(uuid.uuid4()), conversation_id, turn_id, role, json.dumps(content), utcnow())

        def insert(db: sqlite3.Connection) -> int:  # one trip: on every turn's path
            return db.execute(
                "INSERT INTO messages (id, conversation_id, turn_id, role, content, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                row,
            ).lastrowid

        return await self.db.write(insert)

    async def count_messages(self, conversation_id: str, role: str) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? AND role = ?",
            (conversation_id, role),
        )
        return row["n"] if row else 0

    async def list_messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 200
    ) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT seq, id, turn_id, role, content, created_at FROM messages "
            "WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (conversation_id, after, limit),
        )
        for r in rows:
            r["content"] = json.loads(r["content"])
        return rows

    async def first_seq_of_turn(self, conversation_id: str, turn_id: str) -> int | None:
        row = await self.db.fetchone(
            "SELECT MIN(seq) AS seq FROM messages WHERE conversation_id = ? AND turn_id = ?",
            (conversation_id, turn_id),
        )
        return row["seq"] if row else None

    async def copy_messages(
        self, source_id: str, target_id: str, *, before_seq: int | None, skip_turns: list[str]
    ) -> int:
        """Copy a conversation's history (below ``before_seq``, without the rows of
        ``skip_turns``) into another: a fork's starts with the turns it was forked after.
        The copies get their own ids."""
        async with self.db.transaction() as db:
            cur = await db.execute(
                "INSERT INTO messages (id, conversation_id, turn_id, role, content, created_at) "
                "SELECT lower(hex(randomblob(16))), ?, turn_id, role, content, created_at "
                "FROM messages WHERE conversation_id = ? AND seq < ? "
                "AND turn_id NOT IN (SELECT value FROM json_each(?)) ORDER BY seq",
                (target_id, source_id, before_seq or 2**62, json.dumps(skip_turns)),
            )
            return cur.rowcount
