"""A fake PostgREST for tests: the part of PostgREST's wire protocol that supabase-py uses for
the mirror's calls, served on 127.0.0.1 and backed by a real PostgreSQL.

It is not PostgREST (there is no PostgREST binary here). What it does as PostgREST does:

- ``/rest/v1/<table>``: ``GET`` with ``select`` (columns), filters (``eq neq gt gte lt lte
  like ilike is in``), ``order``, ``limit``/``offset``; ``POST`` (insert; upsert with
  ``Prefer: resolution=merge-duplicates|ignore-duplicates`` and ``on_conflict``, ``columns``,
  ``return=minimal|representation``); ``DELETE`` with filters. One SQL statement per request.
- Every request is one transaction that first takes the JWT's role (``SET LOCAL ROLE``)
  and claims (``set_config('request.jwt.claims', ..., true)``), connected as an
  "authenticator" role that may become anon, authenticated or service_role: row level
  security is the database's, for real. No JWT is ``anon``; a bad one is 401.
- Postgres errors become PostgREST's JSON error body and HTTP status (409 for unique
  violations, 403/401 for permission denied, 400 for bad data, 404 for a missing table).

Faults for outage tests: ``inject("503" | "502-html" | "409" | "429" | "timeout" | "reset",
times=n)``: the next n matching requests fail that way (``timeout`` sleeps past the client's
timeout; with ``after_commit=True`` the write is committed first, so the client retries a
write that did happen). ``down()`` closes the port (connection refused), ``up()`` reopens it.

``writes`` records every committed write: ``(method, table, rows)``.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import psycopg
from psycopg import sql
from tornado import httpserver, web
from tornado.netutil import bind_sockets

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"select", "order", "limit", "offset", "on_conflict", "columns"}
_OPS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _ident(name: str) -> sql.Identifier:
    if not _IDENT.match(name):
        raise _Problem(400, "PGRST100", f"'{name}' is not a column or table name")
    return sql.Identifier(name)


class _Problem(Exception):
    def __init__(self, status: int, code: str, message: str, details: str | None = None):
        super().__init__(message)
        self.status, self.body = (
            status,
            {
                "code": code,
                "message": message,
                "details": details,
                "hint": None,
            },
        )


def _status_for(e: psycopg.Error, role: str) -> int:
    """PostgREST's mapping of SQLSTATE to HTTP status (the cases that matter here)."""
    state = e.sqlstate or ""
    if state in ("23503", "23505", "23P01", "40001"):
        return 409
    if state == "42501":
        return 401 if role == "anon" else 403
    if state in ("42P01", "42883"):
        return 404
    if state.startswith(("22", "23", "42", "P0")) or state == "21000":
        return 400
    if state.startswith(("08", "53", "57")):
        return 503
    return 500


@dataclass
class Fault:
    kind: str
    times: int = 1
    seconds: float = 2.0
    after_commit: bool = False
    method: str | None = None
    table: str | None = None

    def matches(self, method: str, table: str) -> bool:
        return (self.method in (None, method)) and (self.table in (None, table))


@dataclass
class FakePostgrest:
    """Start with ``start()`` (it runs in its own thread and event loop), stop with ``stop()``."""

    dsn: str  # connects as the authenticator role
    jwt_secret: str
    schema: str = "public"
    faults: list[Fault] = field(default_factory=list)
    writes: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)
    requests: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: httpserver.HTTPServer | None = None
        self._pool: asyncio.Queue[psycopg.AsyncConnection] | None = None
        self._thread: threading.Thread | None = None
        self.on_write: Callable[[str, str, list[dict[str, Any]]], None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle (called from the test's thread) -------------------------------------------

    def start(self) -> FakePostgrest:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._open())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-postgrest", daemon=True)
        self._thread.start()
        assert ready.wait(30), "the fake PostgREST did not start"
        return self

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop is None:
            return
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop = None

    def down(self) -> None:
        """Close the port and every open connection: clients get connection refused."""
        self._call(self._stop_listening())

    def up(self) -> None:
        self._call(self._listen())

    def inject(self, kind: str, times: int = 1, **kw: Any) -> None:
        with self._lock:
            self.faults.append(Fault(kind, times, **kw))

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.writes.clear()
            self.requests = 0
        if self._server is None:
            self.up()

    # -- inside the fake's loop -------------------------------------------------------------

    async def _open(self) -> None:
        self._pool = asyncio.Queue()
        for _ in range(4):
            conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=False)
            await self._pool.put(conn)
        self._app = web.Application([(r"/rest/v1/([^/]+)", _RestHandler, {"fake": self})])
        await self._listen()

    async def _listen(self) -> None:
        if self._server is not None:
            return
        sockets = bind_sockets(self.port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = httpserver.HTTPServer(self._app)
        self._server.add_sockets(sockets)

    async def _stop_listening(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        await self._server.close_all_connections()
        self._server = None

    async def _close(self) -> None:
        await self._stop_listening()
        assert self._pool is not None
        while not self._pool.empty():
            await (self._pool.get_nowait()).close()

    def _take_fault(self, method: str, table: str) -> Fault | None:
        with self._lock:
            self.requests += 1
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, table):
                    fault.times -= 1
                    return fault
        return None

    async def run(self, role: str, claims: dict[str, Any], query: sql.Composable, params: list):
        """One transaction, as PostgREST runs it: role and claims first, then the statement."""
        assert self._pool is not None
        conn = await self._pool.get()
        try:
            async with conn.transaction():
                await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                await conn.execute(
                    "SELECT set_config('request.jwt.claims', %s, true), "
                    "set_config('request.jwt.claim.role', %s, true)",
                    (json.dumps(claims), role),
                )
                cur = await conn.execute(query, params)
                return await cur.fetchall() if cur.description else []
        except psycopg.OperationalError:
            if conn.closed or conn.broken:
                conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=False)
            raise
        finally:
            await self._pool.put(conn)


