"""The server's periodic jobs: one asyncio task per job, repeated until cancelled. A job
that fails is logged and tried again at its next turn (housekeeping must never die)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any


def every(
    seconds: float,
    job: Callable[[], Awaitable[Any]],
    log: logging.Logger,
    what: str,
    *,
    wait_first: bool = False,
) -> asyncio.Task[None]:
    """Run ``job`` every ``seconds`` (first at once, or after one wait with ``wait_first``)."""

    async def loop() -> None:
        if wait_first:
            await asyncio.sleep(seconds)
        while True:
            try:
                await job()
            except Exception:
                log.exception("%s failed", what)
            await asyncio.sleep(seconds)

    return asyncio.ensure_future(loop())
