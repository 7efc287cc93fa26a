"""Idempotency keys: a request sent again with the key of one already answered gets that
first answer instead of doing the work twice (a second session, a second commit).

Per user: the same key from someone else is a request of its own. The key is bound to what
was asked (method, path, body): the same key with another request is refused (422). A
repeat while the first request is still running waits for it and then gets its answer.

Kept: success (2xx) and refusals (4xx), which changed nothing and would be the same again,
except 429 (it says "later": the retry later runs). Not kept: 5xx (the work may not have
happened; a retry runs again), so is anything the request did not finish.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInput, KeyReused
from .store.idempotency import IdempotencyRepository, KeptAnswer

HEADER = "Idempotency-Key"
_MAX_KEY = 255


def check_key(key: str) -> str:
    """The key as given, if it is 1-255 visible ASCII characters (a UUID, say)."""
    if not 0 < len(key) <= _MAX_KEY or not all("!" <= c <= "~" for c in key):
        raise InvalidInput(
            f"{HEADER} must be 1 to {_MAX_KEY} visible ASCII characters (a UUID, say)."
        )
    return key


def fingerprint(method: str, target: str, body: bytes) -> str:
    """What a key is bound to: the method, the path with its query, the body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), target.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def keeps(status: int) -> bool:
    """Whether an answer with this status is the key's answer for good."""
    return 200 <= status < 300 or (400 <= status < 500 and status != 429)


@dataclass
class _InFlight:
    fingerprint: str
    over: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Claim:
    """The first request with a key: it runs, then ``keep`` (or ``release``) its answer."""

    def __init__(self, service: IdempotencyService, user_id: str, key: str, flight: _InFlight):
        self._service, self._user_id, self._key, self._flight = service, user_id, key, flight
        self.settled = False

    async def keep(self, status: int, body: dict[str, Any]) -> None:
        """Keep this answer for the key (when its status is one to keep), then let waiting
        repeats go on to read it."""
        if self.settled:
            return
        try:
            if keeps(status):
                answer = KeptAnswer(self._flight.fingerprint, status, body)
                await self._service.repository.keep(
                    self._user_id, self._key, answer, seconds=self._service.seconds
                )
        except Exception:  # the work is done and answered: only a retry would redo it
            self._service.logger.exception("The answer for an idempotency key was not kept")
        finally:
            self.release()

    def release(self) -> None:
        """Done with the key, whether or not an answer was kept."""
        if self.settled:
            return
        self.settled = True
        self._service.in_flight.pop((self._user_id, self._key), None)
        if not self._flight.over.done():
            self._flight.over.set_result(None)


class IdempotencyService:
    def __init__(
        self,
        repository: IdempotencyRepository,
        seconds: float,
        log: logging.Logger | None = None,
    ):
        self.repository = repository
        self.seconds = seconds
        self.logger = log or logging.getLogger(__name__)
        #: (user, key) -> the request with that key that is running now (in this process)
        self.in_flight: dict[tuple[str, str], _InFlight] = {}

    async def begin(self, user_id: str, key: str, fingerprint: str) -> KeptAnswer | Claim:
        """The answer kept for this key, or a ``Claim``: run the request and keep its answer.
        A repeat of a request still running waits for it first."""
        while True:
            flight = self.in_flight.get((user_id, key))
            if flight is not None:
                if flight.fingerprint != fingerprint:
                    raise _reused()
                await asyncio.shield(flight.over)  # a waiter that leaves must not end it
                continue
            kept = await self.repository.get(user_id, key)
            if (user_id, key) in self.in_flight:  # another one began while we read
                continue
            if kept is not None:
                if kept.fingerprint != fingerprint:
                    raise _reused()
                return kept
            flight = _InFlight(fingerprint)
            self.in_flight[(user_id, key)] = flight
            return Claim(self, user_id, key, flight)

    async def sweep(self) -> int:
        """Forget answers whose time is up (a periodic job)."""
        return await self.repository.sweep()


def _reused() -> KeyReused:
    return KeyReused(
        f"This {HEADER} was already used for a different request (another method, path or "
        "body). Use a new key for a new request.",
    )
