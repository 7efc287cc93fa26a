"""Connections to GitHub and Vercel: OAuth flows, tokens sealed in the vault, and what the
extension does with them (list and clone repositories, push, open pull requests, list Vercel
projects and deployments). Plain asyncio; knows nothing of HTTP handlers.

A token lives only in the vault (encrypted in SQLite), in memory while a request uses it,
and in the environment of the one git command that needs it: never in a URL, a log line, an
error message or a ``.git/config``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

from ..errors import Conflict, InvalidInput, NotConnected, NotFound, UpstreamUnauthorized
from ..store import Store
from ..vault import Vault, VaultError
from ..workspace import WorkspaceService
from .github import DeviceFlowEnded, DevicePending, GitHub, GitHubSettings, TokenGrant
from .vercel import Vercel

PROVIDERS = ("github", "vercel")
_FULL_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")


@dataclass(frozen=True)
class ConnectionSettings:
    github: GitHubSettings = field(default_factory=GitHubSettings)
    vercel_api_url: str = "https://api.vercel.com"
    hub_token_env: str = "GITHUB_ACCESS_TOKEN"  # a token JupyterHub hands the server
    hub_user: str | None = None  # the only user the hub's token belongs to
    timeout: float = 20.0
    flow_ttl: float = 600.0  # seconds a web flow's state stays valid
    refresh_margin: float = 300.0  # refresh an access token this long before it expires


class ConnectionsService:
    def __init__(
        self,
        store: Store,
        vault: Vault,
        workspace: WorkspaceService,
        settings: ConnectionSettings,
        log: logging.Logger | None = None,
        environ: Mapping[str, str] = os.environ,
    ):
        self.store = store
        self.vault = vault
        self.workspace = workspace
        self.settings = settings
        self.logger = log or logging.getLogger(__name__)
        self.environ = environ
        # one HTTP client for every call out (connection reuse, one timeout policy)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout))
        self.github = GitHub(settings.github, self.http)
        self.vercel = Vercel(settings.vercel_api_url, self.http)
        self._refresh_locks: dict[str, asyncio.Lock] = {}
        self._hub_account: str | None = None
        self._hub_retry_at = 0.0

    async def close(self) -> None:
        await self.http.aclose()

    async def reseal_all(self) -> int:
        """Re-encrypt every token sealed with an older vault key under the newest one (after
        a key rotation). A token that cannot be opened is left as it is and logged."""
        count = 0
        for row in await self.store.integrations_not_sealed_with(self.vault.current_key_id):
            try:
                sealed = self.vault.reseal(
                    row["secret"], user_id=row["user_id"], provider=row["provider"]
                )
            except VaultError as e:
                self.logger.warning("vault: %s", e.message)
                continue
            if sealed and await self.store.reseal_integration(
                row["user_id"], row["provider"], row["secret"], sealed, self.vault.current_key_id
            ):
                count += 1
        return count

    # -- status ----------------------------------------------------------------------------------

    async def status(self, user_id: str) -> dict[str, Any]:
        rows = {r["provider"]: r for r in await self.store.list_integrations(user_id)}
        providers = []
        for provider in PROVIDERS:
            row = rows.get(provider)
            entry: dict[str, Any] = {
                "provider": provider,
                "connected": row is not None,
                "source": "oauth" if provider == "github" else "token",
                "account": row["account"] if row else None,
                "scopes": row["scopes"] if row else None,
                "expires_at": row["expires_at"] if row else None,
                "connected_at": row["created_at"] if row else None,
            }
            if row is None:
                entry["source"] = None
                if provider == "github" and self._hub_token(user_id):
                    entry.update(connected=True, source="hub", account=await self._hub_login())
            providers.append(entry)
        return {
            "providers": providers,
            "github": {
                "oauth_configured": self.github.configured,
                "web_url": self.github.web_url,
            },
        }

    async def disconnect(self, user_id: str, provider: str) -> dict[str, Any]:
        if provider not in PROVIDERS:
            raise NotFound(f"There is no provider {provider[:40]!r}; use one of {PROVIDERS}.")
        erased = await self.store.delete_integration(user_id, provider)
        if erased:
            await self.store.record_activity(user_id, "connection.removed", {"provider": provider})
        hub = provider == "github" and self._hub_token(user_id) is not None
        return {"provider": provider, "disconnected": erased, "hub_token_in_use": hub}

    def _hub_token(self, user_id: str) -> str | None:
        if self.settings.hub_user is not None and user_id != self.settings.hub_user:
            return None
        return self.environ.get(self.settings.hub_token_env) or None

    async def _hub_login(self) -> str | None:
        """Whose the hub's token is (asked once; after a failure, again in 5 minutes, so a
        status request does not wait on an unreachable GitHub every time)."""
        if self._hub_account is None and time.monotonic() >= self._hub_retry_at:
            token = self.environ.get(self.settings.hub_token_env)
            try:
                self._hub_account = (await self.github.user(token))["login"]
            except Exception as e:  # status must answer even when GitHub does not
                self._hub_retry_at = time.monotonic() + 300
                self.logger.info("GitHub did not say whose the hub's token is: %s", e)
        return self._hub_account

    # -- GitHub: OAuth web flow --------------------------------------------------------------

    def _need_oauth_app(self) -> None:
        if not self.github.configured:
            raise NotConnected(
                "No GitHub OAuth app is configured on this server: the administrator sets "
                "LawlessApp.github_client_id (and github_client_secret); see the README."
            )

    async def begin_web_flow(self, user_id: str, redirect_uri: str, return_to: str) -> str:
        """A new ``state`` and PKCE verifier for ``user_id``; returns GitHub's authorize URL."""
        self._need_oauth_app()
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        await self.store.add_oauth_flow(
            {
                "id": _digest(state),
                "user_id": user_id,
                "provider": "github",
                "kind": "web",
                "secret": self.vault.seal(verifier, user_id=user_id, provider="github-flow"),
                "redirect_to": return_to,
                "expires_at": time.time() + self.settings.flow_ttl,
            }
        )
        return self.github.authorize_url(state, challenge, redirect_uri)

    async def finish_web_flow(self, user_id: str, state: str, code: str, redirect_uri: str) -> str:
        """Check ``state`` (this user's, unused, not expired; it is used up now), exchange
        ``code`` and store the token. Returns where to send the browser back to."""
        flow = await self.store.take_oauth_flow(_digest(state), user_id, "github", "web")
        if flow is None:
            raise InvalidInput(
                "This GitHub sign-in is not valid any more (the link expired, was already "
                "used, or was started by someone else). Start connecting GitHub again."
            )
        verifier = self.vault.open(flow["secret"], user_id=user_id, provider="github-flow")
        grant = await self.github.exchange_code(code, verifier, redirect_uri)
        await self._store_github(user_id, grant)
        return flow["redirect_to"]

    async def cancel_web_flow(self, user_id: str, state: str) -> None:
        """The person declined at GitHub: the state is used up."""
        await self.store.take_oauth_flow(_digest(state), user_id, "github", "web")

    # -- GitHub: device flow -----------------------------------------------------------------

    async def begin_device_flow(self, user_id: str) -> dict[str, Any]:
        self._need_oauth_app()
        started = await self.github.start_device_flow()
        device_id = secrets.token_urlsafe(24)
        interval = float(started.get("interval") or 5)
        expires_in = float(started.get("expires_in") or 900)
        await self.store.add_oauth_flow(
            {
                "id": device_id,
                "user_id": user_id,
                "provider": "github",
                "kind": "device",
                "secret": self.vault.seal(
                    started["device_code"], user_id=user_id, provider="github-flow"
                ),
                "poll_interval": interval,
                "expires_at": time.time() + expires_in,
            }
        )
        return {
            "device_id": device_id,
            "user_code": started["user_code"],
            "verification_uri": started["verification_uri"],
            "interval": interval,
            "expires_in": expires_in,
        }

    async def poll_device_flow(self, user_id: str, device_id: object) -> dict[str, Any]:
        """Ask GitHub once whether the person entered the code. ``status`` is ``pending``
        (poll again after ``interval`` seconds), ``connected``, ``expired`` or ``denied``."""
        if not isinstance(device_id, str) or not device_id:
            raise InvalidInput("'device_id' is required: the id the device flow start gave.")
        flow = await self.store.get_oauth_flow(device_id, user_id, "github", "device")
        if flow is None:
            raise NotFound("There is no such device flow; start connecting GitHub again.")
        if flow["expires_at"] <= time.time():
            await self.store.take_oauth_flow(device_id, user_id, "github", "device")
            return {"status": "expired", "interval": flow["poll_interval"]}
        device_code = self.vault.open(flow["secret"], user_id=user_id, provider="github-flow")
        try:
            grant = await self.github.poll_device_flow(device_code)
        except DevicePending as pending:
            interval = flow["poll_interval"]
            if pending.reason == "slow_down":
                interval = float(pending.interval or interval + 5)
                await self.store.set_oauth_flow_interval(device_id, interval)
            return {"status": "pending", "interval": interval}
        except DeviceFlowEnded as ended:
            await self.store.take_oauth_flow(device_id, user_id, "github", "device")
            return {"status": ended.reason, "interval": flow["poll_interval"]}
        if await self.store.take_oauth_flow(device_id, user_id, "github", "device") is None:
            raise Conflict("This device flow was finished by another request already.")
        account = await self._store_github(user_id, grant)
        return {"status": "connected", "interval": flow["poll_interval"], "account": account}

    # -- GitHub: tokens --------------------------------------------------------------------------

    async def _store_github(self, user_id: str, grant: TokenGrant) -> str:
        user = await self.github.user(grant.access_token)
        await self._put(user_id, "github", grant, account=user["login"], account_id=user["id"])
        await self.store.record_activity(
            user_id, "connection.added", {"provider": "github", "account": user["login"]}
        )
        self.logger.info("GitHub connected for %s as %s", user_id, user["login"])
        return user["login"]

    async def _put(
        self,
        user_id: str,
        provider: str,
        grant: TokenGrant,
        *,
        account: str,
        account_id: Any,
        extra: dict[str, Any] | None = None,
    ) -> None:
        secret = json.dumps(
            {"access_token": grant.access_token, "refresh_token": grant.refresh_token}
        )
        await self.store.put_integration(
            {
                "user_id": user_id,
                "provider": provider,
                "account": account,
                "account_id": str(account_id),
                "scopes": grant.scopes,
                "secret": self.vault.seal(secret, user_id=user_id, provider=provider),
                "key_id": self.vault.current_key_id,
                "expires_at": grant.expires_at,
                "refresh_expires_at": grant.refresh_expires_at,
                "extra": json.dumps(extra) if extra else None,
            }
        )

    async def _secrets(self, user_id: str, provider: str) -> tuple[dict[str, Any], dict]:
        row = await self.store.get_integration(user_id, provider)
        if row is None:
            raise NotConnected(
                f"{provider.capitalize()} is not connected; connect it in the Connections "
                "section of the Lawless panel."
            )
        return row, json.loads(self.vault.open(row["secret"], user_id=user_id, provider=provider))

    async def github_token_or_none(self, user_id: str) -> str | None:
        """The token to forward to a worker with this user's request, if there is one."""
        try:
            return await self.github_token(user_id)
        except NotConnected:
            return None

    async def github_token(self, user_id: str) -> str:
        """The user's GitHub access token, refreshed first when it expires soon; else the
        token the hub handed the server; else ``NotConnected``."""
        if await self.store.get_integration(user_id, "github") is None:
            hub = self._hub_token(user_id)
            if hub:
                return hub
        async with self._refresh_locks.setdefault(user_id, asyncio.Lock()):
            row, tokens = await self._secrets(user_id, "github")
            expires_at = row["expires_at"]
            if expires_at is None or expires_at - time.time() > self.settings.refresh_margin:
                return tokens["access_token"]
            if not tokens.get("refresh_token"):
                raise UpstreamUnauthorized("The GitHub token expired; connect GitHub again.")
            grant = await self.github.refresh(tokens["refresh_token"])
            await self._put(
                user_id, "github", grant, account=row["account"], account_id=row["account_id"]
            )
            self.logger.info("GitHub token of %s refreshed", user_id)
            return grant.access_token

    def git_auth_env(self, token: str) -> dict[str, str]:
        """Environment that gives ``token`` to one git command, for the GitHub host only
        (``http.<url>.extraHeader`` through ``GIT_CONFIG_*``: never written to a config)."""
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{self.github.web_url}/.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }

    # -- GitHub: repositories, clone, push, pull requests ----------------------------------

    async def repos(self, user_id: str, page: int, per_page: int) -> dict[str, Any]:
        if not 1 <= per_page <= 100:
            raise InvalidInput("'per_page' must be between 1 and 100.")
        if page < 1:
            raise InvalidInput("'page' must be 1 or more.")
        token = await self.github_token(user_id)
        items, next_page = await self.github.repos(token, page, per_page)
        return {
            "repos": [
                {
                    "full_name": r["full_name"],
                    "name": r["name"],
                    "owner": r["owner"]["login"],
                    "private": r["private"],
                    "description": r.get("description"),
                    "default_branch": r.get("default_branch"),
                    "clone_url": r["clone_url"],
                    "html_url": r["html_url"],
                    "updated_at": r.get("updated_at"),
                }
                for r in items
            ],
            "next_page": next_page,
        }

    def full_name_of(self, url: str) -> str | None:
        """``owner/repo`` when ``url`` is an https remote on the GitHub host, else None."""
        prefix = self.github.web_url + "/"
        if not url.startswith(prefix) or "@" in urlparse(url).netloc:
            return None
        name = url[len(prefix) :].rstrip("/").removesuffix(".git")
        return name if _FULL_NAME.match(name) else None

    async def clone(
        self, user_id: str, full_name: object, clone_url: object, path: object
    ) -> dict[str, Any]:
        if (full_name is None) == (clone_url is None):
            raise InvalidInput("Give either 'full_name' (owner/repo) or 'clone_url'.")
        if clone_url is not None:
            name = self.full_name_of(clone_url) if isinstance(clone_url, str) else None
            if name is None:
                raise InvalidInput(
                    f"'clone_url' must be an https URL of a repository on "
                    f"{self.github.web_url} (the GitHub connection's host), without credentials."
                )
        else:
            if not isinstance(full_name, str) or not _FULL_NAME.match(full_name):
                raise InvalidInput("'full_name' must look like owner/repository.")
            name = full_name
        url = f"{self.github.web_url}/{name}.git"  # what origin is set to: no credentials
        token = await self.github_token(user_id)
        result = await self.workspace.clone(
            user_id, url, name.split("/")[1] if path is None else path, self.git_auth_env(token)
        )
        return {**result, "full_name": name}

    async def push(
        self, user_id: str, session_id: str, *, token: str | None = None
    ) -> dict[str, Any]:
        """Push the session's branch. ``token``: one a frontend server forwarded with the
        request (worker mode), used instead of this server's own connection."""
        full_name = await self._session_repo(user_id, session_id)
        token = token or await self.github_token(user_id)
        pushed = await self.workspace.push(user_id, session_id, self.git_auth_env(token))
        return {**pushed, "full_name": full_name}

    async def pull_request(
        self,
        user_id: str,
        session_id: str,
        title: object,
        body: object,
        *,
        token: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(title, str) or not title.strip():
            raise InvalidInput("A pull request needs a non-empty 'title'.")
        if body is not None and not isinstance(body, str):
            raise InvalidInput("'body' must be text.")
        session = await self.workspace.get(user_id, session_id)
        if _SHA.match(session["base"]):
            raise Conflict(
                "The session was started from a commit, not a branch, so there is no branch "
                "to open a pull request against."
            )
        pushed = await self.push(user_id, session_id, token=token)
        token = token or await self.github_token(user_id)
        pull = await self.github.create_pull(
            token, pushed["full_name"], title.strip(), body or "", pushed["branch"], session["base"]
        )
        await self.store.record_activity(
            user_id,
            "pull_request.opened",
            {"session_id": session_id, "url": pull["html_url"], "number": pull["number"]},
        )
        return {"url": pull["html_url"], "number": pull["number"], "push": pushed}

    async def _session_repo(self, user_id: str, session_id: str) -> str:
        origin = await self.workspace.origin_url(user_id, session_id)
        name = self.full_name_of(origin) if origin else None
        if name is None:
            raise Conflict(
                f"The session's repository has no https 'origin' on {self.github.web_url}, "
                "so it cannot be pushed with the GitHub connection.",
                details={"origin": origin},
            )
        return name

    # -- Vercel ----------------------------------------------------------------------------------

    async def connect_vercel(self, user_id: str, token: object, team_id: object) -> dict:
        if (
            not isinstance(token, str)
            or not token.strip()
            or len(token) > 500
            or not token.strip().isascii()
            or not token.strip().isprintable()
            or " " in token.strip()
        ):
            raise InvalidInput("'token' must be a Vercel access token (one word, no spaces).")
        if team_id is not None and (
            not isinstance(team_id, str) or not team_id.strip() or len(team_id) > 200
        ):
            raise InvalidInput("'team_id' must be a Vercel team id when given.")
        token = token.strip()
        try:
            user = await self.vercel.user(token)
        except UpstreamUnauthorized as e:
            raise InvalidInput(
                "Vercel does not accept this token; create one at vercel.com/account/tokens."
            ) from e
        grant = TokenGrant(token, None, None, None, "")
        account = user.get("username") or user.get("email") or user.get("id")
        extra = {"team_id": team_id} if team_id else None
        await self._put(
            user_id, "vercel", grant, account=account, account_id=user.get("id"), extra=extra
        )
        await self.store.record_activity(
            user_id, "connection.added", {"provider": "vercel", "account": account}
        )
        return {"provider": "vercel", "connected": True, "account": account}

    async def _vercel(self, user_id: str) -> tuple[str, str | None]:
        row, tokens = await self._secrets(user_id, "vercel")
        extra = json.loads(row["extra"]) if row["extra"] else {}
        return tokens["access_token"], extra.get("team_id")

    async def vercel_projects(self, user_id: str, limit: int) -> dict[str, Any]:
        token, team = await self._vercel(user_id)
        return {"projects": await self.vercel.projects(token, team, limit)}

    async def vercel_deployments(
        self, user_id: str, limit: int, project_id: str | None
    ) -> dict[str, Any]:
        token, team = await self._vercel(user_id)
        return {"deployments": await self.vercel.deployments(token, team, limit, project_id)}


def _digest(state: str) -> str:
    """The web flow's state is kept only as a hash: the table holds nothing to replay."""
    return hashlib.sha256(state.encode()).hexdigest()
