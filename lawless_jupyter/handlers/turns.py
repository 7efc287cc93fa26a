"""A session's turns as checkpoints: list them, rewind to before one, fork from one."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import EXECUTE, LawlessHandler
from .idempotency import idempotent


class TurnsHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        self.reply(await self.lawless.rewind.list(self.identity.user_id, session_id))


class RewindHandler(LawlessHandler):
    auth_actions = {"POST": EXECUTE}  # rewrites the worktree Claude works in

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str) -> None:
        body = self.json_body("turn")
        result = await self.lawless.rewind.rewind(
            self.identity.user_id, session_id, body.get("turn")
        )
        self.reply(result)


class ForkHandler(LawlessHandler):
    auth_actions = {"POST": EXECUTE}  # git worktree add runs the repo's hooks

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str) -> None:
        body = self.json_body("name", "turn")
        result = await self.lawless.rewind.fork(
            self.identity.user_id, session_id, body.get("name"), body.get("turn")
        )
        self.reply(result, status=201)
