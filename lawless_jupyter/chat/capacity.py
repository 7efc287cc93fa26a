"""A bound on live Claude Code processes (``max_live_claude``).

Each live conversation holds a Claude Code process of about 200 MB, so memory, not CPU,
caps how many a server can keep. A turn that needs a new process asks for a slot: under
the bound it goes at once; at the bound the least recently used idle process is closed to
make room (its conversation resumes from the session store on its next message); when
every process is busy the turn waits in line, first come first served, and says where it
stands.

The close is started at once and runs in the background. The turn that needed the room
only waits for the old process to be gone before starting its own (measured: ~55 ms after
stdin closes, against 0.4-0.8 s for the new one to start), so the bound holds at every
instant, and never more than ``EXIT_WAIT`` (a process that takes longer, say finishing
background work, no longer counts; the SDK ends it within 15 s).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from .service import LiveChat

#: what one Claude Code process costs with its children, rounded up from the 170-230 MB
#: measured (RSS; benchmarks/README.md, bench_density.py), for the default bound
BYTES_PER_PROCESS = 250 * 1024 * 1024
#: kept for the server itself, kernels and terminals: a quarter of memory, at least 1 GiB
MIN_RESERVE = 1024 * 1024 * 1024
#: seconds a turn waits at most for the process closed to make room for it to exit
EXIT_WAIT = 2.0


def default_limit() -> int:
    """How many Claude Code processes fit in this machine's memory (or its container's
    limit, when lower), after a reserve for everything else; at least 2."""
    memory = min(psutil.virtual_memory().total, _cgroup_limit() or 1 << 62)
    reserve = max(MIN_RESERVE, memory // 4)
    return max(2, (memory - reserve) // BYTES_PER_PROCESS)


def _cgroup_limit() -> int | None:
    """The container's memory limit (cgroup v2, else v1), None when there is none."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if value.isdigit() and int(value) < 1 << 60:  # v1 says "no limit" with a huge number
            return int(value)
    return None


class _Waiter:
    def __init__(self, key: str):
        self.key = key
        self.admitted = False
        self.changed = asyncio.Event()
        self.room: asyncio.Task[None] | None = None  # the close that made room for it


class ClaudeSlots:
    """Who may start a Claude Code process. ``limit`` None or 0: anyone, at once."""

    def __init__(
        self,
        limit: int | None,
        lives: Callable[[], Iterable[LiveChat]],
        evict: Callable[[LiveChat], asyncio.Task[None] | None],
    ):
        self.limit = limit or None
        self._lives = lives  # the conversations the chat service keeps
        # starts closing an idle one's process, detached at once (it no longer counts)
        self._evict = evict
        self._starting: set[str] = set()  # admitted turns, until they end
        self._queue: deque[_Waiter] = deque()
        self._making_room: set[str] = set()  # admitted, waiting for a closed one to exit

    @property
    def queued(self) -> int:
        return len(self._queue)

    def waiting(self, key: str) -> bool:
        """Whether ``key``'s turn waits here (nothing of it runs yet: cancel it freely)."""
        return key in self._making_room or any(w.key == key for w in self._queue)

    async def take(self, key: str, announce: Callable[[int], Awaitable[object]]) -> None:
        """Wait until ``key``'s turn may start a process. While it waits, ``announce`` is
        called with its place in line (1: next) each time that changes. Cancelling the
        wait gives the place up."""
        if self.limit is None:
            return
        waiter = _Waiter(key)
        self._queue.append(waiter)
        self.admit()  # at once when there is room and nobody before it
        try:
            shown = None
            while not waiter.admitted:
                place = self._queue.index(waiter) + 1
                if place != shown:
                    shown = place
                    await announce(place)
                    continue  # the line may have moved while that was sent
                waiter.changed.clear()
                await waiter.changed.wait()
        finally:
            if not waiter.admitted:
                self._queue.remove(waiter)
                self._tell_queue()
        if waiter.room is not None:  # the process closed for this one: let it go first
            self._making_room.add(key)
            try:
                await asyncio.wait({waiter.room}, timeout=EXIT_WAIT)
            finally:
                self._making_room.discard(key)

    def turn_ended(self, key: str) -> None:
        """A turn is over (its process, if any, is idle now): let the line move."""
        self._starting.discard(key)
        self.admit()

    def admit(self) -> None:
        """Give free (or freeable) slots to the turns in line, in order."""
        moved = False
        while self._queue and (room := self._make_room()):
            waiter = self._queue.popleft()
            waiter.admitted = True
            waiter.room = room if isinstance(room, asyncio.Task) else None
            self._starting.add(waiter.key)
            waiter.changed.set()
            moved = True
        if moved:
            self._tell_queue()

    def _tell_queue(self) -> None:
        for waiter in self._queue:
            waiter.changed.set()

    def _make_room(self) -> bool | asyncio.Task[None]:
        """Whether one more process fits, closing the least recently used idle one if
        that is what it takes (then the close, to wait for)."""
        assert self.limit is not None
        lives = list(self._lives())
        held = {live.key for live in lives if live.claude.client is not None} | self._starting
        if len(held) < self.limit:
            return True
        idle = [
            live
            for live in lives
            if live.claude.client is not None
            and not live.running
            and live.key not in self._starting
        ]
        if not idle:
            return False
        return self._evict(min(idle, key=lambda live: live.claude.last_used)) or True
