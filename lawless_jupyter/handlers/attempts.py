"""Attempts (best-of-N): start one task in several sessions, follow them, keep one."""

from __future__ import annotations

import contextlib
import time

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..attempts.service import MAX_ATTEMPTS
from ..errors import Forbidden, InvalidInput, QuotaExceeded
from .base import EXECUTE, LawlessHandler
from .idempotency import idempotent

ENDED = ("deleted", "failed")


class AttemptsBase(LawlessHandler):
    """Every message an attempt sends to Claude counts against the chat quota."""

    def check_chat_quota(self, count: int) -> None:
        quota = self.lawless.chat_quota
        state = quota.state(self.identity.user_id)
        if state["remaining"] < count:
            raise QuotaExceeded(
                f"This needs {count} chat messages and you have {state['remaining']} left "
                "this hour.",
                limit=int(state["limit"]),
                remaining=int(state["remaining"]),
                reset=state["reset"],
                retry_after=int(state["reset"] - time.time()) + 1,
                quota=quota.name,
            )

    def count_chat_messages(self, count: int) -> None:
        for _ in range(count):
            with contextlib.suppress(QuotaExceeded):  # a racing request took the last place
                self.lawless.chat_quota.hit(self.identity.user_id)


class AttemptsHandler(AttemptsBase):
    auth_actions = {"POST": EXECUTE}  # worktrees (git hooks) and Claude Code turns

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply({"attempts": await self.lawless.attempts.list(self.identity.user_id)})

    @web.authenticated
    @authorized
    @idempotent
    async def post(self) -> None:
        body = self.json_body("repo", "base", "prompt", "n", "models", "check")
        if "repo" not in body:
            raise InvalidInput("'repo' is required: the path of a git repository under the root.")
        if body.get("check") is not None and not await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", "terminals")
        ):  # a check command is a shell command: it needs what a terminal needs
            raise Forbidden("You are not allowed to run commands on this server, so no 'check'.")
        user_id = self.identity.user_id
        n = body.get("n")
        self.check_chat_quota(n if isinstance(n, int) and 0 < n <= MAX_ATTEMPTS else 1)
        attempt = await self.lawless.attempts.create(
            user_id,
            body["repo"],
            body.get("base"),
            body.get("prompt"),
            n,
            body.get("models"),
            body.get("check"),
        )
        self.count_chat_messages(len(attempt["sessions"]))
        self.reply({"attempt": attempt}, status=201)


class AttemptHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, attempt_id: str) -> None:
        report = await self.lawless.attempts.report(self.identity.user_id, attempt_id)
        self.reply({"attempt": report})


class AttemptChatHandler(AttemptsBase):
    auth_actions = {"POST": EXECUTE}  # turns run Claude Code

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, attempt_id: str) -> None:
        body = self.json_body("message")
        self.check_chat_quota(1)
        report = await self.lawless.attempts.follow_up(
            self.identity.user_id, attempt_id, body.get("message")
        )
        self.count_chat_messages(sum(s["state"] not in ENDED for s in report["sessions"]))
        self.reply({"attempt": report})


class AttemptChooseHandler(LawlessHandler):
    auth_actions = {"POST": EXECUTE}  # deleting worktrees and branches runs git hooks

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, attempt_id: str) -> None:
        body = self.json_body("session", "drop_branches", "force")
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise InvalidInput("'force' must be true or false.")
        result = await self.lawless.attempts.choose(
            self.identity.user_id,
            attempt_id,
            body.get("session"),
            drop_branches=body.get("drop_branches", False),
            force=force,
        )
        self.reply(result)
