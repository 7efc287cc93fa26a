"""One error vocabulary for the whole extension.

Services raise these; the base handler turns them into an HTTP status and the JSON body
``{"error": message, "code": code, "details": {...}}``. Nothing else reaches the client.
"""

from __future__ import annotations

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


class Upstream(LawlessError):
    status = 502
    code = "upstream_error"


class Unavailable(LawlessError):
    status = 503
    code = "unavailable"


class OperationTimeout(LawlessError):
    status = 504
    code = "timeout"
