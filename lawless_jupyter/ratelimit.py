"""Per-user rate limits over a sliding window (in memory: a restart forgives)."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import QuotaExceeded


class SlidingWindowLimit:
    """At most ``limit`` hits per user in any ``window`` seconds."""

    def __init__(self, name: str, limit: int, window: float = 3600.0):
        self.name = name
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, user_id: str, now: float) -> deque[float]:
        hits = self._hits[user_id]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
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
        self._hits[user_id].append(time.time())

    @contextmanager
    def reserve(self, user_id: str) -> Iterator[None]:
        """Count one use now (so two racing requests cannot both pass the last place);
        give it back if the work it was for does not start."""
        self.hit(user_id)
        try:
            yield
        except BaseException:
            hits = self._hits[user_id]
            if hits:
                hits.pop()
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
