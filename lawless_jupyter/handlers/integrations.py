"""Integrations: the Supabase mirror's status."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import LawlessHandler


class SupabaseStatusHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Configured, reachable, outbox depth and age, parked rows, last error. Answers from
        what the sync task last saw: it never waits on Supabase. Never shows the key."""
        self.reply(await self.lawless.supabase_status())
