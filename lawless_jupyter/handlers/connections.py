"""Connections: GitHub (OAuth web and device flow, repositories, clone, push, pull request)
and Vercel (token, projects, deployments). Thin: the work is in ``connections/service.py``."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlparse

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..digits import digits
from ..errors import InvalidInput, LawlessError, NotFound, Unavailable
from .base import EXECUTE, LawlessHandler
from .idempotency import idempotent

CALLBACK_PATH = "lawless/api/auth/github/callback"


class ConnectionsHandler(LawlessHandler):
    @property
    def connections(self):
        service = self.lawless.connections
        if service is None:
            raise Unavailable(self.lawless.connections_error or "Connections are off.")
        return service

    def redirect_uri(self) -> str:
        configured = self.lawless.github_redirect_uri
        if configured:
            return configured
        return f"{self.request.protocol}://{self.request.host}{self.base_url}{CALLBACK_PATH}"

    def int_argument(self, name: str, default: int) -> int:
        value = self.get_query_argument(name, str(default))
        if not digits(value):
            raise InvalidInput(f"'{name}' must be a whole number.")
        return int(value)


class AuthStatusHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Which providers are connected and as whom; never a token."""
        self.reply(await self.connections.status(self.identity.user_id))


class ProviderAuthHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def get(self, provider: str) -> None:
        """Start GitHub's OAuth web flow: redirect to GitHub with a fresh state and PKCE."""
        if provider == "vercel":
            raise InvalidInput("Vercel is connected with a token: PUT api/integrations/vercel.")
        if provider != "github":
            raise NotFound(f"There is no provider {provider[:40]!r}; use github or vercel.")
        return_to = self.get_query_argument("next", None) or f"{self.base_url}lab"
        parsed = urlparse(return_to)
        if (
            parsed.scheme
            or parsed.netloc
            or not return_to.startswith(self.base_url)
            or "\\" in return_to
            or return_to.startswith("//")
        ):
            raise InvalidInput("'next' must be a path of this Jupyter server.")
        url = await self.connections.begin_web_flow(
            self.identity.user_id, self.redirect_uri(), return_to
        )
        self.redirect(url)

    @web.authenticated
    @authorized
    async def delete(self, provider: str) -> None:
        """Disconnect: the stored token is erased."""
        self.reply(await self.connections.disconnect(self.identity.user_id, provider))


class GitHubCallbackHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Where GitHub sends the browser back: check the state, exchange the code, store
        the token, then back into JupyterLab."""
        state = self.get_query_argument("state", "")
        code = self.get_query_argument("code", "")
        denied = self.get_query_argument("error", "")
        if not state:
            raise InvalidInput("The GitHub callback has no 'state'; start connecting again.")
        if denied:
            await self.connections.cancel_web_flow(self.identity.user_id, state)
            raise InvalidInput(
                "GitHub did not authorize the connection "
                f"({self.get_query_argument('error_description', denied)[:200]})."
            )
        if not code:
            raise InvalidInput("The GitHub callback has no 'code'; start connecting again.")
        return_to = await self.connections.finish_web_flow(
            self.identity.user_id, state, code, self.redirect_uri()
        )
        self.redirect(return_to)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A browser (the sign-in popup) gets a short page saying what went wrong; API
        clients get the usual JSON."""
        if "text/html" not in self.request.headers.get("Accept", ""):
            return super().write_error(status_code, **kwargs)
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.message if isinstance(exc, LawlessError) else "Something went wrong."
        self.set_status(getattr(exc, "status", status_code))
        self.finish(
            "<!doctype html><meta charset=utf-8><title>GitHub not connected</title>"
            "<body style='font-family: sans-serif; margin: 2em'>"
            "<h1>GitHub was not connected</h1>"
            f"<p>{html.escape(message)}</p>"
            "<p>Close this window and try again from the Connections section.</p>",
            set_content_type="text/html; charset=utf-8",
        )


class GitHubDeviceHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Start GitHub's device flow: a code for the person to enter at GitHub."""
        self.json_body()
        self.reply(await self.connections.begin_device_flow(self.identity.user_id), status=201)


class GitHubDevicePollHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Ask once whether the person entered the code (poll every ``interval`` seconds)."""
        body = self.json_body("device_id")
        self.reply(
            await self.connections.poll_device_flow(self.identity.user_id, body.get("device_id"))
        )


class GitHubReposHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        page = self.int_argument("page", 1)
        per_page = self.int_argument("per_page", 50)
        self.reply(await self.connections.repos(self.identity.user_id, page, per_page))


class GitHubCloneHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    @idempotent
    async def post(self) -> None:
        body = self.json_body("full_name", "clone_url", "path")
        result = await self.connections.clone(
            self.identity.user_id, body.get("full_name"), body.get("clone_url"), body.get("path")
        )
        self.reply(result, status=201)


class GitPushHandler(ConnectionsHandler):
    auth_actions = {"POST": EXECUTE}  # git push runs the pre-push hook

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str) -> None:
        self.json_body()
        pushed = await self.connections.push(
            self.identity.user_id, session_id, token=self.forwarded_github_token()
        )
        self.reply({"push": pushed})


class PullRequestHandler(ConnectionsHandler):
    auth_actions = {"POST": EXECUTE}  # it pushes first (pre-push hook)

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str) -> None:
        body = self.json_body("title", "body")
        result = await self.connections.pull_request(
            self.identity.user_id,
            session_id,
            body.get("title"),
            body.get("body"),
            token=self.forwarded_github_token(),
        )
        self.reply({"pull_request": result}, status=201)


class VercelHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def put(self) -> None:
        """Store a Vercel token, once Vercel said whose it is."""
        body = self.json_body("token", "team_id")
        result = await self.connections.connect_vercel(
            self.identity.user_id, body.get("token"), body.get("team_id")
        )
        self.reply(result)


class VercelProjectsHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.int_argument("limit", 50)
        if not 1 <= limit <= 100:
            raise InvalidInput("'limit' must be between 1 and 100.")
        self.reply(await self.connections.vercel_projects(self.identity.user_id, limit))


class VercelDeploymentsHandler(ConnectionsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.int_argument("limit", 20)
        if not 1 <= limit <= 100:
            raise InvalidInput("'limit' must be between 1 and 100.")
        project = self.get_query_argument("project_id", None)
        self.reply(await self.connections.vercel_deployments(self.identity.user_id, limit, project))
