"""``@idempotent``: a POST that honours ``Idempotency-Key`` (``lawless_jupyter/idempotency.py``
says what is kept and for how long).

Without the header a request runs as usual. With it, the first request runs and its answer
is kept; a repeat gets that answer again (same status, same body) and runs nothing. A
handler whose answer is not one JSON body (the chat's event stream) keeps a small JSON
answer of its own with ``keep_answer`` and replays it in ``replay``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import LawlessError
from ..idempotency import HEADER, Claim, check_key, fingerprint
from ..store.idempotency import KeptAnswer


def idempotent(
    method: Callable[..., Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    @functools.wraps(method)
    async def run_once(self: Any, *args: Any, **kwargs: Any) -> None:
        key = self.request.headers.get(HEADER)
        if key is None:
            return await method(self, *args, **kwargs)
        request = self.request
        target = request.path + (f"?{request.query}" if request.query else "")
        answer = await self.lawless.idempotency.begin(
            self.identity.user_id,
            check_key(key),
            fingerprint(request.method, target, request.body or b""),
        )
        if isinstance(answer, KeptAnswer):
            self.set_header("Idempotent-Replayed", "true")
            return await self.replay(answer)
        self.idempotency_claim = answer
        try:
            await method(self, *args, **kwargs)
        except LawlessError as e:  # a refusal is the key's answer too (QuotaExceeded: not)
            await answer.keep(e.status, e.body())
            raise
        finally:
            await _settle(self, answer)

    run_once.honours_idempotency_key = True  # type: ignore[attr-defined]  # openapi test
    return run_once


async def _settle(handler: Any, claim: Claim) -> None:
    """Keep the JSON answer the handler wrote (``reply``), if it wrote one; anything else
    (an unexpected error: a 500) leaves the key free for a retry."""
    if handler.replied is not None:
        await claim.keep(*handler.replied)
    claim.release()
