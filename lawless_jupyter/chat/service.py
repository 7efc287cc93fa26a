"""Chat turns with Claude in a workspace session (or in the root, read-only).

A turn belongs to the server: it runs as its own task, its events are numbered and kept, and
any number of HTTP streams may follow it, leave and come back. The history is appended to
the store as it happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_agent_sdk import CLIConnectionError, CLINotFoundError, ProcessError

from ..errors import Conflict, InvalidInput, NotFound
from ..store import Store
from ..workspace import SessionState, WorkspaceService
from .attachments import Attachment, check_attachments, prompt_with
from .capacity import ClaudeSlots
from .claude import ClaudeSettings, LiveClaude, Refusal, declare_asyncio, tree_rss
from .events import clip_input, replay, translate
from .permissions import MODES, ApprovalBroker, PermissionPolicy
from .rules import SHELL, is_rule, runs_git_hooks
from .turn import BeforeTools, Turn, finished_turn

S = SessionState
MAX_MESSAGE_CHARS = 100_000


@dataclass
class ChatSettings:
    permission_mode: str = "default"
    allowed_permission_modes: tuple[str, ...] = MODES
    free_chat_mode: str = "read_only"
    allowed_models: tuple[str, ...] = ()  # empty: any model
    idle_timeout: float = 600.0
    approval_timeout: float = 300.0
    cancel_grace: float = 5.0
    replay_seconds: float = 300.0  # a finished turn's events are kept this long for re-attach
    max_live_claude: int | None = None  # Claude Code processes kept at once (None: no bound)
    claude: ClaudeSettings = field(default_factory=ClaudeSettings)


@dataclass
class LiveChat:
    key: str  # the workspace session id, or "chat:<conversation id>" for a free chat
    user_id: str
    session_id: str | None
    conversation: dict[str, Any]
    claude: LiveClaude
    policy: PermissionPolicy
    latest: Turn | None = None  # the running turn, or a finished one for replay_seconds
    turns_so_far: int | None = None
    latest_seq: int = 0  # the history row of the latest turn's user message
    stop_reason: str | None = None  # of the latest turn, once its events are let go

    @property
    def running(self) -> bool:
        return self.latest is not None and not self.latest.finished


class ChatService:
    def __init__(
        self,
        store: Store,
        workspace: WorkspaceService,
        settings: ChatSettings,
        root_dir: Path,
        log: logging.Logger | None = None,
        transcripts_for: Callable[[str], Any] | None = None,
        defaults_for: Callable[[str], Awaitable[dict[str, Any]]] | None = None,
        tools_for: Callable[[str, Path], dict[str, Any]] | None = None,
        code_for: Callable[[str, dict[str, Any], Path], Awaitable[str | None]] | None = None,
        refusal_for: Callable[[str, dict[str, Any], Path], Awaitable[str | None]] | None = None,
    ):
        #: (session id, worktree) -> the in-process MCP servers of a session's Claude
        self.tools_for = tools_for
        #: (tool, input, worktree) -> the code a call runs when its input does not hold it
        #: (a notebook cell's source), shown on the approval card
        self.code_for = code_for
        #: (tool, input, worktree) -> why a call the policy allows is refused all the same
        #: (a built-in write of a notebook open in JupyterLab), or None
        self.refusal_for = refusal_for
        self.transcripts_for = transcripts_for  # user id -> an SDK SessionStore
        self.defaults_for = defaults_for  # user id -> their preferred model / permission_mode
        self.store = store
        self.workspace = workspace
        self.settings = settings
        self.root_dir = root_dir
        self.logger = log or logging.getLogger(__name__)
        self.approvals = ApprovalBroker(settings.approval_timeout)
        self._live: dict[str, LiveChat] = {}
        # "Always allow" rules per session: kept while the session lives, not only while its
        # Claude process does (a conversation forgotten when idle must not forget them)
        self._rules: dict[str, set[str]] = {}
        # per session or conversation; weak: a lock nobody holds or waits for goes
        self._start_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self.slots = ClaudeSlots(settings.max_live_claude, self._live.values, self._evict)
        self._closing: set[asyncio.Task[None]] = set()  # processes let go, still exiting
        #: called with (stop reason, seconds) when a turn is done (monitoring)
        self.on_turn_done: list[Callable[[str, float], None]] = []
        #: called with the session id when the person presses Stop (the kernel's interrupt)
        self.on_cancel: list[Callable[[str], Awaitable[Any]]] = []
        #: awaited before a turn's task starts (raising refuses the turn); what one returns
        #: (a function making an awaitable) is started when the turn's first tool is about
        #: to run, and its tools wait for it (chat/rewind.py: the checkpoint).
        #: ``after_turn``: once it is over, before its ``done`` (with the stop reason)
        self.before_turn: list[Callable[[LiveChat, Turn, str], Awaitable[Any]]] = []
        self.after_turn: list[Callable[[LiveChat, Turn, str], Awaitable[None]]] = []
        #: called with (session id, the finished turn) when a session's turn is done
        self.on_session_turn_done: list[Callable[[str, Turn], None]] = []
        workspace.before_delete.append(self.forget_session)

    # -- starting turns ---------------------------------------------------------------------

    def _check_options(self, message: object, model: object, mode: object) -> None:
        if not isinstance(message, str) or not message.strip():
            raise InvalidInput("'message' must be a non-empty string.")
        if len(message) > MAX_MESSAGE_CHARS:
            raise InvalidInput(f"'message' is longer than {MAX_MESSAGE_CHARS} characters.")
        if model is not None:
            allowed = self.settings.allowed_models
            if (
                not isinstance(model, str)
                or not model.strip()
                or (allowed and model not in allowed)
            ):
                raise InvalidInput(
                    f"The model {model!r} is not allowed here.", details={"allowed": allowed}
                )
        if mode is not None and mode not in self.settings.allowed_permission_modes:
            raise InvalidInput(
                f"The permission mode {mode!r} is not allowed here.",
                details={"allowed": self.settings.allowed_permission_modes},
            )

    def check_request(self, message: object, model: object = None) -> None:
        """400 unless a turn could start with this message and model: for callers that
        make things before they start turns (attempts)."""
        self._check_options(message, model, None)

    async def _remembered(self, session_id: str) -> set[str]:
        """The session's "Always allow" rules: kept in the store, loaded once (the same set
        object from then on: the policy of its Claude process holds it)."""
        if session_id not in self._rules:
            loaded = await self.store.approval_rules.of_session(session_id)
            return self._rules.setdefault(session_id, loaded)  # a load meanwhile won
        return self._rules[session_id]

    def _sharing(self, session_id: str) -> list[str]:
        """The sessions holding the same rules as this one (its attempt's siblings, itself)."""
        rules = self._rules.get(session_id)  # None once the session is being deleted
        if rules is None:
            return []
        return [sid for sid, held in self._rules.items() if held is rules]

    async def share_rules(self, session_ids: list[str]) -> None:
        """Sibling sessions (attempts of one task) remember "Always allow" together: one set
        for all, kept when a Claude process is closed and started again, and in the store."""
        shared = set().union(*[await self._remembered(s) for s in session_ids])
        for session_id in session_ids:
            self._rules[session_id] = shared
            if (live := self._live.get(session_id)) is not None:
                live.policy.remembered = shared
        await self.store.approval_rules.add(session_ids, shared)

    async def start(
        self,
        user_id: str,
        session_id: str,
        message: object,
        *,
        model: object = None,
        permission_mode: object = None,
        attachments: object = None,
    ) -> Turn:
        """Start a turn in a workspace session (409 if one is running). ``model`` and
        ``permission_mode`` default to the person's preferences; ``attachments`` (a
        notebook, cells, a file: ``[{name, text}]``) go into the prompt after the message."""
        attached = check_attachments(attachments)
        if self.defaults_for is not None and (model is None or permission_mode is None):
            preferred = await self.defaults_for(user_id)
            model = preferred.get("model") if model is None else model
            if permission_mode is None:
                permission_mode = preferred.get("permission_mode")
        self._check_options(message, model, permission_mode)
        async with self._start_locks.setdefault(session_id, asyncio.Lock()):
            session = await self.workspace.get(user_id, session_id)
            live = self._live.get(session_id)
            if (live and live.running) or session["state"] == S.CONNECTED:
                raise Conflict("A chat turn is already running in this session.")
            if session["state"] != S.ACTIVE:
                raise Conflict(
                    f"The session is {session['state']}; chat needs an active session.",
                    details={"state": session["state"]},
                )
            if live is None:
                conversation = await self.store.conversation_for(user_id, session_id)
                live = self._new_live(
                    session_id,
                    user_id,
                    session_id,
                    conversation,
                    Path(session["worktree_path"]),
                    self.settings.permission_mode,
                    await self._remembered(session_id),
                )
            await self.workspace.set_chat_attached(session_id, True)

            # read per turn (a hook folder set since the last turn is guarded too), by its
            # first tool: the only reader
            async def hooks() -> None:
                await self._read_hooks_path(live, user_id, session_id)

            try:
                return await self._launch(live, message, model, permission_mode, attached, hooks)
            except BaseException:  # the turn never started: the session is free again
                await self.workspace.set_chat_attached(session_id, False)
                raise

    async def _read_hooks_path(self, live: LiveChat, user_id: str, session_id: str) -> None:
        try:
            live.policy.hooks_path = await self.workspace.hooks_path(user_id, session_id)
        except Exception:
            self.logger.exception("could not read the session's git hook settings")
            raise

    async def start_free(self, user_id: str, conversation_id: object, message: object) -> Turn:
        """A chat not tied to a worktree: in the Jupyter root, read-only by default."""
        self._check_options(message, None, None)
        async with self._start_locks.setdefault(f"chat:{conversation_id}", asyncio.Lock()):
            if conversation_id is None:
                conversation = await self.store.conversation_for(user_id, None)
            else:
                conversation = await self.store.get_conversation(str(conversation_id))
                if (
                    conversation is None
                    or conversation["user_id"] != user_id
                    or conversation["session_id"]
                ):
                    raise NotFound("There is no such chat conversation.")
            key = f"chat:{conversation['id']}"
            live = self._live.get(key)
            if live and live.running:
                raise Conflict("A chat turn is already running in this conversation.")
            if live is None:
                live = self._new_live(
                    key, user_id, None, conversation, self.root_dir, self.settings.free_chat_mode
                )
            return await self._launch(live, message, None, None)

    def _new_live(
        self,
        key: str,
        user_id: str,
        session_id: str | None,
        conversation: dict[str, Any],
        cwd: Path,
        mode: str,
        remembered: set[str] | None = None,
    ) -> LiveChat:
        policy = PermissionPolicy(mode, set() if remembered is None else remembered)
        holder: dict[str, LiveChat] = {}

        async def ask_person(tool: str, tool_input: dict[str, Any], tool_use_id: str | None):
            return await self._ask_person(holder["live"], tool, tool_input, tool_use_id)

        claude = LiveClaude(
            cwd,
            policy,
            self.settings.claude,
            ask_person,
            conversation["claude_session_id"],
            self.transcripts_for(user_id) if self.transcripts_for else None,
            self.tools_for(session_id, cwd) if self.tools_for and session_id else None,
            self._refusal(cwd),
        )
        claude.on_closed = self.slots.admit  # a process closed anywhere frees room
        live = LiveChat(key, user_id, session_id, conversation, claude, policy)
        holder["live"] = live
        self._live[key] = live
        return live

    def _refusal(self, cwd: Path) -> Refusal | None:
        refusal_for = self.refusal_for
        if refusal_for is None:
            return None
        return lambda tool, tool_input: refusal_for(tool, tool_input, cwd)

    async def _launch(
        self,
        live: LiveChat,
        message: str,
        model: object,
        permission_mode: object,
        attached: list[Attachment] | None = None,
        *before_tools: Callable[[], Awaitable[Any]],
    ) -> Turn:
        if model is not None and model != live.claude.model:
            if live.claude.client is not None:
                try:
                    await live.claude.client.set_model(str(model))
                except CLIConnectionError:
                    raise
                except Exception as e:  # the CLI refuses names it does not know
                    raise InvalidInput(f"Claude Code does not know the model {model!r}.") from e
            live.claude.model = str(model)
        if permission_mode is not None:
            live.policy.mode = str(permission_mode)
        conversation_id = live.conversation["id"]
        if live.turns_so_far is None:  # counted once; this process then keeps count
            live.turns_so_far = await self.store.count_messages(conversation_id, "user")
        turn = Turn(conversation_id, live.turns_so_far + 1)
        starts = list(before_tools)
        for hook in self.before_turn:
            if (start := await hook(live, turn, message)) is not None:
                starts.append(start)
        # started by the turn's first tool, which waits for all of it
        live.claude.before_tools = BeforeTools(starts) if starts else None
        live.turns_so_far += 1
        stored: dict[str, Any] = {"text": message}
        if attached:  # the history shows the names; Claude gets the texts
            stored["attachments"] = [a.name for a in attached]
        live.latest_seq = await self.store.append_message(conversation_id, turn.id, "user", stored)
        live.latest = turn
        prompt = prompt_with(message, attached or [])
        turn.task = asyncio.create_task(self._run(live, turn, prompt), name=f"chat-{live.key}")
        return turn

    # -- running a turn -----------------------------------------------------------------------

    async def _run(self, live: LiveChat, turn: Turn, message: str) -> None:
        stop_reason = "end_turn"
        failed = False
        declare_asyncio()  # before the client connects: its reading tasks inherit it

        async def fail(message: str, code: str) -> None:
            nonlocal failed
            failed = True
            await turn.emit({"type": "error", "code": code, "message": message})
            await self.store.append_message(
                turn.conversation_id, turn.id, "error", {"message": message, "code": code}
            )

        try:
            await turn.emit(
                {
                    "type": "start",
                    "turn_id": turn.id,
                    "turn": turn.number,
                    "conversation_id": turn.conversation_id,
                    "session_id": live.session_id,
                }
            )
            if live.claude.client is None:  # a new process: wait for room under the bound
                await self.slots.take(
                    live.key, lambda place: turn.emit({"type": "queued", "position": place})
                )
                live.claude.niced = self.agents_outnumber_cpus(starting=1)
            client = await live.claude.connected()
            if self.agents_outnumber_cpus():  # past the bound (a burst, too): all go below
                await self._renice_all()
            await client.query(message)
            async for sdk_message in client.receive_response():
                translated = translate(sdk_message, live.claude.turn_cost)
                await self._remember_claude_session(live, translated.claude_session_id)
                for role, content in translated.history:
                    await self.store.append_message(turn.conversation_id, turn.id, role, content)
                for event in translated.events:
                    if event["type"] == "error":
                        failed = True
                    await turn.emit(event)
                result = translated.result
                if result is not None:
                    stop_reason = result.stop_reason or result.subtype
                    if result.is_error and not failed and not turn.cancelled:
                        await fail(result.result or f"Claude stopped: {result.subtype}.", "claude")
        except CLINotFoundError as e:
            await fail(f"The Claude Code CLI could not be started: {e}", "cli_not_found")
            await live.claude.close()
        except (CLIConnectionError, ProcessError) as e:
            if "No conversation found" in str(e):  # its transcript is gone: start afresh
                await self._remember_claude_session(live, None, forget=True)
                await fail(
                    "Claude Code could not find this conversation's earlier context, so it "
                    "starts afresh. Send your message again.",
                    "conversation_lost",
                )
            elif not turn.cancelled:
                await fail(
                    f"Claude Code stopped unexpectedly ({e}). Send your message again to "
                    "continue the conversation.",
                    "cli_failed",
                )
            await live.claude.close(kill=True)
        except asyncio.CancelledError:
            turn.cancelled = True
        except Exception as e:  # the turn must end with done, whatever happened
            self.logger.exception("chat turn failed")
            await fail(f"The turn failed on the server: {type(e).__name__}.", "internal_error")
            await live.claude.close(kill=True)
        finally:
            if turn.cancelled:
                stop_reason = "cancelled"
            elif failed:
                stop_reason = "error"
            # shielded: even a task cancelled right now still ends its stream with done
            await asyncio.shield(self._finish(live, turn, stop_reason))

    async def _finish(self, live: LiveChat, turn: Turn, stop_reason: str) -> None:
        self.approvals.deny_all(live.key)
        try:
            for hook in self.after_turn:
                try:
                    await hook(live, turn, stop_reason)
                except Exception:  # the turn still ends, and its session is freed
                    self.logger.exception("after-turn hook failed")
            if live.session_id is not None:
                await self.workspace.set_chat_attached(live.session_id, False)
        finally:
            await turn.emit({"type": "done", "stop_reason": stop_reason})
            asyncio.get_running_loop().call_later(
                self.settings.replay_seconds, self._let_go, live, turn
            )
            live.claude.last_used = time.monotonic()  # idle from now (the idle timeout, LRU)
            self.slots.turn_ended(live.key)
            for listener in self.on_turn_done:
                listener(stop_reason, time.monotonic() - turn.started)
            if live.session_id is not None:
                for session_listener in self.on_session_turn_done:
                    session_listener(live.session_id, turn)

    def _let_go(self, live: LiveChat, turn: Turn) -> None:
        """The re-attach window of a finished turn is over: its events go (the history has
        the whole answer; a late re-attach is answered from it)."""
        if live.latest is turn:
            live.latest, live.stop_reason = None, turn.stop_reason
            if live.claude.client is None:  # its Claude process was closed meanwhile
                self._drop(live)

    async def _remember_claude_session(
        self, live: LiveChat, claude_session_id: str | None, *, forget: bool = False
    ) -> None:
        if forget or (
            claude_session_id and claude_session_id != live.conversation["claude_session_id"]
        ):
            live.conversation["claude_session_id"] = claude_session_id
            live.claude.resume = claude_session_id
            await self.store.set_claude_session(live.conversation["id"], claude_session_id)

    async def _ask_person(
        self, live: LiveChat, tool: str, tool_input: dict[str, Any], tool_use_id: str | None
    ) -> tuple[bool, str]:
        turn = live.latest
        assert turn is not None
        # what "Always allow" would remember (None: the panel offers no such button)
        rule = live.policy.rule_for(tool, tool_input, live.claude.cwd)

        async def announce(request_id: str) -> None:
            request = {
                "type": "approval_request",
                "request_id": request_id,
                "tool": tool,
                "input": clip_input(tool_input),
                "tool_use_id": tool_use_id,
                "timeout_seconds": self.approvals.timeout,
                "rule": rule,
            }
            if tool == SHELL and runs_git_hooks(tool_input.get("command")):
                request["runs_git_hooks"] = True
            code = await self.code_for(tool, tool_input, live.claude.cwd) if self.code_for else None
            if code is not None:
                request["code"] = clip_input(code)
            await turn.emit(request)

        allowed, remember = await self.approvals.ask(live.key, tool, announce)
        if allowed and remember and rule is not None:
            live.policy.remembered.add(rule)
            if live.session_id is not None:  # a free chat's rules last as long as its process
                await self.store.approval_rules.add(self._sharing(live.session_id), [rule])
        return allowed, "" if allowed else f"The person did not allow {tool}."

    # -- following, cancelling, answering --------------------------------------------------------

    async def reattach(
        self, user_id: str, session_id: str, last_seen: tuple[int, int] | None
    ) -> tuple[Turn, int]:
        """The session's latest turn and the seq to replay after: exactly the events after
        ``last_seen`` (turn, seq) while its events are kept, else the whole turn (rebuilt
        from the history once they are gone: whole blocks, then usage and done)."""
        live = await self._owned_live(user_id, session_id)
        turn = live.latest if live else None
        if turn is not None:
            return turn, (last_seen[1] if last_seen and last_seen[0] == turn.number else 0)
        turn = await self._stored_turn(session_id, live)
        if turn is None:
            raise NotFound("Nobody has chatted in this session yet.")
        return turn, 0

    async def turn_again(self, user_id: str, session_id: str, number: int) -> Turn:
        """Turn ``number`` of the session, whole, while it is the latest (a repeated turn
        start follows the turn the first request started)."""
        turn, _ = await self.reattach(user_id, session_id, None)
        return _still_latest(turn, number, "the session's history")

    async def free_turn_again(self, user_id: str, conversation_id: str, number: int) -> Turn:
        """Turn ``number`` of a free conversation, whole, while it is the latest and this
        server still holds the conversation."""
        live = self._live.get(f"chat:{conversation_id}")
        turn = None
        if live is not None and live.user_id == user_id:
            turn = live.latest or await self._stored_turn(None, live)
        if turn is None:
            raise Conflict(
                f"The turn this request started (turn {number}) is over and its conversation "
                "was closed; send the message as a new request to ask again.",
                details={"turn": number},
            )
        return _still_latest(turn, number, "the conversation")

    async def _stored_turn(self, session_id: str | None, live: LiveChat | None) -> Turn | None:
        """The latest finished turn, from the history rows after its user message."""
        if live is not None:
            conversation, after = live.conversation, live.latest_seq - 1
        else:
            conversation, after = await self.store.session_conversation(session_id), 0
        if conversation is None:
            return None
        rows: list[dict[str, Any]] = []
        while page := await self.store.list_messages(conversation["id"], after=after, limit=500):
            rows.extend(page)
            users = [i for i, row in enumerate(rows) if row["role"] == "user"]
            rows = rows[users[-1] :] if users else rows  # only the latest turn is kept
            after = page[-1]["seq"]
        if not rows or rows[0]["role"] != "user":
            return None
        if live is not None and live.turns_so_far is not None:
            number, stop_reason = live.turns_so_far, live.stop_reason
        else:
            number = await self.store.count_messages(conversation["id"], "user")
            stop_reason = None
        if stop_reason is None:
            stop_reason = "error" if any(r["role"] == "error" for r in rows) else "end_turn"
        start = {
            "type": "start",
            "turn_id": rows[0]["turn_id"],
            "turn": number,
            "conversation_id": conversation["id"],
            "session_id": session_id,
        }
        events = [start, *replay(rows[1:]), {"type": "done", "stop_reason": stop_reason}]
        return finished_turn(conversation["id"], number, rows[0]["turn_id"], events)

    async def _owned_live(self, user_id: str, session_id: str) -> LiveChat | None:
        await self.workspace.get(user_id, session_id)  # 404 for someone else's session
        return self._live.get(session_id)

    async def cancel(self, user_id: str, session_id: str) -> dict[str, Any]:
        live = await self._owned_live(user_id, session_id)
        if live is None or not live.running:
            raise Conflict("No chat turn is running in this session.")
        turn = live.latest
        assert turn is not None and turn.task is not None
        turn.cancelled = True
        self.approvals.deny_all(live.key)
        if self.slots.waiting(live.key):  # still in line for a process: nothing to stop
            turn.task.cancel()
        for hook in self.on_cancel:  # a tool's own work (code in the kernel) stops too
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hook(session_id), self.settings.cancel_grace)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(live.claude.interrupt(), self.settings.cancel_grace)
        done, _ = await asyncio.wait({turn.task}, timeout=self.settings.cancel_grace)
        if not done:  # the CLI did not stop: end it and everything it started
            self.logger.warning("chat turn in %s did not stop; killing Claude Code", session_id)
            await live.claude.close(kill=True)
            turn.task.cancel()
            await asyncio.wait({turn.task}, timeout=self.settings.cancel_grace)
        return {"cancelled": True, "turn_id": turn.id}

    async def answer(
        self, user_id: str, session_id: str, request_id: str, decision: object, remember: object
    ) -> dict[str, Any]:
        ApprovalBroker.check_answer(decision, remember)
        live = await self._owned_live(user_id, session_id)
        if live is None:
            raise NotFound("There is no open approval request with this id.")
        tool = self.approvals.answer(live.key, request_id, decision, remember)
        return {"request_id": request_id, "decision": decision, "tool": tool}

    async def rules(self, user_id: str, session_id: str) -> dict[str, Any]:
        """What "Always allow" remembered in this session."""
        await self.workspace.get(user_id, session_id)  # 404 unless it is theirs
        return {"rules": sorted(await self._remembered(session_id))}

    async def forget_rules(
        self, user_id: str, session_id: str, rule: object = None
    ) -> dict[str, Any]:
        """Forget one remembered rule (404 if it is not there), or all of them."""
        if rule is not None and not is_rule(rule):
            raise InvalidInput("'rule' must be one of the session's remembered rules.")
        await self.workspace.get(user_id, session_id)
        remembered = await self._remembered(session_id)
        if rule is not None and rule not in remembered:
            raise NotFound("This session has no such remembered rule.")
        await self.store.approval_rules.remove(self._sharing(session_id), rule)
        if rule is None:
            remembered.clear()
        else:
            remembered.discard(rule)
        return {"rules": sorted(remembered)}

    async def messages(
        self, user_id: str, session_id: str, *, after: int = 0, limit: int = 200
    ) -> dict[str, Any]:
        if not 1 <= limit <= 1000 or after < 0:
            raise InvalidInput("'limit' must be 1 to 1000 and 'after' at least 0.")
        await self.workspace.get(user_id, session_id)
        conversation = await self.store.session_conversation(session_id)
        if conversation is None:  # nobody has chatted here yet
            return {"conversation_id": None, "messages": [], "next_after": None}
        rows = await self.store.list_messages(conversation["id"], after=after, limit=limit)
        next_after = rows[-1]["seq"] if len(rows) == limit else None
        return {"conversation_id": conversation["id"], "messages": rows, "next_after": next_after}

    @contextlib.asynccontextmanager
    async def paused(
        self, user_id: str, session_id: str, *, forget: bool = True
    ) -> AsyncIterator[LiveChat | None]:
        """No turn starts in the session meanwhile (409 if one runs). With ``forget``, its
        Claude process is closed afterwards and the conversation forgotten here, so the next
        turn starts from the store (a rewound conversation)."""
        await self.workspace.get(user_id, session_id)  # 404 for someone else's session
        async with self._start_locks.setdefault(session_id, asyncio.Lock()):
            live = self._live.get(session_id)
            if live is not None and live.running:
                raise Conflict("A chat turn is running in this session; wait for it to end.")
            try:
                yield live
            finally:
                if forget and live is not None and self._live.get(session_id) is live:
                    del self._live[session_id]
                    await live.claude.close()

    # -- housekeeping -----------------------------------------------------------------------------

    async def forget_session(self, session_id: str) -> None:
        """Before a session is deleted: stop its turn and its Claude process."""
        live = self._live.pop(session_id, None)
        self._start_locks.pop(session_id, None)
        self._rules.pop(session_id, None)
        await self.store.approval_rules.remove([session_id])
        if live is None:
            return
        if live.running and live.latest and live.latest.task:
            live.latest.cancelled = True
            self.approvals.deny_all(live.key)
            if self.slots.waiting(live.key):  # in line for a process: leave the line
                live.latest.task.cancel()
            await live.claude.close(kill=True)  # the turn sees its CLI end and finishes
            done, _ = await asyncio.wait({live.latest.task}, timeout=self.settings.cancel_grace)
            if not done:
                live.latest.task.cancel()
                await asyncio.wait({live.latest.task}, timeout=self.settings.cancel_grace)
        await live.claude.close()

    async def close_idle(self) -> int:
        """Close the Claude processes of conversations idle for longer than the idle timeout,
        and forget those with nothing left to replay (a new one is not idle yet)."""
        now = time.monotonic()
        closed = 0
        for live in list(self._live.values()):
            if live.running or now - live.claude.last_used <= self.settings.idle_timeout:
                continue
            if live.claude.client is not None:
                await live.claude.close()
                closed += 1
            if live.latest is None:
                self._drop(live)
        self.slots.admit()  # also a sweep: room freed elsewhere (a closed process) is used
        return closed

    def _evict(self, live: LiveChat) -> asyncio.Task[None] | None:
        """Make room under ``max_live_claude``: close this idle conversation's process in
        the background; its next turn resumes from the session store, as after the idle
        timeout."""
        self.logger.debug("closing the idle Claude Code process of %s to make room", live.key)
        closing = live.claude.close_later()
        if closing is not None:
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if live.latest is None:
            self._drop(live)
        return closing

    def _drop(self, live: LiveChat) -> None:
        """Forget a conversation that has no process and no turn (a later turn or
        re-attach starts from the store); not while a turn is being started in it."""
        lock = self._start_locks.get(live.key)
        if self._live.get(live.key) is live and not (lock and lock.locked()):
            del self._live[live.key]

    def claude_usage(self) -> dict[str, int]:
        """How many Claude Code processes run and their resident memory in bytes: what a
        session costs this server; how many turns wait for one, and the bound
        (``max_live_claude``, 0: none). Called in a thread (psutil): ``list`` copies the
        conversations in one step, so the loop adding or dropping one meanwhile is harmless."""
        lives = list(self._live.values())
        sizes = tree_rss([pid for live in lives if (pid := live.claude.pid()) is not None])
        return {
            "live": len(sizes),
            "rss": sum(sizes.values()),
            "queued": self.slots.queued,
            "max_live": self.slots.limit or 0,
        }

    def agents_outnumber_cpus(self, starting: int = 0) -> bool:
        """Whether the live Claude processes (with ``starting`` more) are past
        ``claude_nice_above``: then they all run below the server, so its relay of every
        stream is not starved; a few keep the server's priority (beside the kernels)."""
        return self.live_clients() + starting > self.settings.claude.nice_above

    async def _renice_all(self) -> None:
        running = [
            live.claude
            for live in self._live.values()
            if live.claude.client is not None and not live.claude.niced
        ]
        for claude in running:
            claude.niced = True  # now: the next one does not pick them up again
        if running:
            await asyncio.to_thread(lambda: [claude.renice() for claude in running])

    def live_clients(self) -> int:
        return sum(1 for live in self._live.values() if live.claude.client is not None)

    async def shutdown(self) -> None:
        for key in list(self._live):
            live = self._live.pop(key)
            if live.latest and live.latest.task and not live.latest.finished:
                live.latest.task.cancel()
                await asyncio.wait({live.latest.task}, timeout=self.settings.cancel_grace)
            await live.claude.close(kill=True)
        if self._closing:  # processes let go to make room, still exiting
            await asyncio.wait(set(self._closing), timeout=self.settings.cancel_grace)


def _still_latest(turn: Turn, number: int, where: str) -> Turn:
    """``turn`` when it is turn ``number``, else a 409: a later turn has begun."""
    if turn.number != number:
        raise Conflict(
            f"The turn this request started (turn {number}) is over and a later one has "
            f"begun; its answer is in {where}.",
            details={"turn": number, "latest": turn.number},
        )
    return turn
