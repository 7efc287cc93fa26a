"""Per-user rate limits over a sliding window (in memory: a restart forgives)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import QuotaExceeded


class SlidingWindowLimit:
    """At most ``limit`` hits per user in any ``window`` seconds."""

    def __init__(self, name: str, limit: int, window: float = 3600.0):
        self.name = name
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, user_id: str, now: float) -> deque[float]:
        """The user's hits in the window; a user with none is not kept at all."""
        hits = self._hits.get(user_id)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[user_id]
        return hits

    def check(self, user_id: str) -> None:
        """Raise ``QuotaExceeded`` when one more use would be over the limit."""
        now = time.time()
        hits = self._recent(user_id, now)
        if len(hits) >= self.limit:
            reset = hits[0] + self.window
            raise QuotaExceeded(
                # when it resets is in the body's fields and Retry-After (the panel shows
                # it as a clock time); the sentence says what happened
                f"You have used all your {self.name} for this hour.",
                limit=self.limit,
                remaining=0,
                reset=reset,
                retry_after=int(reset - now) + 1,
                quota=self.name,
            )

    def hit(self, user_id: str) -> None:
        """Count one use, or raise ``QuotaExceeded`` (counting nothing) when over the limit."""
        self.check(user_id)
        now = time.time()
        if user_id not in self._hits:  # now and then: drop users whose window is empty
            for other in list(self._hits):
                self._recent(other, now)
        self._hits.setdefault(user_id, deque()).append(now)

    @contextmanager
    def reserve(self, user_id: str) -> Iterator[None]:
        """Count one use now (so two racing requests cannot both pass the last place);
        give it back if the work it was for does not start."""
        self.hit(user_id)
        try:
            yield
        except BaseException:
            hits = self._hits.get(user_id)
            if hits:
                hits.pop()
            if not hits:
                self._hits.pop(user_id, None)
            raise

    def state(self, user_id: str) -> dict[str, float | int]:
        now = time.time()
        hits = self._recent(user_id, now)
        reset = hits[0] + self.window if hits else now + self.window
        return {
            "limit": self.limit,
            "remaining": max(0, self.limit - len(hits)),
            "reset": int(reset),
            "window_seconds": int(self.window),
        }
