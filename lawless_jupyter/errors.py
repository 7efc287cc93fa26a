"""One error vocabulary for the whole extension.

Services raise these; the base handler turns them into an HTTP status and the JSON body
``{"error": message, "code": code, "details": {...}}``. Nothing else reaches the client.
"""

from __future__ import annotations

import errno
from typing import Any


class LawlessError(Exception):
    """Base of every error a person may see. ``message`` is written for a person."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, "details": self.details}


class InvalidInput(LawlessError):
    status = 400
    code = "invalid_input"


class Forbidden(LawlessError):
    status = 403
    code = "forbidden"


class NotFound(LawlessError):
    status = 404
    code = "not_found"


class Conflict(LawlessError):
    status = 409
    code = "conflict"


class KeyReused(LawlessError):
    """An ``Idempotency-Key`` sent again with a different request (method, path or body)."""

    status = 422
    code = "idempotency_key_reused"


class PayloadTooLarge(LawlessError):
    status = 413
    code = "payload_too_large"


class QuotaExceeded(LawlessError):
    """A quota or rate limit was hit; the body carries what a client needs to back off."""

    status = 429
    code = "quota_exceeded"

    def __init__(
        self,
        message: str,
        *,
        limit: int,
        remaining: int,
        reset: float,
        retry_after: int,
        quota: str = "",
    ):
        super().__init__(message)
        self.quota = quota  # which one, for monitoring
        self.limit = limit
        self.remaining = remaining
        self.reset = reset  # unix time when the quota frees up again (best estimate)
        self.retry_after = max(1, int(retry_after))

    def body(self) -> dict[str, Any]:
        return {
            "error": self.message,
            "code": self.code,
            "retryAfter": self.retry_after,
            "limit": self.limit,
            "remaining": self.remaining,
            "reset": int(self.reset),
            "details": self.details,
        }


class UpstreamRateLimited(QuotaExceeded):
    """An outside service (GitHub) says its rate limit is used up; ``reset`` is its own."""

    code = "upstream_rate_limited"


class Upstream(LawlessError):
    status = 502
    code = "upstream_error"


class UpstreamUnauthorized(LawlessError):
    """An outside service no longer accepts the stored token (expired or revoked)."""

    status = 401
    code = "upstream_unauthorized"


class UpstreamRejected(LawlessError):
    """An outside service refused the request as invalid (GitHub's 422), with its message."""

    status = 422
    code = "upstream_rejected"


class NotConnected(LawlessError):
    """The person has not connected the outside service this needs."""

    status = 409
    code = "not_connected"


class Unavailable(LawlessError):
    status = 503
    code = "unavailable"


class OperationTimeout(LawlessError):
    status = 504
    code = "timeout"


class StorageUnavailable(LawlessError):
    """The disk under the worktrees, a repository or the database is full or read-only."""

    status = 507
    code = "storage_unavailable"


_STORAGE_ERRNOS = {errno.ENOSPC: "full", errno.EDQUOT: "full", errno.EROFS: "read-only"}
_STORAGE_TEXTS = {
    "no space left on device": "full",
    "database or disk is full": "full",
    "disk quota exceeded": "full",
    "read-only file system": "read-only",
    "attempt to write a readonly database": "read-only",
}


def storage_problem(error: BaseException, where: str) -> StorageUnavailable | None:
    """``StorageUnavailable`` when ``error`` says a disk is full or read-only, else None."""
    kind = _STORAGE_ERRNOS.get(getattr(error, "errno", None) or -1)
    if kind is None:
        text = f"{error} {getattr(error, 'stderr', '') or ''}".lower()
        kind = next((k for t, k in _STORAGE_TEXTS.items() if t in text), None)
    if kind is None:
        return None
    advice = "free some space" if kind == "full" else "make it writable"
    return StorageUnavailable(
        f"The disk holding {where} is {kind}; nothing was changed. Ask the administrator to "
        f"{advice}, then try again.",
        details={"storage": kind},
    )
