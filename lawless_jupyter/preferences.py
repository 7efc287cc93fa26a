"""Each person's preferences: one small JSON document per user (``api/user/preferences``).

The server acts on two of them as the defaults of that person's chat turns (a turn that
names its own ``permission_mode`` or ``model`` still wins): ``permission_mode`` and
``model``; and on ``strip_notebook_outputs`` when that person commits. ``panel`` is the
panel's own corner, free-form. The document lives in SQLite and is mirrored to Supabase, so
it follows the person to another server: when this database has none yet, a reachable
Supabase is asked (briefly; a read never fails because of it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput, PayloadTooLarge
from .store import Store

#: (table, user id, row id) -> the row in Supabase, None if it has none; ConnectionError when
#: Supabase cannot say now
FetchRemote = Callable[[str, str, str], Awaitable[dict[str, Any] | None]]

MAX_BYTES = 16 * 1024  # the whole document, as JSON
KNOWN = ("permission_mode", "model", "panel", "strip_notebook_outputs")


@dataclass(frozen=True)
class PreferenceRules:
    permission_modes: tuple[str, ...]
    models: tuple[str, ...] = ()  # empty: any model name
    remote_read_timeout: float = 2.0


class PreferencesService:
    def __init__(
        self,
        store: Store,
        rules: PreferenceRules,
        fetch_remote: Callable[[], FetchRemote | None] = lambda: None,
    ):
        self.store = store
        self.rules = rules
        self._fetch_remote = fetch_remote  # the mirror's fetch, once the mirror runs
        self._asked_remote: set[str] = set()  # Supabase is asked once per person per process

    async def get(self, user_id: str) -> dict[str, Any]:
        row = await self.store.preferences.get(user_id)
        if row is None and user_id not in self._asked_remote:
            row = await self._adopt_remote(user_id)
        if row is None:
            return {"preferences": {}, "updated_at": None}
        return {"preferences": row["data"], "updated_at": row["updated_at"]}

    async def put(self, user_id: str, document: Any) -> dict[str, Any]:
        self.validate(document)
        row = await self.store.preferences.put(user_id, document)
        return {"preferences": row["data"], "updated_at": row["updated_at"]}

    async def chat_defaults(self, user_id: str) -> dict[str, Any]:
        """The ``permission_mode`` and ``model`` this person chose (missing: none chosen).
        Read from SQLite only: a turn's start never waits on Supabase (a ``get``, as the
        panel makes when it opens, has already brought another server's copy here)."""
        row = await self.store.preferences.get(user_id)
        prefs = row["data"] if row and isinstance(row["data"], dict) else {}
        # a document from Supabase was never checked by put(): a value this server would
        # refuse counts as not chosen
        defaults = {}
        for key in ("permission_mode", "model"):
            if key in prefs:
                try:
                    self.validate({key: prefs[key]})
                except InvalidInput:
                    continue
                defaults[key] = prefs[key]
        return defaults

    async def strip_notebook_outputs(self, user_id: str) -> bool:
        """Whether this person's commits strip notebook outputs (default: no). SQLite only,
        like ``chat_defaults``."""
        row = await self.store.preferences.get(user_id)
        prefs = row["data"] if row and isinstance(row["data"], dict) else {}
        return prefs.get("strip_notebook_outputs") is True

    def validate(self, document: Any) -> None:
        if not isinstance(document, dict):
            raise InvalidInput("Preferences must be a JSON object.")
        if len(json.dumps(document)) > MAX_BYTES:
            raise PayloadTooLarge(f"Preferences are limited to {MAX_BYTES} bytes of JSON.")
        unknown = sorted(set(document) - set(KNOWN))
        if unknown:
            raise InvalidInput(
                f"Unknown preferences: {', '.join(unknown)}.", details={"allowed": KNOWN}
            )
        mode = document.get("permission_mode")
        if "permission_mode" in document and mode not in self.rules.permission_modes:
            raise InvalidInput(
                f"'permission_mode' must be one of: {', '.join(self.rules.permission_modes)}.",
                details={"allowed": self.rules.permission_modes},
            )
        model = document.get("model")
        if "model" in document and (
            not isinstance(model, str)
            or not model
            or (self.rules.models and model not in self.rules.models)
        ):
            raise InvalidInput(
                f"The model {model!r} is not allowed here.", details={"allowed": self.rules.models}
            )
        if "panel" in document and not isinstance(document["panel"], dict):
            raise InvalidInput("'panel' must be a JSON object.")
        strip = document.get("strip_notebook_outputs")
        if "strip_notebook_outputs" in document and not isinstance(strip, bool):
            raise InvalidInput("'strip_notebook_outputs' must be true or false.")

    async def _adopt_remote(self, user_id: str) -> dict[str, Any] | None:
        fetch = self._fetch_remote()
        if fetch is None:
            return None
        try:
            remote = await asyncio.wait_for(
                fetch("preferences", user_id, user_id), self.rules.remote_read_timeout
            )
        except (asyncio.TimeoutError, ConnectionError):
            return None  # Supabase cannot say now: the next read asks again
        self._asked_remote.add(user_id)  # it answered: none there, or now kept here
        if remote is None:
            return None
        return await self.store.preferences.adopt(remote)
