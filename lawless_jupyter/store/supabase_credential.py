"""The per-user Supabase credential of a server on JupyterHub.

On a hub no server holds a key that reaches other people's rows. The hub's
``lawless-supabase`` service (``deploy/jupyterhub/lawless_supabase_token.py``) holds the
project's JWT secret and hands a server, asked with the server's own
``$JUPYTERHUB_API_TOKEN``, a short-lived JWT for that server's user only (``sub`` = the hub
user name, ``role`` = ``authenticated``). The mirror sends the project's anon key as
``apikey`` and this JWT as the bearer; row level security does the rest.
"""

from __future__ import annotations

import asyncio
import time

import httpx


class CredentialUnavailable(httpx.TransportError):
    """No JWT now (the hub's service is down or refused): the mirror retries later, as for
    any network error."""


class HubSupabaseToken:
    """Fetches the JWT from the hub service and fetches a new one before it expires."""

    def __init__(self, url: str, api_token: str, *, timeout: float = 10.0, margin: float = 60.0):
        self.url = url
        self._api_token = api_token
        self._timeout = timeout
        self._margin = margin  # seconds before expiry at which a new token is fetched
        self._token: str | None = None
        self._refresh_at = 0.0  # time.time() from which a new token is fetched
        self._lock = asyncio.Lock()
        self.fetched = 0  # how many tokens this server was handed (for tests and the status)

    def _fresh(self) -> bool:
        return self._token is not None and time.time() < self._refresh_at

    async def bearer(self) -> str:
        if self._fresh():
            return self._token  # type: ignore[return-value]
        async with self._lock:  # one fetch when many requests find it stale at once
            if not self._fresh():
                await self._fetch()
        return self._token  # type: ignore[return-value]

    async def _fetch(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.get(
                    self.url, headers={"Authorization": f"token {self._api_token}"}
                )
        except httpx.HTTPError as e:
            raise CredentialUnavailable(f"the hub's Supabase token service: {e}") from e
        if answer.status_code != 200:
            raise CredentialUnavailable(
                f"the hub's Supabase token service answered HTTP {answer.status_code}"
            )
        try:
            body = answer.json()
            token, expires_at = str(body["access_token"]), float(body["expires_at"])
        except (ValueError, KeyError, TypeError) as e:
            raise CredentialUnavailable("the hub's Supabase token service sent no token") from e
        lifetime = max(0.0, expires_at - time.time())
        # the margin, or a fifth of a long lifetime, but never more than half of it: a token
        # is never sent with seconds to live, and a short one is still used a while
        early = min(max(self._margin, lifetime / 5), lifetime / 2)
        self._token, self._refresh_at = token, expires_at - early
        self.fetched += 1

    async def authorize(self, request: httpx.Request) -> None:
        """An httpx request hook: every request to Supabase carries the current JWT."""
        request.headers["Authorization"] = f"Bearer {await self.bearer()}"