class _RestHandler(web.RequestHandler):
    def initialize(self, fake: FakePostgrest) -> None:
        self.fake = fake

    def check_xsrf_cookie(self) -> None:
        pass

    # -- the request ---------------------------------------------------------------------

    async def get(self, table: str) -> None:
        await self._handle("GET", table)

    async def post(self, table: str) -> None:
        await self._handle("POST", table)

    async def delete(self, table: str) -> None:
        await self._handle("DELETE", table)

    async def _handle(self, method: str, table: str) -> None:
        fault = self.fake._take_fault(method, table)
        if fault is not None and not fault.after_commit and await self._fail(fault):
            return
        try:
            role, claims = self._auth()
            status, body, written = await self._query(method, table, role, claims)
        except _Problem as p:
            return self._reply(p.status, p.body)
        except psycopg.Error as e:
            diag = e.diag
            return self._reply(
                _status_for(e, locals().get("role", "anon")),
                {
                    "code": e.sqlstate,
                    "message": diag.message_primary or str(e),
                    "details": diag.message_detail,
                    "hint": diag.message_hint,
                },
            )
        if written is not None:
            with self.fake._lock:
                self.fake.writes.append((method, table, written))
        if fault is not None and await self._fail(fault):
            return
        self._reply(status, body)

    async def _fail(self, fault: Fault) -> bool:
        """Answer as the fault says; True when the request is answered (or dropped)."""
        kind = fault.kind
        if kind == "timeout":
            await asyncio.sleep(fault.seconds)
            kind = "503"
        if kind == "reset":
            self.request.connection.stream.close()
            return True
        if kind == "503":
            self._reply(503, {"code": "PGRST000", "message": "Service unavailable (fault)"})
        elif kind == "502-html":
            self.set_status(502)
            self.set_header("Content-Type", "text/html")
            self.finish("<html><body><h1>502 Bad Gateway</h1></body></html>")
        elif kind == "409":
            self._reply(
                409,
                {"code": "23505", "message": "duplicate key value (fault)", "details": None},
            )
        elif kind == "429":
            self.set_header("Retry-After", "1")
            self._reply(429, {"code": "PGRST000", "message": "Too many requests (fault)"})
        else:
            raise AssertionError(f"unknown fault {fault.kind}")
        return True

    def _reply(self, status: int, body: Any) -> None:
        self.set_status(status)
        if body is None:
            self.finish()
            return
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(body if isinstance(body, (str, bytes)) else json.dumps(body))

    def _auth(self) -> tuple[str, dict[str, Any]]:
        header = self.request.headers.get("Authorization", "")
        if not header:
            return "anon", {"role": "anon"}
        token = header.removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(
                token, self.fake.jwt_secret, algorithms=["HS256"], options={"verify_aud": False}
            )
        except jwt.PyJWTError as e:
            raise _Problem(401, "PGRST301", f"JWT invalid: {e}") from e
        role = claims.get("role", "anon")
        if role not in ("anon", "authenticated", "service_role"):
            raise _Problem(401, "PGRST301", f"role {role!r} is not allowed")
        return role, claims

    # -- SQL ------------------------------------------------------------------------------

    def _prefer(self) -> dict[str, str]:
        out = {}
        for part in self.request.headers.get_list("Prefer"):
            for item in part.split(","):
                if "=" in item:
                    k, v = item.strip().split("=", 1)
                    out[k] = v
        return out

    def _where(self) -> tuple[sql.Composable, list[Any]]:
        clauses: list[sql.Composable] = []
        params: list[Any] = []
        for name, values in self.request.query_arguments.items():
            if name in _RESERVED:
                continue
            for raw in values:
                op, _, value = raw.decode().partition(".")
                column = _ident(name)
                if op in _OPS:
                    clauses.append(sql.SQL("{} " + _OPS[op] + " %s").format(column))
                    params.append(value)
                elif op in ("like", "ilike"):
                    clauses.append(sql.SQL("{}::text " + op.upper() + " %s").format(column))
                    params.append(value.replace("*", "%"))
                elif op == "is":
                    if value not in ("null", "true", "false"):
                        raise _Problem(400, "PGRST100", f"bad is value {value!r}")
                    clauses.append(sql.SQL("{} IS " + value.upper()).format(column))
                elif op == "in":
                    if not (value.startswith("(") and value.endswith(")")):
                        raise _Problem(400, "PGRST100", f"bad in list {value!r}")
                    clauses.append(sql.SQL("{}::text = ANY(%s)").format(column))
                    params.append(_split_list(value[1:-1]))
                else:
                    raise _Problem(400, "PGRST100", f"operator {op!r} is not supported here")
        if not clauses:
            return sql.SQL(""), params
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses), params

    def _select_list(self) -> sql.Composable:
        select = self.get_query_argument("select", "*")
        if select == "*":
            return sql.SQL("*")
        return sql.SQL(", ").join(_ident(c.strip()) for c in select.split(","))

    def _order(self) -> sql.Composable:
        order = self.get_query_argument("order", "")
        if not order:
            return sql.SQL("")
        parts = []
        for item in order.split(","):
            column, *mods = item.split(".")
            piece = _ident(column)
            for mod in mods:
                if mod in ("asc", "desc"):
                    piece = sql.SQL("{} " + mod.upper()).format(piece)
                elif mod in ("nullsfirst", "nullslast"):
                    piece = sql.SQL("{} NULLS " + mod[5:].upper()).format(piece)
            parts.append(piece)
        return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(parts)

    async def _query(
        self, method: str, table: str, role: str, claims: dict[str, Any]
    ) -> tuple[int, Any, list[dict[str, Any]] | None]:
        target = sql.Identifier(self.fake.schema, table) if _IDENT.match(table) else None
        if target is None:
            raise _Problem(404, "PGRST205", f"Could not find the table '{table}'")
        prefer = self._prefer()
        returning = prefer.get("return", "minimal") == "representation"
        if method == "GET":
            where, params = self._where()
            limit = self.get_query_argument("limit", None)
            offset = self.get_query_argument("offset", None)
            query = sql.SQL("SELECT {} FROM {}").format(self._select_list(), target)
            query += where + self._order()
            if limit is not None:
                query += sql.SQL(" LIMIT {}").format(sql.Literal(int(limit)))
            if offset is not None:
                query += sql.SQL(" OFFSET {}").format(sql.Literal(int(offset)))
            rows = await self.fake.run(
                role,
                claims,
                sql.SQL("SELECT coalesce(json_agg(_), '[]')::text FROM ({}) _").format(query),
                params,
            )
            return 200, rows[0][0], None
        if method == "POST":
            try:
                body = json.loads(self.request.body or b"null")
            except ValueError as e:
                raise _Problem(400, "PGRST102", "Empty or invalid json") from e
            rows = body if isinstance(body, list) else [body]
            if not all(isinstance(r, dict) for r in rows):
                raise _Problem(400, "PGRST102", "All object keys must match")
            columns_arg = self.get_query_argument("columns", None)
            columns = (
                [c.strip().strip('"') for c in columns_arg.split(",")]
                if columns_arg
                else sorted({k for r in rows for k in r})
            )
            cols = sql.SQL(", ").join(_ident(c) for c in columns)
            query = sql.SQL(
                "INSERT INTO {t} ({cols}) SELECT {cols} FROM json_populate_recordset(NULL::{t}, %s)"
            ).format(t=target, cols=cols)
            resolution = prefer.get("resolution")
            if resolution:
                conflict = sql.SQL(", ").join(
                    _ident(c) for c in self.get_query_argument("on_conflict", "id").split(",")
                )
                if resolution == "ignore-duplicates":
                    query += sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(conflict)
                else:
                    sets = sql.SQL(", ").join(
                        sql.SQL("{c} = EXCLUDED.{c}").format(c=_ident(c)) for c in columns
                    )
                    query += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(conflict, sets)
            if returning:
                query = sql.SQL(
                    "WITH _w AS ({} RETURNING *) SELECT coalesce(json_agg(_w), '[]')::text FROM _w"
                ).format(query)
            result = await self.fake.run(role, claims, query, [json.dumps(rows)])
            return 201, (result[0][0] if returning else None), rows
        if method == "DELETE":
            where, params = self._where()
            query = sql.SQL("DELETE FROM {}").format(target) + where
            if returning:
                query = sql.SQL(
                    "WITH _w AS ({} RETURNING *) SELECT coalesce(json_agg(_w), '[]')::text FROM _w"
                ).format(query)
            result = await self.fake.run(role, claims, query, params)
            args = self.request.query_arguments
            filters = {k: [v.decode() for v in vs] for k, vs in args.items()}
            return (200 if returning else 204), (result[0][0] if returning else None), [filters]
        raise _Problem(405, "PGRST117", f"{method} is not supported here")


def _split_list(inner: str) -> list[str]:
    """PostgREST's ``in.(a,"b,c")`` list: commas separate, double quotes protect."""
    out, current, quoted, escaped = [], [], False, False
    for ch in inner:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return out


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
