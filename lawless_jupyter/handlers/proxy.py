"""Requests for a session pinned to a remote worker, passed on to it (``remote.py``).

REST answers and the chat's SSE stream are written to the client chunk by chunk as the
worker sends them (flushed each time, nothing buffered); a JSON answer that names the
session gets its ``worker`` so the client sees where it runs. Terminal websockets are
bridged message by message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import httpclient, web, websocket
from tornado.iostream import StreamClosedError

from ..digits import digits
from ..errors import NotFound, Unavailable
from ..workers import Worker
from .error_answer import write_error_answer
from .identity import identify
from .nodelay import send_at_once

AUTH_RESOURCE = "lawless"  # the same as LawlessHandler's (base.py imports this module)

#: request headers a worker gets from the client (never its login: Authorization, Cookie);
#: the worker keeps a forwarded Idempotency-Key's answer for the person, as it would here
_REQUEST_HEADERS = ("Content-Type", "Accept", "Last-Event-ID", "Idempotency-Key")
#: answer headers passed back
_ANSWER_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "X-Accel-Buffering",
    "Retry-After",
    "Idempotent-Replayed",
)
#: JSON answers up to this size are read whole to mark the session's worker
_JSON_MARK_LIMIT = 4 * 1024 * 1024


class ForwardMixin:
    """For ``LawlessHandler``: answer a pinned session's request from its worker."""

    async def forward_if_pinned(self) -> None:
        session_id = self.path_kwargs.get("session_id")  # type: ignore[attr-defined]
        if session_id is None or self.current_user is None:  # type: ignore[attr-defined]
            return
        identity = self.identity  # type: ignore[attr-defined]
        worker = await self.lawless.remote.pinned(identity.user_id, session_id)  # type: ignore[attr-defined]
        if worker is None:
            return
        # LawlessHandler.prepare has checked this method's action (auth_actions) already
        await self.forward(worker, identity.user_id, session_id)

    async def forward(self, worker: Worker, user_id: str, session_id: str) -> None:
        request = self.request  # type: ignore[attr-defined]
        base_url = self.settings.get("base_url", "/")  # type: ignore[attr-defined]
        resource = request.path[len(base_url) :]
        path = resource + (f"?{request.query}" if request.query else "")
        headers = {h: request.headers[h] for h in _REQUEST_HEADERS if h in request.headers}
        remote = self.lawless.remote  # type: ignore[attr-defined]
        async with remote.open(
            worker, user_id, request.method, path, body=request.body or None, headers=headers
        ) as answer:
            self.set_status(answer.status_code)  # type: ignore[attr-defined]
            for name in _ANSWER_HEADERS:
                if name in answer.headers:
                    self.set_header(name, answer.headers[name])  # type: ignore[attr-defined]
            try:
                if _is_small_json(answer):
                    await self._write_marked(answer, worker)
                else:
                    await self._stream(answer)
            except httpx.HTTPError:  # the worker went away mid-answer: cut the stream
                self.log.warning("worker %s stopped answering mid-stream", worker.id)  # type: ignore[attr-defined]
            except StreamClosedError:
                return  # the client left; leaving the context closes the worker request
        if request.method == "DELETE" and answer.status_code == 200 and resource.count("/") == 4:
            await remote.forgotten(session_id)  # lawless/api/workspace/sessions/<id>
        with contextlib.suppress(Exception):
            self.finish()  # type: ignore[attr-defined]

    async def _stream(self, answer: httpx.Response) -> None:
        send_at_once(self.request)  # type: ignore[attr-defined]  # each chunk as it comes
        await self.flush()  # type: ignore[attr-defined]  # headers now: the SSE has begun
        async for chunk in answer.aiter_raw():
            self.write(chunk)  # type: ignore[attr-defined]
            await self.flush()  # type: ignore[attr-defined]

    async def _write_marked(self, answer: httpx.Response, worker: Worker) -> None:
        raw = await answer.aread()
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("session",):
                if isinstance(data.get(key), dict):
                    data[key]["worker"] = worker.id
            raw = json.dumps(data).encode()
        self.write(raw)  # type: ignore[attr-defined]


def _is_small_json(answer: httpx.Response) -> bool:
    length = answer.headers.get("Content-Length", "")
    return answer.headers.get("Content-Type", "").startswith("application/json") and (
        digits(length) and int(length) <= _JSON_MARK_LIMIT
    )


class TerminalSocketHandler(
    WebSocketMixin, websocket.WebSocketHandler, ExtensionHandlerMixin, JupyterHandler
):
    """A terminal of a session on a remote worker: this websocket is bridged to the worker's
    ``terminals/websocket/<name>``. (A session on this server uses Jupyter's own.)"""

    auth_resource = AUTH_RESOURCE
    _upstream: websocket.WebSocketClientConnection | None = None
    _pump: asyncio.Task[None] | None = None

    @property
    def lawless(self) -> Any:
        return self.extensionapp

    @ws_authenticated
    async def get(self, session_id: str, name: str) -> None:
        user = self.current_user
        # a shell: the same action as creating a terminal
        if not self.authorizer.is_authorized(self, user, "execute", AUTH_RESOURCE):
            raise web.HTTPError(403, f"You are not allowed to execute {AUTH_RESOURCE}.")
        if not self.authorizer.is_authorized(self, user, "execute", "terminals"):
            raise web.HTTPError(403, "You are not allowed to use terminals on this server.")
        await self.lawless.ready()
        user_id = identify(user, self.lawless).user_id
        remote = self.lawless.remote
        try:
            worker = await remote.pinned(user_id, session_id)
            if worker is None:
                raise NotFound(
                    "This session's terminals run on this server: connect to "
                    f"terminals/websocket/{name[:64]}."
                )
            await self._check_terminal(worker, user_id, session_id, name)
            url = worker.url.replace("http", "ws", 1) + f"terminals/websocket/{name}"
            request = httpclient.HTTPRequest(
                url,
                headers=remote.websocket_headers(worker, user_id),
                connect_timeout=remote.registry.settings.check_timeout,
            )
            self._upstream = await websocket.websocket_connect(request)
        except (NotFound, Unavailable) as e:
            raise web.HTTPError(e.status, e.message) from e
        except (OSError, httpclient.HTTPClientError) as e:
            raise web.HTTPError(
                503, f"The worker {worker.describe()} did not open the terminal ({e})."
            ) from e
        await super().get(session_id, name)

    async def _check_terminal(self, worker: Worker, user_id: str, session_id: str, name: str):
        """The worker's terminal websockets are not per user: only a terminal of this
        person's session may be opened."""
        path = f"lawless/api/workspace/sessions/{session_id}/terminals"
        async with self.lawless.remote.open(worker, user_id, "GET", path) as answer:
            body = await answer.aread()
        try:
            terminals = json.loads(body)["terminals"] if answer.status_code == 200 else []
            names = [t["name"] for t in terminals]
        except (ValueError, KeyError, TypeError):
            names = []
        if name not in names:
            raise NotFound(f"This session has no terminal {name[:64]!r}.")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The API's JSON error shape, not Jupyter's HTML page (before the upgrade)."""
        write_error_answer(self, status_code, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        self._pump = asyncio.ensure_future(self._from_worker())

    async def _from_worker(self) -> None:
        assert self._upstream is not None
        while True:
            message = await self._upstream.read_message()
            if message is None:
                break
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except websocket.WebSocketClosedError:
                break
        self.close()

    async def on_message(self, message: str | bytes) -> None:
        if self._upstream is not None:
            await self._upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        if self._pump is not None:
            self._pump.cancel()
