"""GitHub over HTTP: the OAuth endpoints (web flow with PKCE, device flow, refresh) and the
few REST API calls the extension makes. Knows nothing of users or storage.

Every GitHub error becomes an ``errors.py`` type with GitHub's own message; a token is never
put into a message, a log line or a URL.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from ..digits import digits
from ..errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    Upstream,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnauthorized,
)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_LINK = re.compile(r'<([^>]+)>;\s*rel="([^"]+)"')


@dataclass(frozen=True)
class GitHubSettings:
    web_url: str = "https://github.com"  # OAuth endpoints and git remotes (Enterprise: yours)
    api_url: str = "https://api.github.com"  # REST API (Enterprise: https://<host>/api/v3)
    client_id: str = ""
    client_secret: str = ""
    scopes: str = "repo read:user"


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint gave: the access token and, for expiring tokens, a refresh
    token and their expiry (unix times)."""

    access_token: str
    refresh_token: str | None
    expires_at: float | None
    refresh_expires_at: float | None
    scopes: str

    def __repr__(self) -> str:  # never print tokens
        return f"TokenGrant(scopes={self.scopes!r}, expires_at={self.expires_at!r})"

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> TokenGrant:
        now = time.time()
        expires_in = body.get("expires_in")
        refresh_in = body.get("refresh_token_expires_in")
        return cls(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or None,
            expires_at=now + float(expires_in) if expires_in else None,
            refresh_expires_at=now + float(refresh_in) if refresh_in else None,
            scopes=body.get("scope", ""),
        )


class DevicePending(Exception):
    """The person has not finished the device flow yet (``authorization_pending`` or
    ``slow_down``); ``interval`` is the wait GitHub asks for."""

    def __init__(self, reason: str, interval: float | None):
        super().__init__(reason)
        self.reason = reason
        self.interval = interval


