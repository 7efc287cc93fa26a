"""A session's Jupyter kernel: show it, restart it, shut it down."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import EXECUTE, LawlessHandler


class SessionKernelHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        # {"kernel": null}: the session has none yet (it starts when code first runs)
        kernel = await self.lawless.kernels.describe(self.identity.user_id, session_id)
        self.reply({"kernel": kernel})

    @web.authenticated
    @authorized
    async def delete(self, session_id: str) -> None:
        kernel = await self.lawless.kernels.shut_down(self.identity.user_id, session_id)
        self.reply({"kernel": kernel, "shut_down": True})


class SessionKernelRestartHandler(LawlessHandler):
    auth_actions = {"POST": EXECUTE}  # starts a process that runs the kernel's start-up code

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        self.json_body()  # no fields, but refuse junk
        kernel = await self.lawless.kernels.restart(self.identity.user_id, session_id)
        self.reply({"kernel": kernel})
