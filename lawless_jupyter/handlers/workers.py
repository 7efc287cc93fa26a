"""Workers: their health."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import LawlessHandler


class WorkersStatusHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.lawless.workers_registry.status_report())
