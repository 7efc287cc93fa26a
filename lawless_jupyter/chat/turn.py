"""A chat turn owned by the server: its numbered events, kept so any client can (re)attach.

The turn runs as a task of its own; HTTP requests only subscribe. ``follow(after)`` yields
every event with a sequence number above ``after`` (replay) and then the live ones, until
the turn is over.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChatEvent:
    seq: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.seq)


@dataclass
class Turn:
    conversation_id: str
    number: int  # the turn's place in the conversation, 1-based
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    events: list[ChatEvent] = field(default_factory=list)
    finished: bool = False
    cancelled: bool = False
    stop_reason: str | None = None  # said by its done event
    task: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.monotonic)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _over: asyncio.Future[None] | None = None  # done when the turn is, for a paced follower

    async def emit(self, data: dict[str, Any]) -> ChatEvent:
        """Append an event and wake every follower."""
        event = ChatEvent(len(self.events) + 1, data)
        async with self._changed:
            self.events.append(event)
            if data.get("type") == "done":
                self.finished = True
                self.stop_reason = data.get("stop_reason")
                if self._over is not None and not self._over.done():
                    self._over.set_result(None)
            self._changed.notify_all()
        return event

    async def follow(
        self, after: int = 0, pace: float | Callable[[], float] = 0.0
    ) -> AsyncIterator[list[ChatEvent]]:
        """Batches of the events after ``after``: what was already there (a replay), then
        whatever arrived by the time the follower woke up, until the turn is over. With
        ``pace`` (seconds, or a function asked before each batch), a batch comes at most
        every ``pace``: an event after a quiet spell comes at once, the ones that follow it
        closely wait and come together."""
        pace_now = pace if callable(pace) else lambda: pace
        position = max(0, after)
        last = float("-inf")  # when the last batch went
        while True:
            async with self._changed:
                seen = position
                await self._changed.wait_for(
                    lambda seen=seen: len(self.events) > seen or self.finished
                )
            wait = last + pace_now() - time.monotonic()
            if wait > 0 and not self.finished:  # the pace, cut short by the end of the turn
                if self._over is None:
                    self._over = asyncio.get_running_loop().create_future()
                await asyncio.wait([self._over], timeout=wait)
            fresh = self.events[position:]
            done = self.finished
            last = time.monotonic()
            if fresh:
                yield fresh
            position += len(fresh)
            if done and position >= len(self.events):
                return


def finished_turn(
    conversation_id: str, number: int, turn_id: str, events: list[dict[str, Any]]
) -> Turn:
    """A turn that is over, made of given events (a replay rebuilt from the history)."""
    turn = Turn(conversation_id, number, id=turn_id, finished=True)
    turn.events = [ChatEvent(seq, data) for seq, data in enumerate(events, 1)]
    return turn


class BeforeTools:
    """What a turn's tools wait for (its checkpoint, the git hook settings), started when
    the first of them is about to run: a turn that only answers runs none of it, and a
    turn's first text never shares the machine with it."""

    def __init__(self, starts: list[Callable[[], Awaitable[Any]]]):
        self._starts = starts
        self._ready: asyncio.Future[Any] | None = None

    def ready(self) -> asyncio.Future[Any]:
        """Start the work (once) and return its future; it fails when any of it failed."""
        if self._ready is None:
            self._ready = asyncio.gather(*(start() for start in self._starts))
            self._ready.add_done_callback(_take_error)  # logged where it failed
        return self._ready


def _take_error(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()
