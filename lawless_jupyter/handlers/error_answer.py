"""The one JSON error answer of every lawless route, REST or websocket:
``{"error": message, "code": code, "details": {...}}``, with ``Allow`` on a 405."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from tornado import web

from .. import metrics
from ..errors import LawlessError, QuotaExceeded

_METHODS = ("get", "post", "put", "delete", "patch")


def allowed_methods(handler_class: type[web.RequestHandler]) -> list[str]:
    """The HTTP methods a handler class answers (those it defines itself)."""
    return [
        method.upper()
        for method in _METHODS
        if getattr(handler_class, method) is not getattr(web.RequestHandler, method)
    ]


def error_body(status_code: int, exc: BaseException | None, reason: str) -> dict[str, Any]:
    if isinstance(exc, LawlessError):
        return exc.body()
    if isinstance(exc, web.HTTPError):
        message = exc.log_message or exc.reason or reason
        if exc.args and exc.log_message:
            with contextlib.suppress(TypeError, ValueError):
                message = exc.log_message % exc.args
        return {"error": message, "code": f"http_{status_code}", "details": {}}
    # never a stack trace to the client; it is in the server log
    return {
        "error": "Something went wrong on the server; the details are in its log.",
        "code": "internal_error",
        "details": {},
    }


def write_error_answer(handler: web.RequestHandler, status_code: int, **kwargs: Any) -> None:
    """What ``write_error`` writes: tornado's errors (a wrong method's 405 among them) and
    the project's typed errors in the one JSON shape."""
    exc = kwargs.get("exc_info", (None, None, None))[1]
    if isinstance(exc, LawlessError):
        handler.set_status(exc.status)
        if isinstance(exc, QuotaExceeded):
            handler.set_header("Retry-After", str(exc.retry_after))
            metrics.record_quota_rejection(exc.quota)
    if status_code == 405:  # RFC 9110: say which methods would have worked
        handler.set_header("Allow", ", ".join(allowed_methods(type(handler))))
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps(error_body(status_code, exc, handler._reason)))
