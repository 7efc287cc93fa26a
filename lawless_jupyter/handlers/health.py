"""Liveness and version."""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from .base import LawlessHandler


class HealthHandler(LawlessHandler):
    """The one route open without login: it says the server answers, nothing more."""

    async def prepare(self) -> None:  # no login, no body, no waiting for the store
        return None

    @allow_unauthenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "ok"}))


class VersionHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(self.lawless.version_info())
