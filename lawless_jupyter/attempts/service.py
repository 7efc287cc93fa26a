"""Attempts (best-of-N): the same task in N workspace sessions at once, then keep the best.

Made through ``WorkspaceService.create`` and ``ChatService.start`` like any session and turn;
this service only records which sessions belong together and, when a turn of one of them
ends, what it did (diff summary against the base, cost, the check command's result).
Knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chat import ChatService
from ..chat.environment import allowed
from ..chat.turn import Turn
from ..errors import Conflict, InvalidInput, LawlessError, NotFound, QuotaExceeded
from ..store import Store
from ..workspace import SessionState, WorkspaceService
from ..workspace.refs import slugify, validate_ref
from .check import run_check

S = SessionState
MIN_ATTEMPTS, MAX_ATTEMPTS = 2, 5
MAX_CHECK_CHARS = 10_000
#: turn states of a session in an attempt (``running`` also while its session is connected)
RUNNING = "running"


@dataclass
class AttemptSettings:
    check_timeout: float = 300.0
    check_output_bytes: int = 8_000  # the tail of a check's output that is kept
    env: str = "inherit"  # like a terminal's: "inherit" or "allow_list"
    env_passthrough: tuple[str, ...] = ()
    nice: int = 0  # steps below the server a check runs (c.LawlessApp.claude_nice)


class AttemptService:
    def __init__(
        self,
        store: Store,
        workspace: WorkspaceService,
        chat: ChatService,
        settings: AttemptSettings,
        log: logging.Logger | None = None,
    ):
        self.store = store
        self.workspace = workspace
        self.chat = chat
        self.settings = settings
        self.logger = log or logging.getLogger(__name__)
        # after-turn work in progress (diff summary, check), by session
        self._after: dict[str, asyncio.Task[None]] = {}
        chat.on_session_turn_done.append(self._turn_done)

    # -- creating ---------------------------------------------------------------------------

    def _check_input(
        self, prompt: object, n: object, models: object, check: object
    ) -> tuple[int, list[str | None]]:
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidInput("'prompt' must be a non-empty string: the task for every attempt.")
        if not isinstance(n, int) or isinstance(n, bool) or not MIN_ATTEMPTS <= n <= MAX_ATTEMPTS:
            raise InvalidInput(
                f"'n' must be a whole number from {MIN_ATTEMPTS} to {MAX_ATTEMPTS}.",
                details={"n": n if isinstance(n, (int, float, str)) else None},
            )
        if models is None:
            chosen: list[str | None] = [None] * n
        else:
            if (
                not isinstance(models, list)
                or not 1 <= len(models) <= n
                or not all(isinstance(m, str) and m.strip() for m in models)
            ):
                raise InvalidInput(f"'models' must be a list of 1 to {n} model names.")
            chosen = [models[i % len(models)] for i in range(n)]  # round-robin
        for model in {m for m in chosen if m is not None} or {None}:
            self.chat.check_request(prompt, model)
        if check is not None and (
            not isinstance(check, str)
            or not check.strip()
            or len(check) > MAX_CHECK_CHARS
            or "\x00" in check
        ):
            raise InvalidInput(
                f"'check' must be a shell command of at most {MAX_CHECK_CHARS} characters."
            )
        return n, chosen

    async def create(
        self,
        user_id: str,
        repo: object,
        base: object,
        prompt: object,
        n: object,
        models: object = None,
        check: object = None,
    ) -> dict[str, Any]:
        """Make N sessions and start ``prompt`` in each. Bad input, or too many sessions for
        the repository, is refused before anything is made; a failure while making them
        removes what was made."""
        n, chosen = self._check_input(prompt, n, models, check)
        assert isinstance(prompt, str)
        if base is not None:
            base = validate_ref(base, "base ref")
        rel, repo_path = await asyncio.to_thread(self.workspace.resolve_repo, repo)
        limit = self.workspace.settings.max_sessions_per_repo
        live = await self.store.sessions.count_live(str(repo_path))
        if live + n > limit:
            raise QuotaExceeded(
                f"The repository {rel or '.'} has {live} workspace sessions; {n} attempts would "
                f"pass the limit of {limit}. Delete sessions or ask for fewer attempts.",
                limit=limit,
                remaining=max(0, limit - live),
                reset=time.time() + 60,
                retry_after=60,
                quota="sessions per repository",
            )
        attempt_id = str(uuid.uuid4())
        session_ids = [str(uuid.uuid4()) for _ in range(n)]
        slug = _slug(prompt)
        await self.store.attempts.create(
            {
                "id": attempt_id,
                "user_id": user_id,
                "repo": rel,
                "base": base,
                "prompt": prompt,
                "check_command": check,
            },
            [
                {
                    "session_id": sid,
                    "position": i + 1,
                    "model": chosen[i],
                    "check_state": "pending" if check else None,
                }
                for i, sid in enumerate(session_ids)
            ],
        )
        await self.chat.share_rules(session_ids)

        async def make(position: int, session_id: str) -> dict[str, Any]:
            # each turn starts as soon as its worktree is there, not after all of them
            name = f"{slug}-{attempt_id[:4]}-a{position + 1}"
            session = await self.workspace.create(user_id, rel, base, name, session_id=session_id)
            await self._start(user_id, session_id, prompt, chosen[position])
            return session

        made = await asyncio.gather(
            *(make(i, sid) for i, sid in enumerate(session_ids)), return_exceptions=True
        )
        failures = [m for m in made if isinstance(m, BaseException)]
        if failures:
            for m in made:
                if isinstance(m, dict):  # never handed out: its turn is stopped, it goes
                    await self.workspace.delete(user_id, m["id"], force=True)
                else:
                    await self.chat.forget_session(session_ids[made.index(m)])  # its rules
            await self.store.attempts.discard(attempt_id)
            raise failures[0]
        await self.store.attempts.update(attempt_id, state="open")
        await self.store.activity.record(
            user_id, "attempt.created", {"attempt_id": attempt_id, "repo": rel, "n": n}
        )
        return await self.report(user_id, attempt_id)

    async def _start(self, user_id: str, session_id: str, message: str, model: str | None) -> None:
        """Start a turn in one of the attempt's sessions; a refusal is recorded on that
        session (its siblings go on)."""
        row = await self.store.attempts.session(session_id)
        assert row is not None
        attempt = await self.store.attempts.get(row["attempt_id"])
        assert attempt is not None
        await self.store.attempts.update_session(
            session_id,
            turn_state=RUNNING,
            stop_reason=None,
            turn_error=None,
            check_state="pending" if attempt["check_command"] else None,
            check_exit=None,
            check_output=None,
        )
        try:
            await self.chat.start(user_id, session_id, message, model=model)
        except LawlessError as e:
            await self.store.attempts.update_session(
                session_id, turn_state="error", turn_error=e.message[:1000]
            )

    # -- reading -------------------------------------------------------------------------------

    async def _owned(self, user_id: str, attempt_id: str) -> dict[str, Any]:
        row = await self.store.attempts.get(attempt_id) if _is_uuid(attempt_id) else None
        if row is None or row["user_id"] != user_id:
            raise NotFound(f"There is no attempt {attempt_id[:64]!r}.")
        return row

    async def report(self, user_id: str, attempt_id: str) -> dict[str, Any]:
        attempt = await self._owned(user_id, attempt_id)
        sessions = []
        for row in await self.store.attempts.sessions(attempt_id):
            session = await self.store.get_session(row["session_id"])
            state = session["state"] if session else "failed"
            turn_state = RUNNING if state == S.CONNECTED else row["turn_state"]
            sessions.append(
                {
                    "position": row["position"],
                    "session_id": row["session_id"],
                    "name": session["name"] if session else None,
                    "branch": session["branch"] if session else None,
                    "worktree_path": session["worktree_path"] if session else None,
                    "state": state,
                    "model": row["model"],
                    "turn": {
                        "state": turn_state,
                        "stop_reason": None if turn_state == RUNNING else row["stop_reason"],
                        "error": row["turn_error"],
                        "turns": row["turns"],
                        # its approval requests go to its chat stream, like any session's
                        "waiting_for_approval": turn_state == RUNNING
                        and bool(self.chat.approvals.open_requests(row["session_id"])),
                    },
                    "diff": row["diff"],
                    "check": None
                    if row["check_state"] is None
                    else {
                        "state": row["check_state"],
                        "exit_code": row["check_exit"],
                        "output": row["check_output"],
                    },
                    "cost_usd": row["cost_usd"],
                    "duration_ms": row["duration_ms"],
                }
            )
        running = any(
            s["turn"]["state"] == RUNNING
            or (s["check"] or {}).get("state") == RUNNING
            # the turn is over and its check about to start
            or ((s["check"] or {}).get("state") == "pending" and s["turn"]["state"] == "finished")
            for s in sessions
        )
        return {
            "id": attempt["id"],
            "repo": attempt["repo"],
            "base": attempt["base"],
            "prompt": attempt["prompt"],
            "check": attempt["check_command"],
            "state": attempt["state"],
            "chosen_session": attempt["chosen_session"],
            "error": attempt["error"],
            "created_at": attempt["created_at"],
            "running": running,
            "sessions": sessions,
        }

    async def list(self, user_id: str) -> list[dict[str, Any]]:
        return [
            {
                "id": a["id"],
                "repo": a["repo"],
                "prompt": a["prompt"],
                "state": a["state"],
                "chosen_session": a["chosen_session"],
                "created_at": a["created_at"],
            }
            for a in await self.store.attempts.for_user(user_id)
        ]

    # -- follow-up and choosing ---------------------------------------------------------------

    async def _live_sessions(self, attempt: dict[str, Any]) -> list[dict[str, Any]]:
        """The attempt's sessions that still exist (not deleted or failed)."""
        rows = []
        for row in await self.store.attempts.sessions(attempt["id"]):
            session = await self.store.get_session(row["session_id"])
            if session is not None and session["state"] not in (S.DELETED, S.FAILED):
                rows.append({**row, "session": session})
        return rows

    async def follow_up(self, user_id: str, attempt_id: str, message: object) -> dict[str, Any]:
        """The same next message to every session of the attempt, at once; refused (409)
        while any of them still runs a turn, so all of them get it or none."""
        self.chat.check_request(message)
        assert isinstance(message, str)
        attempt = await self._owned(user_id, attempt_id)
        if attempt["state"] != "open":
            raise Conflict(f"The attempt is {attempt['state']}; follow-ups need an open one.")
        rows = await self._live_sessions(attempt)
        busy = [
            r["session_id"]
            for r in rows
            if r["session"]["state"] != S.ACTIVE or r["check_state"] == RUNNING
        ]
        if busy:
            raise Conflict(
                "A turn or a check is still running in some of the attempt's sessions; "
                "wait for them.",
                details={"sessions": busy},
            )
        await asyncio.gather(
            *(self._start(user_id, r["session_id"], message, r["model"]) for r in rows)
        )
        return await self.report(user_id, attempt_id)

    async def choose(
        self,
        user_id: str,
        attempt_id: str,
        session_id: object,
        *,
        drop_branches: object = False,
        force: bool = False,
    ) -> dict[str, Any]:
        """Keep one session, delete the others. Their branches stay unless
        ``drop_branches`` (and then only branches with nothing unmerged: those stay whatever
        is asked); a session with uncommitted work is refused (409, nothing deleted) unless
        ``force``."""
        if not isinstance(drop_branches, bool):
            raise InvalidInput("'drop_branches' must be true or false.")
        attempt = await self._owned(user_id, attempt_id)
        rows = await self._live_sessions(attempt)
        if not isinstance(session_id, str) or session_id not in {r["session_id"] for r in rows}:
            raise InvalidInput(
                "'session' must be the id of one of the attempt's sessions that still exists."
            )
        if attempt["state"] != "open":
            raise Conflict(f"The attempt is {attempt['state']}; one was chosen already.")
        others = [r for r in rows if r["session_id"] != session_id]
        busy = [r["session_id"] for r in others if r["session"]["state"] != S.ACTIVE]
        if busy:
            raise Conflict(
                "A turn is still running in other sessions of the attempt; wait or stop it.",
                details={"sessions": busy},
            )
        if not force:
            dirty = []
            for r in others:
                status = await self.workspace.status(user_id, r["session_id"])
                if not status["clean"]:
                    dirty.append(r["session_id"])
            if dirty:
                raise Conflict(
                    "Other sessions of the attempt have uncommitted changes; choosing would "
                    "delete them. Choose again with force to delete them anyway.",
                    details={"sessions": dirty},
                )
        await self._stop_after_turn([r["session_id"] for r in others])
        deleted = []
        for r in others:
            result = await self.workspace.delete(
                user_id,
                r["session_id"],
                force=force,
                keep_branch=not drop_branches,
                keep_unmerged=True,  # nothing unmerged goes silently, force or not
            )
            deleted.append({"session_id": r["session_id"], **_branch_result(result)})
        await self.store.attempts.update(attempt_id, state="chosen", chosen_session=session_id)
        await self.store.activity.record(
            user_id, "attempt.chosen", {"attempt_id": attempt_id, "session_id": session_id}
        )
        return {"attempt": await self.report(user_id, attempt_id), "deleted": deleted}

    # -- after a turn ------------------------------------------------------------------------

    def _turn_done(self, session_id: str, turn: Turn) -> None:
        """ChatService's hook: record the turn and run the check, in a task of our own
        (the chat's finishing must not wait for a check)."""
        task = asyncio.get_running_loop().create_task(self._after_turn(session_id, turn))
        self._after[session_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._after.get(session_id) is done:  # not a later turn's
                del self._after[session_id]

        task.add_done_callback(forget)

    async def _after_turn(self, session_id: str, turn: Turn) -> None:
        try:
            row = await self.store.attempts.session(session_id)
            if row is None:  # not part of an attempt
                return
            attempt = await self.store.attempts.get(row["attempt_id"])
            assert attempt is not None
            cost = sum(
                e.data.get("cost_usd") or 0.0  # the turn's own, not Claude Code's running total
                for e in turn.events
                if e.data.get("type") == "usage"
            )
            await self.store.attempts.finish_turn(
                session_id,
                stop_reason=turn.stop_reason,
                duration_ms=int((time.monotonic() - turn.started) * 1000),
                cost_usd=float(cost),
            )
            user_id = attempt["user_id"]
            try:
                # the file list alone: the summary needs no patch (one git process less)
                diff = await self.workspace.diff(user_id, session_id, "base", patch=False)
                await self.store.attempts.update_session(session_id, diff=_summary(diff))
            except LawlessError as e:  # deleted meanwhile: no summary this time
                self.logger.info("no diff summary for attempt session %s: %s", session_id, e)
            if attempt["check_command"]:
                await self._check(session_id, attempt["check_command"])
        except Exception:
            self.logger.exception("recording an attempt's turn failed (session %s)", session_id)
            with contextlib.suppress(Exception):  # the report must not say "running" forever
                await self.store.attempts.fail_check(session_id)

    async def _check(self, session_id: str, command: str) -> None:
        session = await self.store.get_session(session_id)
        if session is None or session["state"] not in (S.ACTIVE, S.CONNECTED):
            await self.store.attempts.update_session(session_id, check_state="skipped")
            return
        await self.store.attempts.update_session(session_id, check_state=RUNNING)
        try:
            result = await run_check(
                command,
                Path(session["worktree_path"]),
                timeout=self.settings.check_timeout,
                tail_bytes=self.settings.check_output_bytes,
                env=self._env(),
                nice=self.settings.nice,
            )
        except OSError as e:  # bash missing, the worktree gone
            await self.store.attempts.update_session(
                session_id, check_state="error", check_exit=None, check_output=str(e)[:1000]
            )
            return
        except asyncio.CancelledError:  # its session is being deleted, or the server stops
            await self.store.attempts.update_session(session_id, check_state="interrupted")
            raise
        await self.store.attempts.update_session(
            session_id,
            check_state="timed_out" if result.timed_out else "done",
            check_exit=result.exit_code,
            check_output=result.output,
        )

    def _env(self) -> dict[str, str]:
        """The check runs as a terminal of the session would: the server's environment, or
        only what Claude Code may see when terminals get that allow-list."""
        if self.settings.env != "allow_list":
            return dict(os.environ)
        passthrough = self.settings.env_passthrough
        return {k: v for k, v in os.environ.items() if allowed(k, os.environ, passthrough)}

    # -- restart -------------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """After a restart (and after the sessions' own reconciliation): an attempt that was
        still being made is removed down to its row (state failed, readable); turns and
        checks that were running are marked interrupted; siblings share their rules again."""
        for attempt in await self.store.attempts.in_states(["creating"]):
            for row in await self.store.attempts.sessions(attempt["id"]):
                session = await self.store.get_session(row["session_id"])
                if session is not None and session["state"] == S.ACTIVE:
                    try:  # never handed out: no turn ever ran in it
                        await self.workspace.delete(
                            attempt["user_id"], row["session_id"], force=True
                        )
                    except LawlessError as e:
                        self.logger.warning("attempt clean-up: %s", e.message)
            await self.store.attempts.update(
                attempt["id"],
                state="failed",
                error="The server stopped while the attempt's sessions were being made.",
            )
        await self.store.attempts.interrupt_running()
        for attempt in await self.store.attempts.in_states(["open"]):
            rows = await self.store.attempts.sessions(attempt["id"])
            await self.chat.share_rules([r["session_id"] for r in rows])

    async def _stop_after_turn(self, session_ids: list[str]) -> None:
        """Stop the checks running in these sessions (their worktrees are about to go)."""
        tasks = [t for sid in session_ids if (t := self._after.get(sid)) and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    async def shutdown(self) -> None:
        await self._stop_after_turn(list(self._after))


def _summary(diff: dict[str, Any]) -> dict[str, int]:
    files = diff.get("files") or []
    return {
        "files": len(files),
        "insertions": sum(f.get("additions", 0) for f in files),
        "deletions": sum(f.get("deletions", 0) for f in files),
    }


def _branch_result(result: dict[str, Any]) -> dict[str, Any]:
    session = result["session"]
    return {
        "branch": session["branch"],
        "branch_deleted": result["branch_deleted"],
        "unmerged_commits": result["unmerged_commits"],
    }


def _slug(prompt: str) -> str:
    """A short, readable start of the session names: the prompt's first words."""
    words = re.findall(r"[A-Za-z0-9]+", prompt)[:4]
    return slugify("-".join(words).lower())[:32].strip("-") or "attempt"


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
