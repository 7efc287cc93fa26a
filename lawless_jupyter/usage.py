"""What a person has done and may still do: their activity and their quotas
(``api/user/activity``, ``api/user/quota``)."""

from __future__ import annotations

from typing import Any

from .errors import InvalidInput
from .ratelimit import SlidingWindowLimit
from .store import Store

MAX_ACTIVITY = 1000


class UsageService:
    def __init__(
        self,
        store: Store,
        *,
        api_quota: SlidingWindowLimit,
        chat_quota: SlidingWindowLimit,
        max_sessions_per_repo: int,
    ):
        self.store = store
        self.api_quota = api_quota
        self.chat_quota = chat_quota
        self.max_sessions_per_repo = max_sessions_per_repo

    async def activity(self, user_id: str, limit: int = 100) -> dict[str, Any]:
        if not 1 <= limit <= MAX_ACTIVITY:
            raise InvalidInput(f"'limit' must be a whole number between 1 and {MAX_ACTIVITY}.")
        return {"activity": await self.store.activity.recent(user_id, limit=limit)}

    def quota(self, user_id: str) -> dict[str, Any]:
        return {
            "api_requests": self.api_quota.state(user_id),
            "chat_messages": self.chat_quota.state(user_id),
            "sessions_per_repo": {"limit": self.max_sessions_per_repo},
        }
