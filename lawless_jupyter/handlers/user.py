"""Per-user data."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..digits import digits
from ..errors import InvalidInput
from .base import LawlessHandler


class ActivityHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.get_query_argument("limit", "100")
        if not digits(limit):
            raise InvalidInput("'limit' must be a whole number between 1 and 1000.")
        self.reply(await self.lawless.usage.activity(self.identity.user_id, int(limit)))


class QuotaHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(self.lawless.usage.quota(self.identity.user_id))


class PreferencesHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.lawless.preferences.get(self.identity.user_id))

    @web.authenticated
    @authorized
    async def put(self) -> None:
        """Replace the whole document: ``{"preferences": {...}}``."""
        body = self.json_body("preferences")
        if "preferences" not in body:
            raise InvalidInput('Send the preferences as {"preferences": {...}}.')
        self.reply(await self.lawless.preferences.put(self.identity.user_id, body["preferences"]))
