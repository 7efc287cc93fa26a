"""How long each event-loop callback held the loop, without counting CPU contention.

A callback's wall time on a busy shared machine includes the time its thread waited for a
CPU, which says nothing about our code. Linux's ``/proc/thread-self/schedstat`` splits a
thread's time into "on a CPU" and "runnable, waiting for one"; what is left of the wall
time is time the thread slept inside the callback (a blocking wait, a lock, a sleep). So
``held = wall - waiting for a CPU`` is the time our code really kept the loop from running.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_SCHEDSTAT = Path("/proc/thread-self/schedstat")


def _runqueue_ns() -> int:
    return int(_SCHEDSTAT.read_text().split()[1])


@dataclass
class LoopHolds:
    threshold: float
    slow: list[tuple[float, str]] = field(default_factory=list)  # (seconds held, callback)

    def worst(self) -> float:
        return max((held for held, _ in self.slow), default=0.0)


def _name(handle: asyncio.events.Handle) -> str:
    """The callback, or for a task's step the task (its coroutine says where it was)."""
    owner = getattr(getattr(handle, "_callback", None), "__self__", None)
    return repr(owner if isinstance(owner, asyncio.Task) else handle)[:500]


@contextmanager
def loop_holds(threshold: float = 0.05):
    """Record every callback of the loop (in this thread) that held it for ``threshold``
    seconds or more, as (seconds, repr of the callback)."""
    holds = LoopHolds(threshold)
    original = asyncio.events.Handle._run

    def timed_run(handle: asyncio.events.Handle) -> None:
        started, waited = time.perf_counter(), _runqueue_ns()
        try:
            original(handle)
        finally:
            held = time.perf_counter() - started - (_runqueue_ns() - waited) / 1e9
            if held >= threshold:
                holds.slow.append((held, _name(handle)))

    asyncio.events.Handle._run = timed_run
    try:
        yield holds
    finally:
        asyncio.events.Handle._run = original
