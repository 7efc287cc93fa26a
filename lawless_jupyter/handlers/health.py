"""Liveness and version."""

from __future__ import annotations

import asyncio
import json

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .base import LawlessHandler


class HealthHandler(LawlessHandler):
    """The one route open without login: it says the server answers, nothing more."""

    async def prepare(self) -> None:
        # Jupyter's own checks (host, CORS) but no quota, no body, no waiting for the store
        await APIHandler.prepare(self)

    @allow_unauthenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "ok"}))


class VersionHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        # psutil over this process and Claude's: in a thread, not on the loop
        self.reply(await asyncio.to_thread(self.lawless.version_info))
