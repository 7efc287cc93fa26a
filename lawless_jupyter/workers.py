"""Workers: where sessions run. The local server is always one; a deployer adds remote ones
(other Jupyter servers running this extension in worker mode, ``worker_auth.py``).

``WorkerRegistry`` knows the configured workers and checks their health: every worker in
parallel (``GET {url}lawless/version`` with the frontend's API key), each under its own
timeout, the result cached for a few seconds and shared by concurrent callers, so a busy
panel never hammers the workers.

A worker's status:

- ``up``: it answered 200 with its version, in time, and runs the same version as this server.
- ``degraded``: it answers, but something is off: slower than ``degraded_latency``, a
  different lawless_jupyter version (the API may differ), or an answer other than 200 (its
  API key refused, an error). ``error`` says which. A slow or other-version worker still
  takes new sessions (``usable``); one that refuses the key or errs does not.
- ``down``: no answer within the timeout (refused, unreachable, timed out), or never
  contacted because its URL is plain HTTP to a non-loopback host (the key would travel in
  the clear) and ``allow_insecure_workers`` is off.

Knows nothing of Tornado handlers; HTTP out is httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from .errors import InvalidInput

LOCAL = "local"
API_KEY_HEADER = "X-API-Key"
USER_HEADER = "X-Lawless-User"
GITHUB_TOKEN_HEADER = "X-Lawless-GitHub-Token"

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_FIELDS = {"id", "name", "url", "region", "features", "api_key_env"}


@dataclass(frozen=True)
class Worker:
    id: str
    name: str
    url: str  # base URL of its Jupyter server, ending in "/"
    region: str = ""
    features: tuple[str, ...] = ()
    api_key: str = field(default="", repr=False)  # never logged, never shown
    api_key_env: str = ""

    @property
    def local(self) -> bool:
        return self.id == LOCAL

    def describe(self) -> str:
        return f"{self.name!r} ({self.id})" if self.name != self.id else repr(self.id)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_workers(entries: list[dict[str, Any]], environ: Any = os.environ) -> list[Worker]:
    """Workers from configuration, each checked; raises ``ValueError`` naming the problem."""
    workers: list[Worker] = []
    seen = {LOCAL}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"workers[{i}] must be a dict")
        unknown = set(entry) - _FIELDS
        if unknown:
            raise ValueError(f"workers[{i}] has unknown fields: {', '.join(sorted(unknown))}")
        wid = entry.get("id")
        if not isinstance(wid, str) or not _ID.match(wid):
            raise ValueError(
                f"workers[{i}].id must be lower-case letters, digits, '-' or '_' (got {wid!r})"
            )
        if wid in seen:
            raise ValueError(f"workers[{i}].id {wid!r} is taken ('local' is this server)")
        seen.add(wid)
        url = entry.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"workers[{i}].url must be an http(s) URL (got {url!r})")
        if not urlsplit(url).hostname:
            raise ValueError(f"workers[{i}].url has no host")
        features = entry.get("features", [])
        if not isinstance(features, (list, tuple)) or not all(isinstance(f, str) for f in features):
            raise ValueError(f"workers[{i}].features must be a list of strings")
        key_env = entry.get("api_key_env", "")
        if not isinstance(key_env, str):
            raise ValueError(f"workers[{i}].api_key_env must be an environment variable name")
        workers.append(
            Worker(
                id=wid,
                name=str(entry.get("name") or wid),
                url=url if url.endswith("/") else url + "/",
                region=str(entry.get("region") or ""),
                features=tuple(features),
                api_key=environ.get(key_env, "") if key_env else "",
                api_key_env=key_env,
            )
        )
    return workers


@dataclass(frozen=True)
class WorkerSettings:
    check_timeout: float = 5.0
    cache_seconds: float = 3.0
    degraded_latency: float = 2.0
    allow_insecure: bool = False
    retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    prefer_remote: bool = False


@dataclass
class WorkerStatus:
    worker: Worker
    status: str  # up | degraded | down
    version: str | None = None
    uptime: float | None = None
    latency_ms: float | None = None
    error: str | None = None
    usable: bool = False  # takes new sessions

    def public(self) -> dict[str, Any]:
        w = self.worker
        return {
            "id": w.id,
            "name": w.name,
            "region": w.region,
            "features": list(w.features),
            "status": self.status,
            "version": self.version,
            "uptime": self.uptime,
            "latency_ms": self.latency_ms,
            "error": self.error,
        }


def forward_headers(worker: Worker, user_id: str | None, github_token: str | None = None) -> dict:
    """What a request to ``worker`` carries: the key and, for a person's request, their id
    (percent-encoded: header values are latin-1) and, when the worker needs it, their
    GitHub token."""
    headers = {API_KEY_HEADER: worker.api_key}
    if user_id is not None:
        headers[USER_HEADER] = quote(user_id, safe="")
    if github_token:
        headers[GITHUB_TOKEN_HEADER] = github_token
    return headers


class WorkerRegistry:
    """The workers and their health."""

    def __init__(
        self,
        remote: list[Worker],
        settings: WorkerSettings,
        local_info: Callable[[], dict[str, Any]],
        logger: Any,
    ):
        self.local = Worker(id=LOCAL, name="This server", url="", features=("local",))
        self.remote = remote
        self.settings = settings
        self._local_info = local_info  # this server's version_info()
        self.logger = logger
        self._cached: tuple[float, list[WorkerStatus]] | None = None
        self._inflight: asyncio.Future[list[WorkerStatus]] | None = None
        self._client: httpx.AsyncClient | None = None
        self.on_status: list[Callable[[list[WorkerStatus]], None]] = []
        for w in remote:
            if not w.api_key:
                logger.warning(
                    "worker %s has no API key: $%s is empty", w.describe(), w.api_key_env or "?"
                )

    @property
    def workers(self) -> list[Worker]:
        """In the order new sessions try them."""
        if self.settings.prefer_remote:
            return [*self.remote, self.local]
        return [self.local, *self.remote]

    def get(self, worker_id: str) -> Worker | None:
        return next((w for w in self.workers if w.id == worker_id), None)

    def find(self, worker_id: object) -> Worker:
        if not isinstance(worker_id, str) or self.get(worker_id) is None:
            known = ", ".join(w.id for w in self.workers)
            raise InvalidInput(
                f"There is no worker {str(worker_id)[:64]!r}; the workers are: {known}.",
                details={"workers": [w.id for w in self.workers]},
            )
        return self.get(worker_id)  # type: ignore[return-value]

    def refused(self, worker: Worker) -> str | None:
        """Why ``worker`` must not be contacted at all, if so."""
        if (
            urlsplit(worker.url).scheme == "http"
            and not is_loopback(worker.url)
            and not self.settings.allow_insecure
        ):
            return (
                "plain HTTP to a non-loopback worker is refused (its API key would travel "
                "in the clear); use https, or set LawlessApp.allow_insecure_workers"
            )
        return None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # no pool-wide timeout: a streamed chat may last long; each call sets its own
            self._client = httpx.AsyncClient(timeout=None, follow_redirects=False)
        return self._client

    async def close(self) -> None:
        # a check still in flight (the status bar asked just before the server stopped)
        # ends here, not as a task the closing loop destroys
        if (checking := self._inflight) is not None:
            checking.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await checking
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- health ------------------------------------------------------------------------

    async def statuses(self) -> list[WorkerStatus]:
        """Every worker's status: cached for ``cache_seconds``; one check at a time, shared
        by everyone who asks meanwhile."""
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self.settings.cache_seconds:
            return self._cached[1]
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._check_all())
            self._inflight.add_done_callback(self._checked)
        return await asyncio.shield(self._inflight)

    def _checked(self, future: asyncio.Future[list[WorkerStatus]]) -> None:
        self._inflight = None
        if not future.cancelled() and future.exception() is None:
            self._cached = (time.monotonic(), future.result())
            for listener in self.on_status:
                listener(future.result())

    def last_known(self, worker_id: str) -> WorkerStatus | None:
        """The cached status of a worker (however old), without checking."""
        if self._cached is None:
            return None
        return next((s for s in self._cached[1] if s.worker.id == worker_id), None)

    async def status_report(self) -> dict[str, Any]:
        statuses = await self.statuses()
        return {
            "workers": [s.public() for s in statuses],
            "timestamp": datetime.now(timezone.utc).isoformat(),
        }

    async def _check_all(self) -> list[WorkerStatus]:
        return list(await asyncio.gather(*(self._check(w) for w in self.workers)))

    async def _check(self, worker: Worker) -> WorkerStatus:
        if worker.local:
            info = await asyncio.to_thread(self._local_info)  # psutil: not on the loop
            return WorkerStatus(
                worker, "up", info["version"], info["uptime"], latency_ms=0.0, usable=True
            )
        refused = self.refused(worker)
        if refused:
            return WorkerStatus(worker, "down", error=refused)
        timeout = self.settings.check_timeout
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(
                self.client.get(
                    worker.url + "lawless/version",
                    headers=forward_headers(worker, None),
                    timeout=timeout,
                ),
                timeout,
            )
        except (httpx.HTTPError, asyncio.TimeoutError, OSError) as e:
            reason = f"no answer within {timeout:g} s"
            if not isinstance(e, (asyncio.TimeoutError, httpx.TimeoutException)):
                reason = f"not reachable ({type(e).__name__})"
            return WorkerStatus(worker, "down", error=reason)
        latency = round((time.monotonic() - started) * 1000, 1)
        if response.status_code != 200:
            what = {401: "refused the API key", 403: "refused the API key"}.get(
                response.status_code, "answered with an error"
            )
            return WorkerStatus(
                worker, "degraded", latency_ms=latency, error=f"{what} ({response.status_code})"
            )
        try:
            info = response.json()
            version, uptime = str(info["version"]), info.get("uptime")
        except (ValueError, KeyError, TypeError):
            return WorkerStatus(
                worker, "degraded", latency_ms=latency, error="its version answer is not JSON"
            )
        problems = []
        ours = (await asyncio.to_thread(self._local_info))["version"]
        if version != ours:
            problems.append(f"it runs lawless_jupyter {version}, this server {ours}")
        if latency > self.settings.degraded_latency * 1000:
            problems.append(f"slow: {latency:g} ms")
        return WorkerStatus(
            worker,
            "degraded" if problems else "up",
            version,
            uptime,
            latency,
            "; ".join(problems) or None,
            usable=True,
        )

    async def placement(self, chosen: object = None) -> list[Worker]:
        """The workers a new session tries, in order: the chosen one (or the first usable
        one) first, then the other usable ones."""
        order = self.workers
        if chosen is not None:
            first = self.find(chosen)
            start = order.index(first)
            order = order[start:] + order[:start]
        usable = {s.worker.id for s in await self.statuses() if s.usable}
        return [w for w in order if w.id in usable]
