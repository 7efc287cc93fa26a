"""The Supabase mirror: a background task that sends the outbox to Supabase.

SQLite stays the primary store; nothing a request does waits on Supabase. The sync task:

- drains the outbox in the order it was written, a batch at a time, each run of consecutive
  rows of one table sent as one idempotent request (``upsert`` with ``on_conflict`` on the
  primary key; ``delete`` by key). A row written twice in one batch is sent once, as its
  latest version;
- retries network errors, timeouts, 5xx, 429 (after ``Retry-After``), 401 and 404 (a wrong
  key, migrations not applied: not the row's fault) with exponential backoff and jitter; the
  rows stay where they are, in order;
- parks a row Supabase refuses with another 4xx (a batch that is refused is re-sent row by
  row to find which), keeping the error; later rows go on;
- pulls, every ``pull_interval``, the newer versions of the mutable rows this database
  holds. Last-write-wins is decided in Postgres (a trigger in ``supabase/migrations`` keeps
  the row with the greatest ``(updated_at, origin)``), so replays, retries and writes from
  other servers converge there, and the pull brings every SQLite copy to the same winner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from postgrest import APIError
from postgrest.types import ReturnMethod
from supabase import AsyncClient, AsyncClientOptions

from .. import backoff
from .db import utcnow
from .outbox import TABLES, OutboxRow
from .store import Store
from .supabase_credential import HubSupabaseToken

# The HTTP status and Retry-After of the last response in this task (postgrest's APIError
# keeps neither), recorded by an httpx response hook that runs in the caller's context.
_last_response: ContextVar[tuple[int, str | None] | None] = ContextVar(
    "lawless_supabase_response", default=None
)

#: Answers that are not about the row: try again later, keep the row's place in the queue.
RETRY_STATUS = frozenset({401, 404, 408, 425, 429})
#: Errors that mean Supabase's schema is not (yet) what supabase/migrations makes it (a table
#: or column unknown): every row would be refused, so wait for the migration, park nothing.
SCHEMA_ERRORS = frozenset({"PGRST200", "PGRST202", "PGRST204", "PGRST205", "42P01", "42703"})


@dataclass(frozen=True)
class MirrorSettings:
    url: str
    key: str  # the service role key; with ``user_token``, the project's anon key
    batch_size: int = 200
    batch_bytes: int = 4 * 1024 * 1024  # a batch stops growing here (one row always goes)
    timeout: float = 10.0  # seconds per request
    retry_base: float = 0.5  # first backoff, doubled per failure
    retry_max: float = 60.0  # longest backoff
    pull_interval: float = 30.0  # seconds between pulls (also the idle heartbeat)
    pull_overlap: float = 5.0  # seconds re-read at each pull (commit order vs clock)
    linger: float = 0.05  # seconds a wake-up waits for more writes to send them together
    #: on JupyterHub: the user's own short-lived JWT, the bearer of every request (the key is
    #: then only the anon ``apikey``), so row level security keeps the server to its rows
    user_token: HubSupabaseToken | None = None


class Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Rejected(Exception):
    """Supabase refused the request (a 4xx that is about what was sent)."""


def _pg_time(value: str | None) -> str | None:
    """A Postgres timestamp as the Store writes them (``utcnow()``), so they compare as text."""
    if not value:
        return value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    return parsed.isoformat(timespec="microseconds").replace("+00:00", "Z")


class SupabaseMirror:
    def __init__(self, store: Store, settings: MirrorSettings, log: logging.Logger | None = None):
        self.store = store
        self.settings = settings
        self.logger = log or logging.getLogger("lawless_jupyter.supabase")
        self.client: AsyncClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._watermarks: dict[str, str] = {}
        self._more = False  # the last drain left rows it could have sent
        # health, as the status route shows it
        self.reachable: bool | None = None
        self.last_contact_at: str | None = None
        self.last_success_at: str | None = None
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self.failures = 0  # consecutive failed tries
        self.sent = 0  # rows Supabase took since start
        self.requests = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Make the client (no network) and start the sync task."""
        user_token = self.settings.user_token
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.timeout),
            event_hooks={
                "request": [user_token.authorize] if user_token else [],
                "response": [self._on_response],
            },
        )
        options = AsyncClientOptions(
            httpx_client=self._http,
            postgrest_client_retry=False,  # we retry, with backoff, keeping the order
            auto_refresh_token=False,
            persist_session=False,
        )
        self.client = await AsyncClient.create(self.settings.url, self.settings.key, options)
        self.store.on_outbox(self.wake)
        self._task = asyncio.create_task(self._run(), name="lawless-supabase-sync")

    async def stop(self) -> None:
        """Stop syncing; what is not sent stays in the outbox for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def wake(self) -> None:
        """New rows are in the outbox."""
        self._wake.set()

    async def _on_response(self, response: httpx.Response) -> None:
        _last_response.set((response.status_code, response.headers.get("Retry-After")))

    # -- the sync task --------------------------------------------------------------------

    async def _run(self) -> None:
        next_pull = 0.0
        while True:
            try:
                # cleared before looking, so a write made while we drain or pull is not missed
                self._wake.clear()
                await self.drain_once()
                if self._more:
                    continue  # a backlog: on at once (new writes wait for the linger)
                if time.monotonic() >= next_pull:
                    await self.pull()
                    next_pull = time.monotonic() + self.settings.pull_interval
                    continue
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), max(0.0, next_pull - time.monotonic())
                    )
                if self._wake.is_set():  # let the rest of a burst of writes join the batch
                    await asyncio.sleep(self.settings.linger)
            except asyncio.CancelledError:
                raise
            except Retryable as e:
                await asyncio.sleep(self._backoff(e.retry_after))
            except Exception as e:  # a bug or a surprise: log it, keep the task alive
                self.logger.exception("Supabase sync failed")
                self._failed(f"{type(e).__name__}: {e}", reachable=self.reachable)
                await asyncio.sleep(self._backoff(None))

    def _backoff(self, retry_after: float | None) -> float:
        return backoff.exponential(
            self.failures,
            base=self.settings.retry_base,
            cap=self.settings.retry_max,
            retry_after=retry_after,
        )

    async def drain_once(self) -> int:
        """Send the oldest batch of the outbox. Returns how many outbox rows were handled
        (sent or parked); raises ``Retryable`` when Supabase could not take them now."""
        rows = await self.store.outbox.pending(self.settings.batch_size)
        self._more = len(rows) == self.settings.batch_size
        if not rows:
            return 0
        total = 0
        for i, row in enumerate(rows):  # big rows (long transcripts) make smaller batches
            total += row.size
            if i and total > self.settings.batch_bytes:
                rows = rows[:i]
                self._more = True
                break
        start = 0
        while start < len(rows):  # runs of one table and one operation, in order
            end = start
            while end < len(rows) and (rows[end].table, rows[end].op) == (
                rows[start].table,
                rows[start].op,
            ):
                end += 1
            await self._send_run(rows[start:end])
            start = end
        return len(rows)

    async def _send_run(self, rows: list[OutboxRow]) -> None:
        table, op = rows[0].table, rows[0].op
        latest: dict[str, list[OutboxRow]] = {}  # row id -> its versions, oldest first
        for row in rows:
            latest.setdefault(row.row_id, []).append(row)
        payloads = [versions[-1].payload for versions in latest.values()]
        seqs = [r.seq for r in rows]
        try:
            await self._send(table, op, payloads)
        except Retryable as e:
            await self.store.outbox.failed(seqs, str(e))
            raise
        except Rejected as e:
            if len(latest) == 1:
                for row in rows:
                    await self.store.outbox.park(row.seq, str(e), utcnow())
                self.logger.warning("Supabase refused %s %s %s: %s", op, table, rows[0].row_id, e)
                return
            for versions in latest.values():  # find the row(s) it refuses
                await self._send_run(versions[-1:])
                await self.store.outbox.settle([r.seq for r in versions[:-1]])
            return
        await self.store.outbox.settle(seqs)
        self.sent += len(payloads)

    async def _send(self, table: str, op: str, payloads: list[dict[str, Any]]) -> None:
        spec = TABLES[table]
        query = self.client.table(table)
        if op == "upsert":
            request = query.upsert(
                payloads,
                on_conflict="id",
                returning=ReturnMethod.minimal,
                ignore_duplicates=not spec.mutable,  # append-only rows never change
            )
        else:
            request = query.delete(returning=ReturnMethod.minimal).in_(
                "id", [p["id"] for p in payloads]
            )
        await self._call(request)

    async def _call(self, request: Any) -> Any:
        """Execute a postgrest request, sorting what can go wrong into Retryable/Rejected."""
        _last_response.set(None)
        self.requests += 1
        try:
            response = await request.execute()
        except APIError as e:
            status, retry_after = _last_response.get() or (None, None)
            message = f"HTTP {status}: {e.code or ''} {e.message or ''}".strip()
            if e.details:
                message += f" ({str(e.details)[:300]})"
            if status is None or status in RETRY_STATUS or status >= 500 or e.code in SCHEMA_ERRORS:
                self._failed(message, reachable=status is not None and status < 500)
                raise Retryable(message, backoff.retry_after(retry_after)) from e
            self._contact(ok=False, error=message)
            raise Rejected(message) from e
        except httpx.TimeoutException as e:
            self._failed(f"timed out after {self.settings.timeout} s ({type(e).__name__})")
            raise Retryable(str(e)) from e
        except httpx.HTTPError as e:  # connection refused, reset, DNS...
            self._failed(f"network error: {type(e).__name__}: {e}")
            raise Retryable(str(e)) from e
        self._contact(ok=True)
        return response

    def _failed(self, error: str, *, reachable: bool | None = False) -> None:
        self.failures += 1
        self.reachable = reachable
        self.last_error, self.last_error_at = error, utcnow()

    def _contact(self, *, ok: bool, error: str | None = None) -> None:
        now = utcnow()
        self.reachable = True
        self.last_contact_at = now
        if ok:
            self.failures = 0
            self.last_success_at = now
        else:
            self.last_error, self.last_error_at = error, now

    # -- pull -----------------------------------------------------------------------------

    async def pull(self, page: int = 500) -> int:
        """Bring the newer versions (by last-write-wins) of the mutable rows this database
        holds from Supabase. Returns how many local rows changed."""
        changed = 0
        for table, spec in TABLES.items():
            if not spec.mutable:
                continue
            users = [
                r["user_id"]
                for r in await self.store.db.fetchall(f"SELECT DISTINCT user_id FROM {table}")
            ]
            if not users:
                continue
            since = self._watermarks.get(table)
            offset = 0
            newest = since
            while True:
                query = self.client.table(table).select("*").in_("user_id", users)
                if since:
                    start = datetime.fromisoformat(since) - timedelta(
                        seconds=self.settings.pull_overlap
                    )
                    query = query.gte("synced_at", start.isoformat())
                query = query.order("synced_at").order("id").range(offset, offset + page - 1)
                rows = (await self._call(query)).data
                for row in rows:
                    row["created_at"] = _pg_time(row.get("created_at"))
                    row["updated_at"] = _pg_time(row.get("updated_at"))
                changed += await self.store.apply_remote(table, rows)
                if rows:
                    newest = rows[-1]["synced_at"]
                if len(rows) < page:
                    break
                offset += page
            if newest:
                self._watermarks[table] = newest
        return changed

    async def fetch_transcript(
        self, user_id: str, key: dict[str, Any], page: int = 1000
    ) -> list[dict[str, Any]] | None:
        """A transcript's entries in Supabase, oldest first (``TranscriptStore.load``), or
        None when Supabase is not reachable now (never raises: the caller has SQLite)."""
        if self.client is None or self.reachable is False:
            return None
        rows: list[dict[str, Any]] = []
        try:
            while True:
                query = (
                    self.client.table("transcript_entries")
                    .select("*")
                    .eq("user_id", user_id)
                    .eq("project_key", key["project_key"])
                    .eq("session_id", key["session_id"])
                    .eq("subpath", key.get("subpath") or "")
                    .order("created_at")
                    .order("seq")
                    .range(len(rows), len(rows) + page - 1)
                )
                batch = (await self._call(query)).data
                rows.extend(batch)
                if len(batch) < page:
                    break
        except (Retryable, Rejected):
            return None
        for row in rows:
            row["created_at"] = _pg_time(row["created_at"])
        return rows

    async def fetch_row(self, table: str, user_id: str, row_id: str) -> dict[str, Any] | None:
        """One row of ``user_id`` in Supabase, or None when Supabase says it is not there.
        ``ConnectionError`` when Supabase cannot say now (unreachable last time, or failing)."""
        if self.client is None or self.reachable is False:
            raise ConnectionError("Supabase is not reachable now")
        query = self.client.table(table).select("*").eq("user_id", user_id).eq("id", row_id)
        try:
            rows = (await self._call(query)).data
        except (Retryable, Rejected) as e:
            raise ConnectionError(str(e)) from e
        if not rows:
            return None
        row = rows[0]
        for column in ("created_at", "updated_at"):
            row[column] = _pg_time(row.get(column))
        return row

    # -- what the status route shows ------------------------------------------------------

    async def wait_drained(self, timeout: float) -> bool:
        """True once the outbox has nothing left to send (parked rows aside)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (await self.store.outbox.stats())["depth"] == 0:
                return True
            self.wake()
            await asyncio.sleep(0.05)
        return False

    def health(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "last_contact_at": self.last_contact_at,
            "last_success_at": self.last_success_at,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "consecutive_failures": self.failures,
            "rows_sent": self.sent,
            "running": self._task is not None and not self._task.done(),
        }


async def outbox_status(
    store: Store,
    mirror: SupabaseMirror | None,
    url: str | None,
    *,
    configured: bool | None = None,
    start_error: str | None = None,
) -> dict[str, Any]:
    """``GET api/integrations/supabase/status``. Never includes the key."""
    stats = await store.outbox.stats()
    oldest = stats["oldest_pending_at"]
    age = None
    if oldest:
        then = datetime.fromisoformat(oldest.replace("Z", "+00:00"))
        age = round((datetime.now(timezone.utc) - then).total_seconds(), 3)
    health = (
        mirror.health()
        if mirror is not None
        else {
            "reachable": None,
            "last_contact_at": None,
            "last_success_at": None,
            "last_error": start_error,
            "last_error_at": None,
            "consecutive_failures": 0,
            "rows_sent": 0,
            "running": False,
        }
    )
    return {
        "configured": mirror is not None if configured is None else configured,
        "url": url or None,
        **health,
        "outbox": {
            "depth": stats["depth"],
            "oldest_pending_at": oldest,
            "oldest_pending_age_seconds": age,
            "parked": stats["parked"],
        },
        "parked_rows": await store.outbox.parked(20),
    }
