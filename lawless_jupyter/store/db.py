"""The database core: one SQLite file, its connections, its migrations, its transactions.

One aiosqlite connection writes (serialised by a lock, every write in ``BEGIN IMMEDIATE``),
another reads; WAL lets reads run while a write is in progress. The repositories beside this
module (sessions, chat, terminals, ...) go through ``transaction`` and ``fetchall`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from ..errors import storage_problem
from .schema import MIGRATIONS, SCHEMA_VERSION

T = TypeVar("T")

# States in which a session no longer owns its worktree, branch and name.
ENDED_STATES = ("deleted", "failed")


def utcnow() -> str:
    """An ISO-8601 UTC timestamp that sorts as text."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def as_dict(row: aiosqlite.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


class Database:
    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000):
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self.origin = ""  # this database's id, the tie-break of last-write-wins
        self._commit_listeners: list[Callable[[], None]] = []

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, migrate, learn this database's id."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = await self._connect()
        await self._migrate()
        self.origin = await self._database_id()
        self._reader = await self._connect()
        await self._reader.execute("PRAGMA query_only = ON")

    async def _database_id(self) -> str:
        async with self.transaction() as db:
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
        assert self.writer is not None
        async with self.writer.execute("PRAGMA user_version") as cur:
            (version,) = await cur.fetchone()
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"The database {self.path} was written by a newer lawless_jupyter "
                f"(schema {version}, this one knows {SCHEMA_VERSION}). Upgrade the package."
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # executescript commits first, so run each migration as one explicit transaction.
            script = MIGRATIONS[target - 1]
            await self.writer.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
            )

    async def close(self) -> None:
        for conn in (self._reader, self.writer):
            if conn is not None:
                await conn.close()
        self._reader = self.writer = None

    # -- writes ---------------------------------------------------------------------------

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every write transaction."""
        self._commit_listeners.append(listener)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The single writer: one write transaction at a time, taken up front (IMMEDIATE)."""
        assert self.writer is not None, "Store.open() was not awaited"
        async with self._write_lock:
            try:
                await self.writer.execute("BEGIN IMMEDIATE")
                try:
                    yield self.writer
                except BaseException:
                    with contextlib.suppress(sqlite3.OperationalError):  # may be gone already
                        await self.writer.execute("ROLLBACK")
                    raise
                await self.writer.execute("COMMIT")
            except sqlite3.OperationalError as e:
                if problem := storage_problem(e, "the extension's database"):
                    with contextlib.suppress(sqlite3.OperationalError):
                        await self.writer.execute("ROLLBACK")
                    raise problem from e
                raise
        # the mirror looks at the outbox (a commit may have added rows to it); telling it
        # costs less than finding out, per write, whether one did
        for listener in self._commit_listeners:
            listener()

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One write transaction in one trip to the writer's thread: ``work`` runs there on
        the writing connection (its outbox triggers too), between BEGIN IMMEDIATE and COMMIT,
        rolled back when it raises. ``transaction()`` costs a trip per statement, and on a
        busy server each trip waits for a turn of the event loop while the write lock is
        held: twenty chat turns starting at once queued 100-250 ms on it. The writes on a
        turn's path use this."""
        assert self.writer is not None, "Store.open() was not awaited"
        async with self._write_lock:
            try:
                # aiosqlite runs every call on its connection's thread; ``_execute`` queues
                # a function there (its own methods use it; there is no public name for it)
                result = await self.writer._execute(partial(_in_transaction, self.writer, work))
            except sqlite3.OperationalError as e:
                if problem := storage_problem(e, "the extension's database"):
                    raise problem from e
                raise
        for listener in self._commit_listeners:
            listener()
        return result

    # -- reads ----------------------------------------------------------------------------

    # Reads share one connection. Each runs to its end in one call on its thread: a statement
    # left open between awaits would hold its snapshot, and a read queued meanwhile would not
    # see a write committed just before it (tests/test_store_reads.py).

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        assert self._reader is not None, "Store.open() was not awaited"
        return [dict(r) for r in await self._reader.execute_fetchall(sql, tuple(params))]

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def integrity_check(self) -> str:
        row = await self.fetchone("PRAGMA integrity_check")
        return next(iter(row.values())) if row else "no answer"


def _in_transaction(writer: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """On the writer's thread: ``work`` as one IMMEDIATE transaction."""
    conn = writer._conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.OperationalError):  # may be gone already
            conn.execute("ROLLBACK")
        raise
    return result
