"""The outbox: rows to mirror to Supabase.

The ``Store`` writes an outbox row in the same SQLite transaction as the data it mirrors
(``enqueue``), so a write is either in both places or in neither: a crash between the local
write and the sync loses nothing, and the sync resumes at start-up from what is left here.
``supabase_mirror.SupabaseMirror`` drains it in order (``Outbox.pending``), deletes what
Supabase took (``settle``) and parks what Supabase refused (``park``), keeping the error.

With no Supabase configured the Store writes no outbox rows at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiosqlite

    from .store import Store


@dataclass(frozen=True)
class MirroredTable:
    """A SQLite table that has a twin in Supabase (``supabase/migrations``)."""

    name: str
    #: rows change over time (last-write-wins by ``(updated_at, origin)``), or are appended once
    mutable: bool
    key: str = "id"
    #: SQLite TEXT columns that hold JSON; they are ``jsonb`` in Postgres
    json_columns: tuple[str, ...] = ()


#: What is mirrored. Terminals and their output stay local; session_events are the local
#: audit trail of the state machine (the session row itself carries the state).
TABLES: dict[str, MirroredTable] = {
    t.name: t
    for t in (
        MirroredTable("workspace_sessions", mutable=True),
        MirroredTable("conversations", mutable=True),
        MirroredTable("messages", mutable=False, json_columns=("content",)),
        MirroredTable("activity", mutable=False, json_columns=("detail",)),
    )
}


def remote_row(table: str, row: dict[str, Any], origin: str) -> dict[str, Any]:
    """A SQLite row as its Supabase table stores it."""
    spec = TABLES[table]
    out = dict(row)
    for column in spec.json_columns:
        if isinstance(out.get(column), str):
            out[column] = json.loads(out[column])
    if spec.mutable:
        out["origin"] = out.get("origin") or origin
    return out


async def enqueue(
    db: aiosqlite.Connection, table: str, op: str, row_id: str, payload: dict[str, Any], now: str
) -> None:
    """Add one row to the outbox, inside the caller's transaction."""
    assert table in TABLES and op in ("upsert", "delete")
    await db.execute(
        "INSERT INTO outbox (table_name, op, row_id, payload, created_at) VALUES (?, ?, ?, ?, ?)",
        (table, op, row_id, json.dumps(payload, separators=(",", ":")), now),
    )


@dataclass
class OutboxRow:
    seq: int
    table: str
    op: str
    row_id: str
    payload: dict[str, Any]
    created_at: str
    attempts: int


class Outbox:
    """Reading and settling the outbox (the mirror's side of it)."""

    def __init__(self, store: Store):
        self._store = store

    async def pending(self, limit: int) -> list[OutboxRow]:
        """The oldest rows still to send, in the order they were written."""
        rows = await self._store._fetchall(
            "SELECT seq, table_name, op, row_id, payload, created_at, attempts FROM outbox "
            "WHERE parked_at IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [
            OutboxRow(
                r["seq"],
                r["table_name"],
                r["op"],
                r["row_id"],
                json.loads(r["payload"]),
                r["created_at"],
                r["attempts"],
            )
            for r in rows
        ]

    async def settle(self, seqs: list[int]) -> None:
        """Supabase has these: let them go."""
        if not seqs:
            return
        async with self._store._transaction() as db:
            await db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    async def failed(self, seqs: list[int], error: str) -> None:
        """A try that will be repeated: count it and keep the error to show."""
        if not seqs:
            return
        async with self._store._transaction() as db:
            await db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, error = ? WHERE seq = ?",
                [(error, s) for s in seqs],
            )

    async def park(self, seq: int, error: str, now: str) -> None:
        """Supabase refused this row (a 4xx): keep it, with the reason, out of the queue."""
        async with self._store._transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, parked_at = ?, error = ? WHERE seq = ?",
                (now, error, seq),
            )

    async def unpark(self) -> int:
        """Put every parked row back in the queue (after the cause was fixed)."""
        async with self._store._transaction() as db:
            cur = await db.execute("UPDATE outbox SET parked_at = NULL WHERE parked_at IS NOT NULL")
            return cur.rowcount

    async def parked(self, limit: int = 20) -> list[dict[str, Any]]:
        return await self._store._fetchall(
            "SELECT seq, table_name, op, row_id, attempts, parked_at, error FROM outbox "
            "WHERE parked_at IS NOT NULL ORDER BY seq LIMIT ?",
            (limit,),
        )

    async def stats(self) -> dict[str, Any]:
        row = await self._store._fetchone(
            "SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox "
            "WHERE parked_at IS NULL"
        )
        parked = await self._store._fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NOT NULL"
        )
        return {
            "depth": row["depth"] if row else 0,
            "oldest_pending_at": row["oldest"] if row else None,
            "parked": parked["n"] if parked else 0,
        }