class DeviceFlowEnded(Exception):
    """The device flow is over without a token: ``expired_token`` or ``access_denied``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class GitHub:
    def __init__(self, settings: GitHubSettings, http: httpx.AsyncClient):
        self.settings = settings
        self.http = http

    @property
    def web_url(self) -> str:
        return self.settings.web_url.rstrip("/")

    @property
    def configured(self) -> bool:
        return bool(self.settings.client_id)

    # -- OAuth ---------------------------------------------------------------------------------

    def authorize_url(self, state: str, code_challenge: str, redirect_uri: str) -> str:
        query = urlencode(
            {
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.settings.scopes,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
                "allow_signup": "false",
            }
        )
        return f"{self.web_url}/login/oauth/authorize?{query}"

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> TokenGrant:
        body = await self._token_request(
            {
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        )
        self._raise_oauth_error(body, "exchanging the authorization code")
        return TokenGrant.from_json(body)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        body = await self._token_request(
            {
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            }
        )
        if body.get("error") == "bad_refresh_token":
            raise UpstreamUnauthorized(
                "GitHub no longer accepts the stored refresh token; connect GitHub again."
            )
        self._raise_oauth_error(body, "refreshing the token")
        return TokenGrant.from_json(body)

    async def start_device_flow(self) -> dict[str, Any]:
        response = await self._send(
            "POST",
            f"{self.web_url}/login/device/code",
            data={"client_id": self.settings.client_id, "scope": self.settings.scopes},
            headers={"Accept": "application/json"},
        )
        body = _json(response)
        if response.status_code >= 400 or "device_code" not in body:
            self._raise_oauth_error(body, "starting the device flow")
            raise Upstream(f"GitHub did not start the device flow (HTTP {response.status_code}).")
        return body

    async def poll_device_flow(self, device_code: str) -> TokenGrant:
        body = await self._token_request(
            {
                "client_id": self.settings.client_id,
                "device_code": device_code,
                "grant_type": DEVICE_GRANT,
            }
        )
        error = body.get("error")
        if error in ("authorization_pending", "slow_down"):
            raise DevicePending(error, body.get("interval"))
        if error in ("expired_token", "access_denied", "incorrect_device_code"):
            raise DeviceFlowEnded("denied" if error == "access_denied" else "expired")
        self._raise_oauth_error(body, "finishing the device flow")
        return TokenGrant.from_json(body)

    async def _token_request(self, data: dict[str, str]) -> dict[str, Any]:
        response = await self._send(
            "POST",
            f"{self.web_url}/login/oauth/access_token",
            data=data,
            headers={"Accept": "application/json"},
        )
        if response.status_code >= 500:
            raise Upstream(f"GitHub's token endpoint failed (HTTP {response.status_code}).")
        return _json(response)

    @staticmethod
    def _raise_oauth_error(body: dict[str, Any], doing: str) -> None:
        error = body.get("error")
        if not error and "access_token" in body:
            return
        description = body.get("error_description") or error or "no token in the answer"
        if error in ("bad_verification_code", "incorrect_device_code"):
            raise InvalidInput(
                f"GitHub refused the authorization ({description}); connect again.",
                details={"github_error": error},
            )
        if error == "unsupported_grant_type" or error == "device_flow_disabled":
            raise Upstream(
                f"GitHub refused {doing}: {description}. Enable the device flow in the OAuth "
                "app's settings.",
                details={"github_error": error},
            )
        raise Upstream(f"GitHub refused {doing}: {description}", details={"github_error": error})

    # -- REST API ------------------------------------------------------------------------------

    async def user(self, token: str) -> dict[str, Any]:
        return _json(await self._api("GET", "/user", token))

    async def repos(self, token: str, page: int, per_page: int) -> tuple[list[dict], int | None]:
        """One page of the repositories the token's user can access, and the next page
        number from GitHub's ``Link`` header (None on the last page)."""
        response = await self._api(
            "GET",
            "/user/repos",
            token,
            params={"per_page": per_page, "page": page, "sort": "updated"},
        )
        next_url = _links(response.headers.get("Link", "")).get("next")
        next_page = None
        if next_url:
            pages = parse_qs(urlparse(next_url).query).get("page")
            next_page = int(pages[0]) if pages and digits(pages[0]) else None
        return _json(response), next_page

    async def create_pull(
        self, token: str, full_name: str, title: str, body: str, head: str, base: str
    ) -> dict[str, Any]:
        response = await self._api(
            "POST",
            f"/repos/{full_name}/pulls",
            token,
            json={"title": title, "body": body, "head": head, "base": base},
        )
        return _json(response)

    async def _api(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        response = await self._send(
            method,
            f"{self.settings.api_url.rstrip('/')}{path}",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            **kw,
        )
        if response.status_code >= 400:
            raise api_error(response)
        return response

    async def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            return await self.http.request(method, url, **kw)
        except httpx.TimeoutException as e:
            raise Upstream("GitHub did not answer in time; try again.") from e
        except httpx.HTTPError as e:
            raise Upstream(f"GitHub could not be reached ({type(e).__name__}).") from e


def api_error(response: httpx.Response) -> Exception:
    """A GitHub REST error response -> the matching ``errors.py`` error."""
    body = _json(response)
    message = body.get("message") if isinstance(body, dict) else None
    message = message or f"HTTP {response.status_code}"
    status = response.status_code
    headers = response.headers
    if status in (403, 429) and (
        headers.get("X-RateLimit-Remaining") == "0" or "rate limit" in message.lower()
    ):
        reset = float(headers.get("X-RateLimit-Reset") or time.time() + 60)
        retry = headers.get("Retry-After")
        return UpstreamRateLimited(
            f"GitHub's rate limit is used up ({message}); it resets at "
            f"{time.strftime('%H:%M:%S UTC', time.gmtime(reset))}.",
            limit=int(headers.get("X-RateLimit-Limit") or 0),
            remaining=0,
            reset=reset,
            retry_after=int(retry) if retry and digits(retry) else int(reset - time.time()),
        )
    if status == 401:
        return UpstreamUnauthorized(
            f"GitHub no longer accepts the stored token ({message}); connect GitHub again."
        )
    if status == 404:
        return NotFound(f"GitHub says: {message} (or the token may not see it).")
    if status == 422:
        details = [e.get("message") or e.get("code") for e in body.get("errors", []) if e]
        text = "; ".join(d for d in details if d)
        return UpstreamRejected(
            f"GitHub refused the request: {message}{': ' + text if text else ''}.",
            details={"github_errors": body.get("errors", [])},
        )
    if status == 403:
        return Forbidden(f"GitHub refused the request: {message}.")
    return Upstream(f"GitHub failed: {message} (HTTP {status}).")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in _LINK.findall(header)}
