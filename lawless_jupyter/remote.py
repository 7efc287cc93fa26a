"""Sessions on remote workers: placement, pinning, and forwarding requests to them.

A new session goes to the chosen worker or the first usable one (``WorkerRegistry``); when
that worker cannot take it (no answer, 502/503) the next usable one is tried. A session made
on a remote worker is pinned there: this server keeps a copy of its row with ``worker`` set
(so it is listed with the others), and every request for it is forwarded to its worker with
the worker's API key, the person's id and, for the routes that need it, their GitHub token.

Forwarding (``open``) streams: the caller gets the worker's answer as soon as its headers are
in and reads the body as it comes. Idempotent requests are retried on 502/503 and on
connection errors after ``retry_delays`` (1 s, 2 s, 4 s); a worker that is down answers
``Unavailable`` (503) naming it. Knows nothing of Tornado handlers.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from . import backoff
from .errors import LawlessError, Unavailable
from .store import Store
from .workers import LOCAL, Worker, WorkerRegistry, forward_headers

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503})
#: route suffixes whose work on the worker needs the person's GitHub token (push, PRs)
NEEDS_GITHUB = ("/git/push", "/git/pull-request")
#: the session columns this server keeps of a pinned session (the worker has the rest)
_PINNED_FIELDS = (
    "id",
    "name",
    "repo",
    "base",
    "base_commit",
    "branch",
    "worktree_path",
    "state",
    "error",
    "created_at",
    "updated_at",
)


class WorkerAnswer(LawlessError):
    """A worker's own error answer, passed on as it is (status and body)."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(str(body.get("error") or f"The worker answered {status}."))
        self.status = status
        self._body = body

    def body(self) -> dict[str, Any]:
        return self._body


PINS_KEPT = 10_000  # sessions whose place is remembered (deleted ones are asked about too)


