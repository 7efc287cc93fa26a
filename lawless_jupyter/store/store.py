"""The ``Store`` facade: every read and write of the extension's data goes through here.

One aiosqlite connection writes (serialised by a lock, every write in ``BEGIN IMMEDIATE``),
another reads; WAL lets reads run while a write is in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiosqlite

from ..errors import Conflict, QuotaExceeded, storage_problem
from .outbox import TABLES, Outbox, backfill, install_triggers
from .pulled import pulled_updates
from .schema import MIGRATIONS, SCHEMA_VERSION

# States in which a session still owns its worktree, branch and name.
_ENDED_STATES = ("deleted", "failed")


def utcnow() -> str:
    """An ISO-8601 UTC timestamp that sorts as text."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _text(value: Any) -> Any:
    """Enum members (states) are stored by value."""
    return getattr(value, "value", value)


def _row(row: aiosqlite.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


class Store:
    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000, mirror: bool = False):
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        # The Supabase mirror: when on, every write of a mirrored table also writes an outbox
        # row in its statement (TEMP triggers, store/outbox.py); when off, there are none.
        self.mirroring = mirror
        self.outbox = Outbox(self)
        self.origin = ""  # this database's id, the tie-break of last-write-wins
        self._outbox_listeners: list[Callable[[], None]] = []

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        await self._migrate()
        self.origin = await self._database_id()
        if self.mirroring:
            await install_triggers(self._writer, self.origin)
        else:  # rows written now have no outbox rows: when the mirror is turned on again,
            await self._forget_backfill()  # they are queued then
        self._reader = await self._connect()
        await self._reader.execute("PRAGMA query_only = ON")

    async def _database_id(self) -> str:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('database_id', ?) ON CONFLICT DO NOTHING",
                (str(uuid.uuid4()),),
            )
            async with db.execute("SELECT value FROM meta WHERE key = 'database_id'") as cur:
                (value,) = await cur.fetchone()
        return value

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN ourselves, so every transaction is explicit.
        pending = aiosqlite.connect(self.path, isolation_level=None)
        # A daemon thread: a server that ends without stopping its extensions (SIGINT with no
        # terminal, as JupyterHub's spawner stops it, is a KeyboardInterrupt out of the event
        # loop) must not hang at exit waiting for it. Every write is already committed.
        worker = getattr(pending, "_thread", None)
        if isinstance(worker, threading.Thread):
            worker.daemon = True
        conn = await pending
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        return conn

    async def _migrate(self) -> None:
        assert self._writer is not None
        async with self._writer.execute("PRAGMA user_version") as cur:
            (version,) = await cur.fetchone()
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"The database {self.path} was written by a newer lawless_jupyter "
                f"(schema {version}, this one knows {SCHEMA_VERSION}). Upgrade the package."
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # executescript commits first, so run each migration as one explicit transaction.
            script = MIGRATIONS[target - 1]
            await self._writer.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
            )

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The single writer: one write transaction at a time, taken up front (IMMEDIATE)."""
        assert self._writer is not None, "Store.open() was not awaited"
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writer
                except BaseException:
                    with contextlib.suppress(sqlite3.OperationalError):  # may be gone already
                        await self._writer.execute("ROLLBACK")
                    raise
                await self._writer.execute("COMMIT")
            except sqlite3.OperationalError as e:
                if problem := storage_problem(e, "the extension's database"):
                    with contextlib.suppress(sqlite3.OperationalError):
                        await self._writer.execute("ROLLBACK")
                    raise problem from e
                raise
        # the mirror looks at the outbox (a commit may have added rows to it); telling it
        # costs less than finding out, per write, whether one did
        for listener in self._outbox_listeners:
            listener()

    # -- the outbox (store/outbox.py) -------------------------------------------------------

    def on_outbox(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every write transaction (it may have added outbox rows)."""
        self._outbox_listeners.append(listener)

    async def _current(self, db: aiosqlite.Connection, table: str, row_id: str) -> dict[str, Any]:
        async with db.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)) as cur:
            return _row(await cur.fetchone())

    async def _forget_backfill(self) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM meta WHERE key = 'mirror_backfilled'")

    async def backfill_outbox(self) -> int:
        """Queue every row written before mirroring was turned on (once per database)."""
        async with self._transaction() as db:
            async with db.execute("SELECT 1 FROM meta WHERE key = 'mirror_backfilled'") as cur:
                if await cur.fetchone() is not None:
                    return 0
            count = await backfill(db, self.origin)
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('mirror_backfilled', ?)", (utcnow(),)
            )
        return count

    async def apply_remote(self, table: str, rows: list[dict[str, Any]]) -> int:
        """Take Supabase's version of rows this database has, where it won last-write-wins
        (``(updated_at, origin)`` is greater) and no local change of the row is still waiting
        in the outbox (that change goes up first; Supabase decides, the next pull follows).
        Rows this database never had are left alone. Returns how many rows changed."""
        spec = TABLES[table]
        assert spec.mutable
        changed = 0
        async with self._transaction() as db:
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
                ours = (local["updated_at"], local["origin"] or self.origin)
                if theirs <= ours:
                    continue
                # data only: never a path, the repository, the worker or the owner (pulled.py)
                updates = {
                    c: v for c, v in pulled_updates(table, remote, local).items() if c in columns
                }
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

    # Reads share one connection. Each runs to its end in one call on its thread: a statement
    # left open between awaits would hold its snapshot, and a read queued meanwhile would not
    # see a write committed just before it (found under load: a conversation made and then
    # not found).

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        assert self._reader is not None, "Store.open() was not awaited"
        return [dict(r) for r in await self._reader.execute_fetchall(sql, tuple(params))]

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def integrity_check(self) -> str:
        row = await self._fetchone("PRAGMA integrity_check")
        return next(iter(row.values())) if row else "no answer"

    # -- workspace sessions -------------------------------------------------------------

    async def create_session(
        self, session: dict[str, Any], *, max_live_per_repo: int
    ) -> dict[str, Any]:
        """Insert a session in state ``creating``, enforcing the per-repository quota and the
        uniqueness of its name, branch and worktree path in the same transaction."""
        now = utcnow()
        row = {
            **session,
            "state": "creating",
            "created_at": now,
            "updated_at": now,
            "origin": self.origin,
        }
        async with self._transaction() as db:
            async with db.execute(
                "SELECT COUNT(*) FROM workspace_sessions WHERE repo_path = ? "
                f"AND state NOT IN {_ENDED_STATES}",
                (row["repo_path"],),
            ) as cur:
                (live,) = await cur.fetchone()
            if live >= max_live_per_repo:
                raise QuotaExceeded(
                    f"The repository {row['repo']} already has {live} workspace sessions, the "
                    f"limit is {max_live_per_repo}. Delete a session to start another.",
                    limit=max_live_per_repo,
                    remaining=0,
                    reset=time.time() + 60,
                    retry_after=60,
                    quota="sessions per repository",
                )
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            try:
                await db.execute(
                    f"INSERT INTO workspace_sessions ({columns}) VALUES ({marks})",
                    tuple(row.values()),
                )
            except sqlite3.IntegrityError as e:
                what = "name" if row.get("name") else "branch or worktree"
                raise Conflict(
                    f"A live session with this {what} already exists in {row['repo']}.",
                    details={"name": row.get("name")},
                ) from e
            await self._append_session_event(db, row["id"], None, "creating", None, now)
        return row

    async def pin_session(self, row: dict[str, Any]) -> None:
        """Keep a copy of a session that runs on a remote worker (``row["worker"]``), in the
        state the worker gave it."""
        row = {**row, "origin": self.origin}
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        async with self._transaction() as db:
            try:
                await db.execute(
                    f"INSERT INTO workspace_sessions ({columns}) VALUES ({marks})",
                    tuple(row.values()),
                )
            except sqlite3.IntegrityError as e:
                raise Conflict(
                    f"A live session with this name already exists in {row['repo']}.",
                    details={"name": row.get("name")},
                ) from e
            await self._append_session_event(
                db, row["id"], None, row["state"], f"on worker {row['worker']}", utcnow()
            )

    async def _append_session_event(
        self,
        db: aiosqlite.Connection,
        session_id: str,
        from_state: str | None,
        to_state: str,
        detail: str | None,
        at: str,
    ) -> None:
        await db.execute(
            "INSERT INTO session_events (session_id, from_state, to_state, detail, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (session_id, from_state, to_state, detail, at),
        )

    async def transition_session(
        self,
        session_id: str,
        expected: Iterable[str],
        to_state: str,
        *,
        detail: str | None = None,
        **fields: Any,
    ) -> dict[str, Any] | None:
        """Move a session to ``to_state`` only if it is now in one of ``expected`` (a
        compare-and-set), updating ``fields`` too. Returns the new row, or None when the
        session is missing or in another state."""
        expected = tuple(_text(s) for s in expected)
        to_state = _text(to_state)
        now = utcnow()
        async with self._transaction() as db:
            async with db.execute(
                "SELECT * FROM workspace_sessions WHERE id = ?", (session_id,)
            ) as cur:
                current = _row(await cur.fetchone())
            if current is None or current["state"] not in expected:
                return None
            updates = {**fields, "state": to_state, "updated_at": now, "origin": self.origin}
            assignments = ", ".join(f"{k} = ?" for k in updates)
            await db.execute(
                f"UPDATE workspace_sessions SET {assignments} WHERE id = ?",
                (*updates.values(), session_id),
            )
            await self._append_session_event(
                db, session_id, current["state"], to_state, detail, now
            )
        return {**current, **updates}

    async def update_session(self, session_id: str, **fields: Any) -> None:
        """Update columns that are not the state (the state moves by transition only)."""
        assert "state" not in fields
        fields["updated_at"] = utcnow()
        fields["origin"] = self.origin
        assignments = ", ".join(f"{k} = ?" for k in fields)
        async with self._transaction() as db:
            await db.execute(
                f"UPDATE workspace_sessions SET {assignments} WHERE id = ?",
                (*fields.values(), session_id),
            )

    async def discard_session(self, session_id: str) -> None:
        """Erase a session that never came to be (its creation was rolled back)."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM session_events WHERE session_id = ?", (session_id,))
            await db.execute("DELETE FROM workspace_sessions WHERE id = ?", (session_id,))

    async def get_session(self, session_id: str) -> dict[str, Any] | None:
        return await self._fetchone("SELECT * FROM workspace_sessions WHERE id = ?", (session_id,))

    async def list_sessions(
        self, user_id: str, *, repo_path: str | None = None, include_ended: bool = False
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM workspace_sessions WHERE user_id = ?"
        params: list[Any] = [user_id]
        if repo_path is not None:
            sql += " AND repo_path = ?"
            params.append(repo_path)
        if not include_ended:
            sql += " AND state != 'deleted'"
        return await self._fetchall(sql + " ORDER BY created_at DESC", params)

    async def sessions_in_states(self, states: Iterable[str]) -> list[dict[str, Any]]:
        states = tuple(_text(s) for s in states)
        marks = ", ".join("?" for _ in states)
        return await self._fetchall(
            f"SELECT * FROM workspace_sessions WHERE state IN ({marks}) ORDER BY created_at",
            states,
        )

    async def session_events(self, session_id: str) -> list[dict[str, Any]]:
        return await self._fetchall(
            "SELECT * FROM session_events WHERE session_id = ? ORDER BY seq", (session_id,)
        )

    # -- conversations and messages ---------------------------------------------------------

    async def conversation_for(self, user_id: str, session_id: str | None) -> dict[str, Any]:
        """The conversation of a workspace session (made on first use), or a new free one
        when ``session_id`` is None."""
        if session_id is not None:
            found = await self._fetchone(
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
            "origin": self.origin,
        }
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO conversations (id, user_id, session_id, claude_session_id, "
                "created_at, updated_at, origin) VALUES (:id, :user_id, :session_id, "
                ":claude_session_id, :created_at, :updated_at, :origin) ON CONFLICT DO NOTHING",
                row,
            )
        if session_id is not None:  # a concurrent first use may have won the insert
            return await self._fetchone(
                "SELECT * FROM conversations WHERE session_id = ?", (session_id,)
            )
        return row

    async def session_conversation(self, session_id: str) -> dict[str, Any] | None:
        """The conversation of a workspace session, if anyone has chatted there (read only)."""
        return await self._fetchone(
            "SELECT * FROM conversations WHERE session_id = ?", (session_id,)
        )

    async def get_conversation(self, conversation_id: str) -> dict[str, Any] | None:
        return await self._fetchone("SELECT * FROM conversations WHERE id = ?", (conversation_id,))

    async def set_claude_session(self, conversation_id: str, claude_session_id: str | None) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE conversations SET claude_session_id = ?, updated_at = ?, origin = ? "
                "WHERE id = ?",
                (claude_session_id, utcnow(), self.origin, conversation_id),
            )

    async def append_message(
        self, conversation_id: str, turn_id: str, role: str, content: dict[str, Any]
    ) -> int:
        """Append one message to a conversation (history is never rewritten)."""
        async with self._transaction() as db:
            cur = await db.execute(
                "INSERT INTO messages (id, conversation_id, turn_id, role, content, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), conversation_id, turn_id, role, json.dumps(content), utcnow()),
            )
            return cur.lastrowid

    async def count_messages(self, conversation_id: str, role: str) -> int:
        row = await self._fetchone(
            "SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? AND role = ?",
            (conversation_id, role),
        )
        return row["n"] if row else 0

    async def list_messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 200
    ) -> list[dict[str, Any]]:
        rows = await self._fetchall(
            "SELECT seq, id, turn_id, role, content, created_at FROM messages "
            "WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (conversation_id, after, limit),
        )
        for r in rows:
            r["content"] = json.loads(r["content"])
        return rows

    # -- terminals -------------------------------------------------------------------------------

    async def add_terminal(self, row: dict[str, Any]) -> dict[str, Any]:
        row = {**row, "created_at": utcnow(), "closed_at": None}
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO terminals (id, name, session_id, user_id, cwd, created_at, closed_at)"
                " VALUES (:id, :name, :session_id, :user_id, :cwd, :created_at, :closed_at)",
                row,
            )
        return row

    async def close_terminal(self, terminal_id: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE terminals SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                (utcnow(), terminal_id),
            )

    async def close_open_terminals(self) -> int:
        """At start-up no terminal of a previous run is alive any more."""
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE terminals SET closed_at = ? WHERE closed_at IS NULL", (utcnow(),)
            )
            return cur.rowcount

    async def list_terminals(self, session_id: str) -> list[dict[str, Any]]:
        return await self._fetchall(
            "SELECT * FROM terminals WHERE session_id = ? ORDER BY created_at", (session_id,)
        )

    async def append_terminal_output(
        self, terminal_id: str, data: str, cap_bytes: int, *, dropped_before: int = 0
    ) -> None:
        """Append output, then let go of the oldest beyond ``cap_bytes``.

        ``dropped_before``: bytes the caller already let go of (counted, never stored)."""
        encoded = data.encode("utf-8", "replace")
        if len(encoded) >= cap_bytes:  # this batch alone fills the cap: it replaces the rest
            dropped_before += len(encoded) - cap_bytes
            data = encoded[-cap_bytes:].decode("utf-8", "ignore")
            async with self._transaction() as db:
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
        async with self._transaction() as db:
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

    async def terminal_output(self, terminal_id: str) -> str:
        rows = await self._fetchall(
            "SELECT data FROM terminal_output WHERE terminal_id = ? ORDER BY seq", (terminal_id,)
        )
        return "".join(r["data"] for r in rows)

    # -- activity -------------------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        """What the monitoring gauges show: live sessions, open terminals, outbox rows."""
        row = await self._fetchone(
            "SELECT "
            f"(SELECT COUNT(*) FROM workspace_sessions WHERE state NOT IN {_ENDED_STATES}) "
            "AS active_sessions, "
            "(SELECT COUNT(*) FROM terminals WHERE closed_at IS NULL) AS open_terminals, "
            "(SELECT COUNT(*) FROM outbox WHERE parked_at IS NULL) AS outbox_depth"
        )
        assert row is not None
        return row

    async def record_activity(self, user_id: str, kind: str, detail: dict[str, Any]) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO activity (user_id, kind, detail, created_at) VALUES (?, ?, ?, ?)",
                (user_id, kind, json.dumps(detail), utcnow()),
            )

    async def list_activity(self, user_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._fetchall(
            "SELECT seq, user_id, kind, detail, created_at FROM activity WHERE user_id = ? "
            "ORDER BY seq DESC LIMIT ?",
            (user_id, limit),
        )
        for r in rows:
            r["detail"] = json.loads(r["detail"])
        return rows

    # -- preferences ------------------------------------------------------------------------

    async def get_preferences(self, user_id: str) -> dict[str, Any] | None:
        row = await self._fetchone("SELECT * FROM preferences WHERE id = ?", (user_id,))
        if row is not None:
            row["data"] = json.loads(row["data"])
        return row

    async def put_preferences(self, user_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Replace a user's preferences (one document), as this database's latest version."""
        now = utcnow()
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO preferences (id, user_id, data, created_at, updated_at, origin) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at, origin = excluded.origin",
                (user_id, user_id, json.dumps(data), now, now, self.origin),
            )
        return await self.get_preferences(user_id)

    async def adopt_preferences(self, row: dict[str, Any]) -> dict[str, Any]:
        """Keep a copy of preferences another server wrote (fetched from Supabase) when this
        database has none yet; a local version, if one appeared meanwhile, wins here and
        last-write-wins settles it in Supabase."""
        data = row["data"] if isinstance(row["data"], str) else json.dumps(row["data"])
        async with self._transaction() as db:
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
        return await self.get_preferences(row["user_id"])

    # -- connections (GitHub, Vercel): sealed tokens and OAuth flows, local only ---------------

    async def put_integration(self, row: dict[str, Any]) -> None:
        """Insert or replace the connection of (user_id, provider)."""
        now = utcnow()
        row = {"extra": None, "created_at": now, **row, "updated_at": now}
        columns = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in row if c != "created_at")
        async with self._transaction() as db:
            await db.execute(
                f"INSERT INTO integrations ({columns}) VALUES ({marks}) "
                f"ON CONFLICT (user_id, provider) DO UPDATE SET {updates}",
                row,
            )

    async def get_integration(self, user_id: str, provider: str) -> dict[str, Any] | None:
        return await self._fetchone(
            "SELECT * FROM integrations WHERE user_id = ? AND provider = ?", (user_id, provider)
        )

    async def list_integrations(self, user_id: str) -> list[dict[str, Any]]:
        return await self._fetchall(
            "SELECT * FROM integrations WHERE user_id = ? ORDER BY provider", (user_id,)
        )

    async def delete_integration(self, user_id: str, provider: str) -> bool:
        async with self._transaction() as db:
            cur = await db.execute(
                "DELETE FROM integrations WHERE user_id = ? AND provider = ?", (user_id, provider)
            )
            await db.execute(
                "DELETE FROM oauth_flows WHERE user_id = ? AND provider = ?", (user_id, provider)
            )
            return cur.rowcount > 0

    async def integrations_not_sealed_with(self, key_id: str) -> list[dict[str, Any]]:
        return await self._fetchall(
            "SELECT user_id, provider, secret FROM integrations WHERE key_id != ?", (key_id,)
        )

    async def reseal_integration(
        self, user_id: str, provider: str, old_secret: str, secret: str, key_id: str
    ) -> bool:
        """Replace the sealed secret if it is still ``old_secret`` (compare-and-set)."""
        async with self._transaction() as db:
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
        async with self._transaction() as db:
            # flows nobody finished are let go of here, so the table stays small
            await db.execute("DELETE FROM oauth_flows WHERE expires_at < ?", (time.time(),))
            await db.execute(f"INSERT INTO oauth_flows ({columns}) VALUES ({marks})", row)

    async def take_oauth_flow(
        self, flow_id: str, user_id: str, provider: str, kind: str
    ) -> dict[str, Any] | None:
        """Remove and return a flow that is this user's and not expired (single use); None
        for an unknown, someone else's or an expired one (an expired one is removed too)."""
        async with self._transaction() as db:
            async with db.execute("SELECT * FROM oauth_flows WHERE id = ?", (flow_id,)) as cur:
                row = _row(await cur.fetchone())
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
        row = await self._fetchone("SELECT * FROM oauth_flows WHERE id = ?", (flow_id,))
        if row is None or (row["user_id"], row["provider"], row["kind"]) != (
            user_id,
            provider,
            kind,
        ):
            return None
        return row

    async def set_oauth_flow_interval(self, flow_id: str, seconds: float) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE oauth_flows SET poll_interval = ? WHERE id = ?", (seconds, flow_id)
            )
