"""Terminals in a session's worktree (Jupyter's own terminals) and their stored output."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..errors import Forbidden
from .base import EXECUTE, LawlessHandler
from .idempotency import idempotent


class TerminalsBase(LawlessHandler):
    def check_terminal_permission(self) -> None:
        """A session terminal is a Jupyter terminal: the user must be allowed those too."""
        if not self.authorizer.is_authorized(self, self.current_user, "execute", "terminals"):
            raise Forbidden("You are not allowed to use terminals on this server.")

    async def authorize_action(self) -> None:
        await super().authorize_action()
        if self.request.method == "POST":  # also for a session on a remote worker
            self.check_terminal_permission()


class SessionTerminalsHandler(TerminalsBase):
    auth_actions = {"POST": EXECUTE}  # a shell in the worktree

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        terminals = await self.lawless.terminals.list(self.identity.user_id, session_id)
        self.reply({"terminals": terminals})

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str) -> None:
        self.json_body()  # no fields, but refuse junk
        self.check_terminal_permission()
        terminal = await self.lawless.terminals.create(self.identity.user_id, session_id)
        self.reply({"terminal": terminal}, status=201)


class SessionTerminalHandler(TerminalsBase):
    @web.authenticated
    @authorized
    async def delete(self, session_id: str, name: str) -> None:
        terminal = await self.lawless.terminals.close(self.identity.user_id, session_id, name)
        self.reply({"terminal": terminal})


class TerminalOutputHandler(TerminalsBase):
    @web.authenticated
    @authorized
    async def get(self, session_id: str, name: str) -> None:
        self.reply(await self.lawless.terminals.output(self.identity.user_id, session_id, name))


class TerminalConfigHandler(TerminalsBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        base_url = self.settings.get("base_url", "/")
        self.reply(
            {
                "available": bool(self.settings.get("terminals_available")),
                "websocket_url": url_path_join(base_url, "terminals/websocket/{name}"),
                "keepalive_interval": self.lawless.terminal_keepalive_interval,
                "max_per_user": self.lawless.max_terminals_per_user,
            }
        )