class RemoteSessions:
    def __init__(
        self,
        store: Store,
        registry: WorkerRegistry,
        *,
        root_dir: Path,
        timeout: float,
        logger: Any,
        github_token_for: Callable[[str], Awaitable[str | None]] | None = None,
    ):
        self.store = store
        self.registry = registry
        self.root_dir = root_dir
        self.timeout = timeout  # longest quiet time of a forwarded answer
        self.logger = logger
        #: the person's GitHub token for a worker that pushes for them: the token vault
        #: plugs in here (user id -> decrypted token, or None)
        self.github_token_for = github_token_for
        #: session id -> (owner, remote worker id or None): where a session runs never
        #: changes, so every request after the first skips the lookup
        self._pins: dict[str, tuple[str, str | None]] = {}

    # -- pinning --------------------------------------------------------------------------

    async def pinned(self, user_id: str, session_id: str) -> Worker | None:
        """The remote worker ``session_id`` is pinned to, if it is one of ``user_id``'s
        sessions on a remote worker (None: it is here, or not theirs: the local code
        answers that)."""
        pin = self._pins.get(session_id)
        if pin is None:
            row = await self.store.get_session(session_id)
            if row is None:
                return None
            remote = row.get("worker") not in (None, LOCAL) and row["state"] != "deleted"
            pin = self._pins[session_id] = (row["user_id"], row["worker"] if remote else None)
            if len(self._pins) > PINS_KEPT:  # the oldest goes: it is looked up again if needed
                del self._pins[next(iter(self._pins))]
        owner, worker_id = pin
        if owner != user_id or worker_id is None:
            return None
        worker = self.registry.get(worker_id)
        if worker is None:
            raise Unavailable(
                f"This session runs on the worker {worker_id!r}, which is no longer "
                "configured on this server.",
                details={"worker": worker_id},
            )
        return worker

    async def forgotten(self, session_id: str) -> None:
        """The worker deleted the session: so does this server's copy."""
        self._pins.pop(session_id, None)
        row = await self.store.get_session(session_id)
        if row is not None and row["state"] != "deleted":
            await self.store.transition_session(
                session_id, [row["state"]], "deleted", detail=f"deleted on {row['worker']}"
            )

    # -- new sessions -----------------------------------------------------------------------

    async def create(
        self,
        user_id: str,
        fields: dict[str, Any],
        chosen: object,
        create_here: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """Create the session on the chosen (or first usable) worker, failing over to the
        next usable one while a worker cannot take it."""
        candidates = await self.registry.placement(chosen)
        tried: list[str] = []
        for worker in candidates:
            if worker.local:
                return {**await create_here(), "worker": LOCAL}
            try:
                return await self._create_on(worker, user_id, fields)
            except Unavailable as e:
                self.logger.warning("worker %s cannot take a session: %s", worker.id, e.message)
                tried.append(worker.describe())
        why = f" (tried {', '.join(tried)})" if tried else ""
        raise Unavailable(
            f"No worker can take a new session now{why}; see api/workers/status.",
            details={"tried": tried},
        )

    async def _create_on(self, worker: Worker, user_id: str, fields: dict[str, Any]) -> dict:
        body = json.dumps(fields).encode()
        async with self.open(
            worker, user_id, "POST", "lawless/api/workspace/sessions", body=body, retry=False
        ) as response:
            answer = await response.aread()
        data = _json(answer)
        if response.status_code in RETRY_STATUSES:
            raise Unavailable(f"it answered {response.status_code}: {data.get('error')}")
        if response.status_code != 201:
            raise WorkerAnswer(response.status_code, data)
        session = data["session"]
        row = {k: session.get(k) for k in _PINNED_FIELDS}
        # repo_path: where the same repository is here, so listing by repository finds it
        repo_path = str(self.root_dir / row["repo"]) if row["repo"] else str(self.root_dir)
        try:
            await self.store.pin_session(
                {**row, "user_id": user_id, "repo_path": repo_path, "worker": worker.id}
            )
        except BaseException:  # not listed here: it must not live on there either
            await self._discard_on(worker, user_id, session["id"])
            raise
        return {**session, "worker": worker.id}

    async def _discard_on(self, worker: Worker, user_id: str, session_id: str) -> None:
        path = f"lawless/api/workspace/sessions/{session_id}?force=true"
        try:
            async with self.open(worker, user_id, "DELETE", path, retry=False) as response:
                await response.aread()
            if response.status_code != 200:
                raise LawlessError(f"it answered {response.status_code}")
        except Exception as e:  # reported; the worker's reconciliation does not see it
            self.logger.warning(
                "session %s could not be removed from worker %s: %s", session_id, worker.id, e
            )

    # -- forwarding -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def open(
        self,
        worker: Worker,
        user_id: str,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        retry: bool | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Send a request to ``worker`` (``path`` below its base URL, query included) and
        give its answer once the headers are in; the body is read as it arrives."""
        refused = self.registry.refused(worker)
        if refused:
            raise Unavailable(f"The worker {worker.describe()} is not used: {refused}.")
        known = self.registry.last_known(worker.id)
        if known is not None and known.status == "down":
            fresh = await self.registry.statuses()  # at most a few seconds old
            known = next(s for s in fresh if s.worker.id == worker.id)
            if known.status == "down":
                raise self._down(worker, known.error)
        sent = {**(headers or {}), **forward_headers(worker, user_id)}
        if self.github_token_for is not None and path.split("?")[0].endswith(NEEDS_GITHUB):
            token = await self.github_token_for(user_id)
            sent = {**sent, **forward_headers(worker, user_id, token)}
        retries = method in IDEMPOTENT if retry is None else retry
        delays = self.registry.settings.retry_delays if retries else ()
        timeout = httpx.Timeout(self.timeout, connect=self.registry.settings.check_timeout)
        request = self.registry.client.build_request(
            method, worker.url + path, content=body, headers=sent, timeout=timeout
        )
        async for more in backoff.tries(delays):
            try:
                response = await self.registry.client.send(request, stream=True)
            except httpx.TransportError as e:
                if not more:
                    raise self._down(worker, f"not reachable ({type(e).__name__})") from e
            else:
                if response.status_code not in RETRY_STATUSES or not more:
                    break
                await response.aclose()
        try:
            yield response
        finally:
            await response.aclose()

    def _down(self, worker: Worker, why: str | None) -> Unavailable:
        return Unavailable(
            f"This session runs on the worker {worker.describe()}, which is down"
            f"{f' ({why})' if why else ''}. Try again when it is back.",
            details={"worker": worker.id},
        )

    def websocket_headers(self, worker: Worker, user_id: str) -> dict[str, str]:
        return forward_headers(worker, user_id)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return {"error": "The worker gave an answer that is not JSON.", "code": "upstream_error"}
    return data
