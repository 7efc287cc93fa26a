"""The hub's ``lawless-anthropic`` service: Claude in every server reaches the model through
the hub, and no server holds the deployment's Anthropic key.

With one ``ANTHROPIC_API_KEY`` in every server's environment, anyone on the hub could read
it from a notebook and use it beyond Claude's chat: the Files and Message Batches APIs of
the whole organisation (other people's uploads and results), with no name on the requests.
The key stays in the hub instead. Each server gets, as Claude Code's ``ANTHROPIC_API_KEY``,
a hub token of its own user's that can do one thing, reach this service
(:func:`token_for_server`, a ``Spawner.environment`` callable; :func:`revoke_on_stop`
deletes it when the server stops). The service checks the token with the hub, forwards
``POST /v1/messages`` and ``/v1/messages/count_tokens`` to Anthropic with the real key,
streaming the answer back as it comes, logs who asked and how many tokens it took, and
refuses every other endpoint. With ``LAWLESS_ANTHROPIC_DAILY_TOKENS`` set, each user has
that many model tokens a day (UTC); past it the model answers 429 until midnight.

JupyterHub runs this file as a managed service and loads it from its config
(``jupyterhub_config.py``, ``values.yaml``). Environment of the service: ``ANTHROPIC_API_KEY``
(the real key), ``ANTHROPIC_BASE_URL`` (where to forward; default Anthropic's API),
``LAWLESS_ANTHROPIC_PROXY_IP`` (address to listen on, default 127.0.0.1; 0.0.0.0 in a hub
pod), ``LAWLESS_ANTHROPIC_DAILY_TOKENS`` (a budget per user, unset: none) and JupyterHub's
own ``JUPYTERHUB_SERVICE_URL``/``JUPYTERHUB_SERVICE_PREFIX``/``JUPYTERHUB_API_*``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from jupyterhub.services.auth import HubAuth, HubAuthenticated
from tornado import httpclient, ioloop, web

SERVICE_NAME = "lawless-anthropic"
#: the scope a token needs to be served (the deploy config gives it to users)
ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"
DEFAULT_UPSTREAM = "https://api.anthropic.com"
#: what Claude Code needs of the API; the rest (files, batches, admin, models) is refused
FORWARDED_PATHS = ("v1/messages", "v1/messages/count_tokens")
# never forwarded: the caller's credentials and cookies, and what belongs to one connection
_DROPPED_REQUEST = {"authorization", "x-api-key", "cookie", "host", "content-length"}
_DROPPED_REQUEST |= {"accept-encoding", "connection", "keep-alive", "transfer-encoding", "te"}
_DROPPED_REQUEST |= {"expect"}
_DROPPED_RESPONSE = {"content-length", "content-encoding", "transfer-encoding", "connection"}
_DROPPED_RESPONSE |= {"keep-alive", "set-cookie"}

log = logging.getLogger(SERVICE_NAME)


# -- in the hub: each server's token --------------------------------------------------------


def _note(spawner) -> str:
    return f"{SERVICE_NAME}: Claude in server '{spawner.name}'"


def revoke_on_stop(spawner) -> None:
    """Delete the tokens :func:`token_for_server` made for this server (``post_stop_hook``)."""
    note = _note(spawner)
    db = spawner.user.db
    for token in list(spawner.user.orm_user.api_tokens):
        if token.note == note:
            db.delete(token)
    db.commit()


def token_for_server(spawner) -> str:
    """A new hub token of the server's user, good for this service only (a
    ``Spawner.environment`` value: called at each start). An earlier start's token of the
    same server, left by a hub that stopped before the server did, is deleted first."""
    revoke_on_stop(spawner)
    return spawner.user.new_api_token(note=_note(spawner), scopes=[ACCESS_SCOPE])


# -- the service ----------------------------------------------------------------------------


class DailyBudget:
    """Model tokens per user per UTC day, kept in the service's memory (a hub restart starts
    the day afresh). A request is let through while its user is under the budget, and what
    it used is counted when it ends: the answer that crosses the line finishes."""

    def __init__(self, tokens: int | None):
        self.tokens = tokens
        self._used: dict[str, tuple[str, int]] = {}  # user -> (day, tokens)

    @staticmethod
    def _now() -> datetime:
        return datetime.now(timezone.utc)

    def used(self, user: str) -> int:
        day, tokens = self._used.get(user, ("", 0))
        return tokens if day == self._now().date().isoformat() else 0

    def add(self, user: str, tokens: int) -> None:
        self._used[user] = (self._now().date().isoformat(), self.used(user) + tokens)

    def exhausted(self, user: str) -> bool:
        return self.tokens is not None and self.used(user) >= self.tokens

    def seconds_to_midnight(self) -> int:
        now = self._now()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
        return int((midnight.replace(tzinfo=timezone.utc) - now).total_seconds()) + 1


class UsageCounter:
    """The tokens an answer used, read from it as it passes: the ``usage`` of a streamed
    answer's ``message_start`` and ``message_delta`` events, or of a whole JSON answer."""

    def __init__(self) -> None:
        self.input = self.output = 0
        self._rest = b""

    @property
    def tokens(self) -> int:
        return self.input + self.output

    def feed(self, chunk: bytes) -> None:
        events = (self._rest + chunk).split(b"\n\n")
        self._rest = events.pop()  # an event not finished yet
        for event in events:
            for line in event.split(b"\n"):
                # only message_start and message_delta say it: a text delta is not parsed
                if line.startswith(b"data:") and b'"usage"' in line:
                    self._read(line[5:])

    def end(self) -> None:
        """The answer is over: what is left is one event without its blank line, or a whole
        JSON answer."""
        rest, self._rest = self._rest.strip(), b""
        if rest.startswith(b"{"):
            self._read(rest)
        else:
            self.feed(rest + b"\n\n")

    def _read(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "message_start":
            message = message.get("message") or {}
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return
        if message.get("type") == "message":  # message_start's, or a whole answer's
            self.input = sum(
                int(usage.get(name) or 0)
                for name in (
                    "input_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                )
            )
        # output_tokens is the running total in each event that carries it
        self.output = max(self.output, int(usage.get("output_tokens") or 0))


def _error(handler: web.RequestHandler, status: int, kind: str, message: str) -> None:
    """An error as the Messages API shapes it, so Claude Code shows its message."""
    handler.set_status(status)
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps({"type": "error", "error": {"type": kind, "message": message}}))


class MessagesHandler(HubAuthenticated, web.RequestHandler):
    """Forward one Messages API request of a hub user to Anthropic, with the hub's key."""

    def initialize(
        self, hub_auth: HubAuth, upstream: str, key: str, client, budget: DailyBudget
    ) -> None:
        self.hub_auth, self.upstream, self.key, self.client = hub_auth, upstream, key, client
        self.budget, self.usage = budget, UsageCounter()
        self.answering = False  # the answer's first bytes went out: too late for a 502
        # libcurl's client hands over headers and body through separate callbacks, and a
        # short answer's body can come first: it waits here until the headers are in
        self.early: list[bytes] | None = []
        self.gone = False  # the caller hung up: stop reading the answer (and paying for it)

    def prepare(self) -> None:
        # Claude Code sends its API key as x-api-key; HubAuth reads the Authorization header
        key = self.request.headers.get("x-api-key")
        if key and "Authorization" not in self.request.headers:
            self.request.headers["Authorization"] = f"token {key}"

    def on_connection_close(self) -> None:
        self.gone = True

    def write_error(self, status_code: int, **kwargs) -> None:
        _error(self, status_code, "api_error", self._reason)

    async def post(self, path: str) -> None:
        owner = self.current_user  # None unless the token holds ACCESS_SCOPE
        if not owner or owner.get("kind") != "user":
            return _error(
                self, 401, "authentication_error", f"A hub token with {ACCESS_SCOPE} is needed."
            )
        if path not in FORWARDED_PATHS:
            return _error(self, 403, "permission_error", f"/{path} is not served by the hub.")
        counted = path == "v1/messages"  # counting tokens costs none
        if counted and self.budget.exhausted(owner["name"]):
            wait = self.budget.seconds_to_midnight()
            # Anthropic's SDK (in Claude Code) retries a 429 unless told not to: this one
            # lasts until midnight, so the person sees it at once
            self.set_header("x-should-retry", "false")
            self.set_header("retry-after", str(wait))
            return _error(
                self,
                429,
                "rate_limit_error",
                f"You have used today's {self.budget.tokens:,} model tokens on this hub; "
                f"more in {wait // 3600} h {wait % 3600 // 60} min (at 00:00 UTC).",
            )
        started = time.monotonic()
        # Nagle off: each event leaves as it comes, not after the ACK of the one before
        stream = getattr(self.request.connection, "stream", None)
        if stream is not None:
            stream.set_nodelay(True)
        headers = {
            name: value
            for name, value in self.request.headers.get_all()
            if name.lower() not in _DROPPED_REQUEST
        }
        headers["x-api-key"] = self.key
        query = f"?{self.request.query}" if self.request.query else ""  # e.g. ?beta=true
        request = httpclient.HTTPRequest(
            f"{self.upstream}/{path}{query}",
            method="POST",
            headers=headers,
            body=self.request.body,
            connect_timeout=30,
            request_timeout=3600,  # a long answer streams for minutes
            header_callback=self._header,
            streaming_callback=self._chunk,
            prepare_curl_callback=self._stop_when_gone,
        )
        try:
            response = await self.client.fetch(request, raise_error=False)
        except Exception as error:  # the API unreachable, or the caller left mid-answer
            if self.gone:
                return
            log.warning("%s /%s: Anthropic's API did not answer: %s", owner["name"], path, error)
            if not self.answering:
                return _error(self, 502, "api_error", "The hub could not reach Anthropic's API.")
            return self.finish()
        finally:  # what an answer used counts, even one its caller left halfway
            self.usage.end()
            if counted:
                self.budget.add(owner["name"], self.usage.tokens)
        log.info(
            "%s /%s: %d in %.1f s, %d tokens (%d today)",
            owner["name"],
            path,
            response.code,
            time.monotonic() - started,
            self.usage.tokens,
            self.budget.used(owner["name"]),
        )
        if not self.gone:
            self.finish()

    def _header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            self.clear_header("Content-Type")  # the answer's own, from the lines that follow
            self.set_status(int(line.split(" ", 2)[1]))
            return
        if not line.strip():  # the end of the headers: what came before them can go now
            early, self.early = self.early or [], None
            for chunk in early:
                self._chunk(chunk)
            return
        name, _, value = line.partition(":")
        if name.strip().lower() not in _DROPPED_RESPONSE:
            self.add_header(name.strip(), value.strip())

    def _stop_when_gone(self, curl) -> None:
        import pycurl

        # libcurl asks this at least once a second while it transfers; non-zero aborts
        curl.setopt(pycurl.NOPROGRESS, False)
        curl.setopt(pycurl.XFERINFOFUNCTION, lambda *_: int(self.gone))

    def _chunk(self, chunk: bytes) -> None:
        if self.gone:  # the transfer stops at libcurl's next progress call
            return
        if self.early is not None:
            self.early.append(chunk)
            return
        self.answering = True
        self.usage.feed(chunk)
        self.write(chunk)
        self.flush()  # each server-sent event as it comes


class HelloHandler(web.RequestHandler):
    """Claude Code's connectivity check (``HEAD /api/hello``, sent without a key): the
    service is up. It says nothing else and forwards nothing."""

    def head(self) -> None:
        self.set_status(200)

    get = head


def http_client(max_clients: int = 200) -> httpclient.AsyncHTTPClient:
    """Tornado's libcurl client: it keeps its connections to the API open, so a model request
    does not begin with a TLS handshake (tornado's own client opens one per request).
    Zero to JupyterHub's hub image has pycurl; on one machine, ``pip install pycurl``."""
    try:
        from tornado.curl_httpclient import CurlAsyncHTTPClient
    except ImportError as error:
        raise SystemExit(f"{SERVICE_NAME} needs pycurl in the hub's Python: {error}") from None
    return CurlAsyncHTTPClient(force_instance=True, max_clients=max_clients)


def make_app(
    upstream: str, key: str, daily_tokens: int | None = None, cache_max_age: int = 60
) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    # a server's token is deleted when it stops: the hub is asked again after a minute
    hub_auth = HubAuth(cache_max_age=cache_max_age)
    # every user's answers stream at once (tornado's default is 10 connections, then a queue)
    client = http_client()
    options = {"hub_auth": hub_auth, "upstream": upstream.rstrip("/"), "key": key}
    options["budget"] = DailyBudget(daily_tokens)
    prefix = prefix.rstrip("/")
    return web.Application(
        [
            (prefix + "/api/hello", HelloHandler),
            (prefix + "/(.*)", MessagesHandler, {**options, "client": client}),
        ]
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(name)s %(asctime)s] %(message)s")
    key = os.environ.get("ANTHROPIC_API_KEY", "")
    if not key:
        raise SystemExit(f"{SERVICE_NAME}: ANTHROPIC_API_KEY is not set")
    upstream = os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_UPSTREAM
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    address = os.environ.get("LAWLESS_ANTHROPIC_PROXY_IP", "127.0.0.1")
    budget = os.environ.get("LAWLESS_ANTHROPIC_DAILY_TOKENS", "").strip()
    if budget and not (budget.isdigit() and int(budget) > 0):
        raise SystemExit(f"{SERVICE_NAME}: LAWLESS_ANTHROPIC_DAILY_TOKENS must be a whole number")
    make_app(upstream, key, int(budget) if budget else None).listen(url.port or 80, address)
    log.info("forwarding the Messages API to %s on %s:%s", upstream, address, url.port)
    # the hub stops its services with SIGINT: an end, not an error
    with contextlib.suppress(KeyboardInterrupt):
        ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
