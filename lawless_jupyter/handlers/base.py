"""The base of every lawless handler: authentication, JSON in and out, one error shape."""

from __future__ import annotations

import json
import logging
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from ..digits import digits
from ..errors import Forbidden, InvalidInput, LawlessError, PayloadTooLarge
from ..idempotency import Claim
from ..store.idempotency import KeptAnswer
from ..worker_auth import ForwardedUser
from ..workers import GITHUB_TOKEN_HEADER
from .error_answer import write_error_answer
from .identity import Identity, identify
from .nodelay import send_at_once
from .proxy import ForwardMixin

AUTH_RESOURCE = "lawless"
#: the action a method that runs code on the server (Claude, a shell, git hooks) asks for
EXECUTE = "execute"


class LawlessHandler(ForwardMixin, ExtensionHandlerMixin, APIHandler):
    """Handlers stay thin: parse and check input, call one service, write the answer.
    A request for a session pinned to a remote worker is answered by that worker."""

    auth_resource = AUTH_RESOURCE
    #: HTTP method -> the action it asks for on ``lawless`` when it is not Jupyter's default
    #: (GET read, POST/PUT/DELETE write): ``execute`` where it runs code on the server, so a
    #: hub's read (or read and write) sharing of a server cannot start Claude, a terminal or
    #: a git hook. ``@authorized`` checks the default; ``prepare`` checks this one.
    auth_actions: dict[str, str] = {}

    @property
    def lawless(self):  # the LawlessApp, which holds the services
        return self.extensionapp

    async def prepare(self) -> None:
        await super().prepare()
        limit = self.lawless.max_body_bytes
        declared = self.request.headers.get("Content-Length")
        if (declared and digits(declared) and int(declared) > limit) or len(
            self.request.body or b""
        ) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if isinstance(self.current_user, ForwardedUser):
            # a frontend passes this answer on as it comes: the first SSE event must not wait
            # for the frontend's delayed ACK of the headers
            send_at_once(self.request)
        if self.current_user is not None:
            await self.authorize_action()
            if not self.identity.frontend:
                self.lawless.api_quota.hit(self.identity.user_id)
        await self.lawless.ready()
        await self.forward_if_pinned()

    def auth_action(self) -> str:
        method = self.request.method.upper()
        return self.auth_actions.get(method) or HTTP_METHOD_TO_AUTH_ACTION.get(method, "write")

    async def authorize_action(self) -> None:
        """403 unless the user may do this method's action on ``lawless`` (also for a
        session on a remote worker, whose request never reaches the decorated method)."""
        action = self.auth_action()
        allowed = self.authorizer.is_authorized(self, self.current_user, action, AUTH_RESOURCE)
        if not await ensure_async(allowed):
            raise Forbidden(f"You are not allowed to {action} {AUTH_RESOURCE} on this server.")

    def forwarded_github_token(self) -> str | None:
        """The person's GitHub token a frontend server sent along (worker mode only: from
        anyone else the header means nothing)."""
        if not isinstance(self.current_user, ForwardedUser):
            return None
        return self.request.headers.get(GITHUB_TOKEN_HEADER) or None

    @property
    def identity(self) -> Identity:
        return identify(self.current_user, self.lawless)

    def json_body(self, *allowed: str) -> dict[str, Any]:
        """The request body as a JSON object with only the ``allowed`` fields (an empty body
        counts as ``{}``)."""
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except (ValueError, RecursionError) as e:
            raise InvalidInput("The request body is not valid JSON.") from e
        if not isinstance(body, dict):
            raise InvalidInput("The request body must be a JSON object.")
        unknown = set(body) - set(allowed)
        if unknown:
            raise InvalidInput(
                f"Unknown fields: {', '.join(sorted(unknown))}.", details={"allowed": allowed}
            )
        return body

    def flag(self, name: str) -> bool:
        value = self.get_query_argument(name, "false").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise InvalidInput(f"'{name}' must be true or false.")
        return value in ("true", "1", "yes")

    def reply(self, body: dict[str, Any], status: int = 200) -> None:
        self.replied = (status, body)
        self.set_status(status)
        self.finish(json.dumps(body))

    # -- Idempotency-Key (handlers/idempotency.py) ---------------------------------------

    #: the JSON answer ``reply`` wrote, which ``@idempotent`` keeps for the request's key
    replied: tuple[int, dict[str, Any]] | None = None
    #: set by ``@idempotent`` while the first request with a key runs
    idempotency_claim: Claim | None = None

    async def keep_answer(self, status: int, body: dict[str, Any]) -> None:
        """For an answer that is not one JSON body (a stream): keep ``body`` as the key's
        answer now, before the stream ends, for ``replay`` to answer a repeat with."""
        if self.idempotency_claim is not None:
            await self.idempotency_claim.keep(status, body)

    async def replay(self, answer: KeptAnswer) -> None:
        """Answer a repeated key with the first request's answer."""
        self.reply(answer.body, answer.status)

    # -- errors ---------------------------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        write_error_answer(self, status_code, **kwargs)

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        if isinstance(value, LawlessError) and value.status < 500:
            logging.getLogger("lawless_jupyter").info(
                "%s %s -> %s %s",
                self.request.method,
                self.request.path,
                value.status,
                value.message,
            )
            return
        super().log_exception(typ, value, tb)
