"""Integrations: the Supabase mirror's status, and a retry of the rows it parked."""

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


class SupabaseRetryHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Put the rows Supabase refused back in the queue (after the cause was fixed, e.g.
        a missing migration applied) and wake the sync task."""
        self.json_body()  # takes no fields
        self.reply(await self.lawless.retry_parked())
