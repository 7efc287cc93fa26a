"""The outbox: rows to mirror to Supabase.

When the mirror is on, the ``Store`` installs TEMP triggers on its writing connection
(``install_triggers``): every insert, update or delete of a mirrored table writes an outbox
row in the same statement, so in the same transaction. A write is in both places or in
neither; a crash between the local write and the sync loses nothing, and the sync resumes at
start-up from what is left here. Any future write to a mirrored table is covered without
touching its code, and the payload is built by SQLite (``json_object``) at no extra round
trip. TEMP triggers live in the connection only: with the mirror off there are none, and no
outbox row is ever written.

``supabase_mirror.SupabaseMirror`` drains it in order (``Outbox.pending``), deletes what
Supabase took (``settle``) and parks what Supabase refused (``park``), keeping the error.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .db import Database, as_dict, utcnow
from .pulled import pulled_updates

if TYPE_CHECKING:
    import aiosqlite


@dataclass(frozen=True)
class MirroredTable:
    """A SQLite table that has a twin in Supabase (``supabase/migrations``). Every column is
    mirrored: a column added here needs a Supabase migration too (until then the mirror
    waits and says why)."""

    name: str
    #: rows change over time (last-write-wins by ``(updated_at, origin)``), or are appended once
    mutable: bool
    #: SQLite TEXT columns that hold JSON; they are ``jsonb`` in Postgres
    json_columns: tuple[str, ...] = ()
    #: Supabase columns computed from the row: SQL with ``{row}`` (NEW, OLD or the table) and
    #: ``{origin}`` (this database's id, quoted)
    computed: dict[str, str] = field(default_factory=dict)
    #: the primary key in Supabase, as SQL
    key: str = "{row}.id"
    #: deletes are mirrored (always for mutable tables)
    mirror_deletes: bool = False


#: What is mirrored. Terminals and their output stay local; session_events are the local
#: audit trail of the state machine (the session row itself carries the state).
TABLES: dict[str, MirroredTable] = {
    t.name: t
    for t in (
        MirroredTable(
            "workspace_sessions",
            mutable=True,
            computed={"origin": "coalesce({row}.origin, {origin})"},
        ),
        MirroredTable(
            "conversations",
            mutable=True,
            computed={"origin": "coalesce({row}.origin, {origin})"},
        ),
        MirroredTable(
            "messages",
            mutable=False,
            json_columns=("content",),
            # Supabase rows carry their owner, for row level security
            computed={
                "user_id": "(SELECT c.user_id FROM conversations c "
                "WHERE c.id = {row}.conversation_id)"
            },
        ),
        MirroredTable(
            "activity",
            mutable=False,
            json_columns=("detail",),
            # the local seq is unique in this database only; prefixed with its id, everywhere
            computed={"id": "{origin} || '-' || {row}.seq"},
            key="{origin} || '-' || {row}.seq",
        ),
        MirroredTable(
            "transcript_entries",
            mutable=False,
            json_columns=("entry",),
            computed={"origin": "coalesce({row}.origin, {origin})"},
            mirror_deletes=True,  # a deleted transcript is deleted there too
        ),
        MirroredTable(
            "preferences",
            mutable=True,
            json_columns=("data",),
            computed={"origin": "coalesce({row}.origin, {origin})"},
        ),
    )
}

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _payload(spec: MirroredTable, columns: list[str], row: str, origin: str) -> str:
    parts = []
    for column in columns:
        if column in spec.computed:
            continue
        value = f"{row}.{column}"
        if column in spec.json_columns:
            value = f"json({value})"
        parts.append(f"'{column}', {value}")
    for column, expr in spec.computed.items():
        parts.append(f"'{column}', " + expr.format(row=row, origin=_quote(origin)))
    return "json_object(" + ", ".join(parts) + ")"


def _insert(spec: MirroredTable, op: str, row: str, payload: str, origin: str) -> str:
    key = spec.key.format(row=row, origin=_quote(origin))
    return (
        "INSERT INTO outbox (table_name, op, row_id, payload, created_at) "
        f"VALUES ('{spec.name}', '{op}', {key}, {payload}, {_NOW})"
    )


async def install_triggers(db: aiosqlite.Connection, origin: str) -> None:
    """Make every write of a mirrored table on this connection write its outbox row."""
    for name, spec in TABLES.items():
        columns = await table_columns(db, name)
        upsert = _insert(spec, "upsert", "NEW", _payload(spec, columns, "NEW", origin), origin)
        # a row or version that came from Supabase (another database's origin) is not sent back
        mine = (
            f" WHEN coalesce(NEW.origin, {_quote(origin)}) = {_quote(origin)}"
            if "origin" in columns
            else ""
        )
        statements = [
            f"CREATE TEMP TRIGGER IF NOT EXISTS lawless_outbox_{name}_insert "
            f"AFTER INSERT ON main.{name}{mine} BEGIN {upsert}; END"
        ]
        if spec.mutable:
            statements.append(
                f"CREATE TEMP TRIGGER IF NOT EXISTS lawless_outbox_{name}_update "
                f"AFTER UPDATE ON main.{name}{mine} BEGIN {upsert}; END"
            )
        if spec.mutable or spec.mirror_deletes:
            delete = _insert(spec, "delete", "OLD", "json_object('id', OLD.id)", origin)
            statements.append(
                f"CREATE TEMP TRIGGER IF NOT EXISTS lawless_outbox_{name}_delete "
                f"AFTER DELETE ON main.{name} BEGIN {delete}; END"
            )
        for statement in statements:
            await db.execute(statement)


async def backfill(db: aiosqlite.Connection, origin: str) -> int:
    """Queue every row of every mirrored table (inside the caller's transaction)."""
    count = 0
    for name, spec in TABLES.items():
        columns = await table_columns(db, name)
        payload = _payload(spec, columns, "r", origin)
        key = spec.key.format(row="r", origin=_quote(origin))
        order = "r.seq" if "seq" in columns else "r.created_at"
        cur = await db.execute(
            "INSERT INTO outbox (table_name, op, row_id, payload, created_at) "
            f"SELECT '{name}', 'upsert', {key}, {payload}, {_NOW} FROM {name} r ORDER BY {order}"
        )
        count += cur.rowcount
    return count


async def table_columns(db: aiosqlite.Connection, table: str) -> list[str]:
    async with db.execute(f"SELECT * FROM {table} LIMIT 0") as cur:
        return [c[0] for c in cur.description]


@dataclass
class OutboxRow:
    seq: int
    table: str
    op: str
    row_id: str
    payload: dict[str, Any]
    created_at: str
    attempts: int
    size: int = 0  # bytes of the payload's JSON


class Outbox:
    """The mirror's side of the database: reading and settling the outbox, queueing old rows
    once, taking Supabase's newer versions of rows (the pull)."""

    def __init__(self, db: Database):
        self.db = db

    async def pending(self, limit: int) -> list[OutboxRow]:
        """The oldest rows still to send, in the order they were written."""
        rows = await self.db.fetchall(
            "SELECT seq, table_name, op, row_id, payload, created_at, attempts, "
            "length(payload) AS size FROM outbox "
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
                r["size"],
            )
            for r in rows
        ]

    async def settle(self, seqs: list[int]) -> None:
        """Supabase has these: let them go."""
        if not seqs:
            return
        async with self.db.transaction() as db:
            await db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    async def failed(self, seqs: list[int], error: str) -> None:
        """A try that will be repeated: count it and keep the error to show."""
        if not seqs:
            return
        async with self.db.transaction() as db:
            await db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, error = ? WHERE seq = ?",
                [(error, s) for s in seqs],
            )

    async def park(self, seq: int, error: str, now: str) -> None:
        """Supabase refused this row (a 4xx): keep it, with the reason, out of the queue."""
        async with self.db.transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, parked_at = ?, error = ? WHERE seq = ?",
                (now, error, seq),
            )

    async def unpark(self) -> int:
        """Put every parked row back in the queue (after the cause was fixed)."""
        async with self.db.transaction() as db:
            cur = await db.execute("UPDATE outbox SET parked_at = NULL WHERE parked_at IS NOT NULL")
            return cur.rowcount

    async def parked(self, limit: int = 20) -> list[dict[str, Any]]:
        return await self.db.fetchall(
            "SELECT seq, table_name, op, row_id, attempts, parked_at, error FROM outbox "
            "WHERE parked_at IS NOT NULL ORDER BY seq LIMIT ?",
            (limit,),
        )

    async def stats(self) -> dict[str, Any]:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox "
            "WHERE parked_at IS NULL"
        )
        parked = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NOT NULL"
        )
        return {
            "depth": row["depth"] if row else 0,
            "oldest_pending_at": row["oldest"] if row else None,
            "parked": parked["n"] if parked else 0,
        }

    async def apply_remote(self, table: str, rows: list[dict[str, Any]]) -> int:
        """Take Supabase's version of rows this database has, where it won last-write-wins
        (``(updated_at, origin)`` is greater) and no local change of the row is still waiting
        in the outbox (that change goes up first; Supabase decides, the next pull follows).
        Rows this database never had are left alone. Returns how many rows changed."""
        spec = TABLES[table]
        assert spec.mutable
        changed = 0
        async with self.db.transaction() as db:
            async with db.execute(f"SELECT * FROM {table} LIMIT 0") as cur:
                columns = [c[0] for c in cur.description]
            async with db.execute(
                "SELECT DISTINCT row_id FROM outbox WHERE table_name = ? AND parked_at IS NULL",
                (table,),
            ) as cur:
                waiting = {r[0] for r in await cur.fetchall()}
            for remote in rows:
                if str(remote["id"]) in waiting:
                    continue
                local = await self._current(db, table, remote["id"])
                if local is None:
                    continue
                theirs = (remote["updated_at"], remote.get("origin") or "")
                ours = (local["updated_at"], local["origin"] or self.db.origin)
                if theirs <= ours:
                    continue
                # data only: never a path, the repository, the worker or the owner (pulled.py)
                pulled = pulled_updates(table, remote, local)
                updates = {c: v for c, v in pulled.items() if c in columns}
                for c in spec.json_columns:  # jsonb arrives parsed; SQLite keeps the text
                    if c in updates and not isinstance(updates[c], str):
                        updates[c] = json.dumps(updates[c])
                assignments = ", ".join(f"{c} = ?" for c in updates)
                try:
                    await db.execute(
                        f"UPDATE {table} SET {assignments} WHERE id = ?",
                        (*updates.values(), remote["id"]),
                    )
                except sqlite3.IntegrityError:  # e.g. a name a live session here has
                    continue  # this row stays as it is; the rest of the pull goes on
                changed += 1
        return changed

    async def _current(self, db: aiosqlite.Connection, table: str, row_id: str) -> dict[str, Any]:
        async with db.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)) as cur:
            return as_dict(await cur.fetchone())

    async def forget_backfill(self) -> None:
        async with self.db.transaction() as db:
            await db.execute("DELETE FROM meta WHERE key = 'mirror_backfilled'")

    async def backfill_once(self) -> int:
        """Queue every row written before mirroring was turned on (once per database)."""
        async with self.db.transaction() as db:
            async with db.execute("SELECT 1 FROM meta WHERE key = 'mirror_backfilled'") as cur:
                if await cur.fetchone() is not None:
                    return 0
            count = await backfill(db, self.db.origin)
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('mirror_backfilled', ?)", (utcnow(),)
            )
        return count
