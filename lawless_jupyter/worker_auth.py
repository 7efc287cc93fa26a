"""Worker mode: a frontend server's requests, authenticated by the worker API key.

A server started with ``LawlessApp.worker_api_key`` (or ``$LAWLESS_WORKER_API_KEY``) wraps
Jupyter's identity provider in ``WorkerIdentityProvider``: a request that carries
``X-API-Key`` is the frontend's. The key is compared in constant time; the person it acts for
is named by ``X-Lawless-User`` (percent-encoded) and becomes a ``ForwardedUser``, a normal
Jupyter ``User`` the rest of the code sees like any other (their quotas, their rows).

What the key grants, and nothing more: this extension's routes and Jupyter's terminal
websockets (the frontend proxies session terminals). A key-request without a user may only
read ``lawless/version`` (the health check). A wrong key is refused even next to a valid
token. Every other request goes to Jupyter's own provider unchanged.

With no key configured nothing is wrapped: ``X-API-Key`` and ``X-Lawless-User`` mean nothing
and a request must log in as usual.
"""

from __future__ import annotations

import hmac
import inspect
from typing import Any
from urllib.parse import unquote

from jupyter_server.auth.identity import User

from .workers import API_KEY_HEADER, USER_HEADER

# printable, no control characters; long enough for any JupyterHub name
_MAX_USER = 255


class ForwardedUser(User):
    """A person a frontend server acts for (``frontend``: the frontend itself, no person)."""

    frontend: bool = False


class WorkerIdentityProvider:
    """Jupyter's identity provider, plus the worker API key. Everything not overridden is the
    wrapped provider's."""

    def __init__(self, inner: Any, api_key: str, base_url: str):
        self._inner = inner
        self._key = api_key.encode()
        self._lawless = base_url + "lawless/"
        self._version = base_url + "lawless/version"
        self._terminals = base_url + "terminals/websocket/"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _granted(self, path: str, *, person: bool) -> bool:
        if not person:
            return path == self._version
        return path.startswith((self._lawless, self._terminals))

    async def get_user(self, handler: Any) -> User | None:
        presented = handler.request.headers.get(API_KEY_HEADER)
        if presented is None:
            user = self._inner.get_user(handler)
            return await user if inspect.isawaitable(user) else user
        if not hmac.compare_digest(presented.encode(), self._key):
            handler.log.warning("A request with a wrong worker API key was refused")
            return None
        raw = handler.request.headers.get(USER_HEADER)
        user_id = unquote(raw) if raw else ""
        if raw and (len(user_id) > _MAX_USER or not user_id.isprintable() or not user_id.strip()):
            return None
        if not self._granted(handler.request.path, person=bool(user_id)):
            return None
        handler._token_authenticated = True  # no cookie involved: no XSRF, no origin check
        if not user_id:
            user = ForwardedUser(username="lawless-frontend", name="Frontend server")
            user.frontend = True
            return user
        return ForwardedUser(username=user_id, name=user_id)

    def is_token_authenticated(self, handler: Any) -> bool:
        handler.current_user  # noqa: B018 (get_user has run)
        if getattr(handler, "_token_authenticated", False):
            return True
        return self._inner.is_token_authenticated(handler)


def install(settings: dict[str, Any], api_key: str, base_url: str) -> None:
    """Turn worker mode on: ``settings`` are the extension's, which Jupyter copies into the
    web application's settings once ``initialize_settings`` is done."""
    settings["identity_provider"] = WorkerIdentityProvider(
        settings["identity_provider"], api_key, base_url
    )
