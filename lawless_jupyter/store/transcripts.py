"""Claude Code's session transcripts in the Store: an adapter for the Claude Agent SDK's
``SessionStore`` (``ClaudeAgentOptions(session_store=...)``).

The SDK hands over every JSONL entry Claude Code writes (``append``) and asks for a whole
transcript before resuming (``load``). Entries go to SQLite (``transcript_entries``), and
from there to Supabase through the outbox like every mirrored table, so a conversation can
resume on a server whose ``~/.claude`` never saw it: ``load`` also fetches the transcript
from Supabase (when the mirror is on and was reachable last time; bounded by its request
timeout; any failure falls back to what SQLite has) and keeps the entries it did not have.

Entries with a ``uuid`` are stored once (the SDK's idempotency key); others are appended
as they come. Duck-typed: nothing here imports the SDK.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid as uuid_module
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from .db import utcnow
from .store import Store

#: ``(user_id, key) -> rows of transcript_entries in Supabase, oldest first``, or None when
#: Supabase cannot answer now.
RemoteLoad = Callable[[str, dict[str, Any]], Awaitable[list[dict[str, Any]] | None]]

_COLUMNS = (
    "id",
    "user_id",
    "project_key",
    "session_id",
    "subpath",
    "uuid",
    "entry",
    "created_at",
    "origin",
)


def entry_id(user_id: str, key: dict[str, Any], entry_uuid: str) -> str:
    """The Supabase key of an entry that has a uuid: the same on every server."""
    parts = (user_id, key["project_key"], key["session_id"], key.get("subpath") or "", entry_uuid)
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _epoch_ms(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)


class TranscriptStore:
    """One user's transcripts (rows are scoped by ``user_id``, as in Supabase)."""

    def __init__(self, store: Store, user_id: str, remote: RemoteLoad | None = None):
        self.store = store
        self.user_id = user_id
        self.remote = remote

    def _where(self, key: dict[str, Any], *, subpath: bool = True) -> tuple[str, list[Any]]:
        sql = "user_id = ? AND project_key = ? AND session_id = ?"
        params = [self.user_id, key["project_key"], key["session_id"]]
        if subpath:
            sql += " AND subpath = ?"
            params.append(key.get("subpath") or "")
        return sql, params

    async def append(self, key: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        now = utcnow()
        rows = []
        for entry in entries:
            entry_uuid = entry.get("uuid") if isinstance(entry.get("uuid"), str) else None
            rows.append(
                (
                    entry_id(self.user_id, key, entry_uuid)
                    if entry_uuid
                    else uuid_module.uuid4().hex,
                    self.user_id,
                    key["project_key"],
                    key["session_id"],
                    key.get("subpath") or "",
                    entry_uuid,
                    json.dumps(entry, separators=(",", ":")),
                    now,
                    None,
                )
            )
        await self._insert(rows)

    async def _insert(self, rows: list[tuple[Any, ...]], *, remote: bool = False) -> None:
        marks = ", ".join("?" for _ in _COLUMNS)

        def insert(db: sqlite3.Connection) -> None:  # one trip: Claude Code writes per turn
            kept = rows
            if remote:  # not what this database deleted and Supabase has not yet
                deleted = {
                    r[0]
                    for r in db.execute(
                        "SELECT row_id FROM outbox "
                        "WHERE table_name = 'transcript_entries' AND op = 'delete'"
                    )
                }
                kept = [r for r in rows if r[0] not in deleted]
            db.executemany(
                f"INSERT OR IGNORE INTO transcript_entries ({', '.join(_COLUMNS)}) "
                f"VALUES ({marks})",
                kept,
            )

        await self.store.db.write(insert)

    async def _adopt_remote(self, key: dict[str, Any]) -> None:
        """Keep the entries Supabase has and this database does not (written elsewhere)."""
        if self.remote is None:
            return
        remote = await self.remote(self.user_id, key)
        if not remote:
            return
        await self._insert(
            [
                (
                    r["id"],
                    self.user_id,
                    r["project_key"],
                    r["session_id"],
                    r["subpath"] or "",
                    r.get("uuid"),
                    json.dumps(r["entry"], separators=(",", ":")),
                    r["created_at"],
                    r.get("origin") or "supabase",
                )
                for r in remote
            ],
            remote=True,
        )

    async def load(self, key: dict[str, Any]) -> list[dict[str, Any]] | None:
        await self._adopt_remote(key)
        where, params = self._where(key)
        rows = await self.store.db.fetchall(
            f"SELECT entry FROM transcript_entries WHERE {where} ORDER BY seq", params
        )
        return [json.loads(r["entry"]) for r in rows] or None

    async def last_uuid(self, key: dict[str, Any]) -> str | None:
        """The uuid of the main transcript's latest conversation entry: where a turn that
        starts now continues from (the SDK's ``up_to_message_id`` to fork before it)."""
        where, params = self._where(key)
        row = await self.store.db.fetchone(
            f"SELECT uuid FROM transcript_entries WHERE {where} AND uuid IS NOT NULL "
            "AND json_extract(entry, '$.type') IN ('user', 'assistant', 'attachment', 'system') "
            "AND COALESCE(json_extract(entry, '$.isSidechain'), 0) = 0 ORDER BY seq DESC LIMIT 1",
            params,
        )
        return row["uuid"] if row else None

    async def list_sessions(self, project_key: str) -> list[dict[str, Any]]:
        rows = await self.store.db.fetchall(
            "SELECT session_id, MAX(created_at) AS last FROM transcript_entries "
            "WHERE user_id = ? AND project_key = ? AND subpath = '' GROUP BY session_id",
            (self.user_id, project_key),
        )
        return [{"session_id": r["session_id"], "mtime": _epoch_ms(r["last"])} for r in rows]

    async def delete(self, key: dict[str, Any]) -> None:
        """Delete a transcript (the main one with its subagents', or one subpath), here and,
        through the outbox, in Supabase."""
        await self._adopt_remote(key)  # so that what only Supabase had goes too
        where, params = self._where(key, subpath="subpath" in key)
        async with self.store.db.transaction() as db:
            await db.execute(f"DELETE FROM transcript_entries WHERE {where}", params)

    async def list_subkeys(self, key: dict[str, Any]) -> list[str]:
        where, params = self._where(key, subpath=False)
        rows = await self.store.db.fetchall(
            f"SELECT DISTINCT subpath FROM transcript_entries WHERE {where} AND subpath != '' "
            "ORDER BY subpath",
            params,
        )
        return [r["subpath"] for r in rows]
