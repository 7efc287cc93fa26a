"""Waiting between tries: the one place the server decides how long (the Supabase mirror's
sync task, requests forwarded to a worker)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence

MAX_RETRY_AFTER = 300.0  # a server asking for longer is asked again sooner


def exponential(
    failures: int, *, base: float, cap: float, retry_after: float | None = None
) -> float:
    """After ``failures`` failed tries in a row: ``base``, doubled per failure, at most
    ``cap``; half of it fixed and half random (jitter, so that many clients do not come back
    at once); never shorter than the server's ``Retry-After``."""
    ceiling = min(cap, base * 2 ** (failures - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


def retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (None when missing or not a number of seconds)."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    if seconds is None or seconds != seconds or seconds < 0:  # NaN, negative
        return None
    return min(seconds, MAX_RETRY_AFTER)


async def tries(delays: Sequence[float]) -> AsyncIterator[bool]:
    """One step per try, the first at once and each next after the next of ``delays``; each
    step says whether another try may follow (False: this is the last)."""
    for delay in delays:
        yield True
        await asyncio.sleep(delay)
    yield False
