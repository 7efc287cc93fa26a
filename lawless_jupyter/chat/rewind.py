"""A session's turns as checkpoints: recorded with each turn, listed, rewound to, forked from.

When a turn starts, its row records where it continues Claude's transcript (the last
entry's uuid). Before Claude first acts in it (its first tool), the worktree's whole state
is recorded as a git checkpoint (``workspace/checkpoints.py``, ref
``refs/lawless/<session>/turns/<n>``); a turn that only answers records none, and costs no
git. A rewind puts the conversation on a copy of the transcript that ends before the turn
(the SDK's ``fork_session_via_store``) and the worktree back to the first checkpoint at or
after it: the state before Claude's first change since (the person's own edits while
Claude only answered stay); it records the state it replaced first, so it can be rewound
itself. A fork is a new session made from such a checkpoint, with its own copy of the
transcript.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from claude_agent_sdk import fork_session_via_store, project_key_for_directory

from ..errors import InvalidInput, LawlessError, NotFound
from ..store import Store
from ..workspace import Checkpoint, ForkPoint, WorkspaceService
from ..workspace.checkpoints import turn_ref
from .service import ChatService, LiveChat
from .turn import Turn

_LABEL_CHARS = 72


class _Into:
    """A ``SessionStore`` view for the SDK's fork: reads the source transcript, writes the
    copy under the project key of the worktree that will resume it."""

    def __init__(self, store: Any, project_key: str):
        self.store, self.project_key = store, project_key

    async def load(self, key: dict[str, Any]) -> Any:
        return await self.store.load(key)

    async def append(self, key: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        await self.store.append({**key, "project_key": self.project_key}, entries)


def _project_key(worktree: str) -> Any:
    return asyncio.to_thread(project_key_for_directory, worktree)  # realpath: off the loop


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A turn as the API shows it."""
    return {
        "id": row["id"],
        "number": row["number"],
        "kind": row["kind"],
        "message": row["message"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "stop_reason": row["stop_reason"],
        "files_changed": row["files_changed"],
        "cost_usd": row["cost_usd"],
        "usage": row["usage"],
        # None until Claude first acts in the turn (or never: it only answered)
        "checkpoint": row["checkpoint"],
        "ref": row["checkpoint"] and turn_ref(row["session_id"], row["number"]),
        "target": row["target"],
        "rewound": row["rewound_by"] is not None,
        "rewound_by": row["rewound_by"],
    }


class RewindService:
    def __init__(
        self,
        store: Store,
        workspace: WorkspaceService,
        chat: ChatService,
        transcripts_for: Callable[[str], Any] | None,
        log: logging.Logger | None = None,
    ):
        self.store = store
        self.workspace = workspace
        self.chat = chat
        self.transcripts_for = transcripts_for
        self.logger = log or logging.getLogger(__name__)
        #: per session, its running turn's checkpoint while it is being written
        self._pending: dict[str, asyncio.Task[Any]] = {}
        chat.before_turn.append(self._record_turn)
        chat.after_turn.append(self._finish_turn)
        workspace.before_delete.append(self.settle)

    # -- recording turns ----------------------------------------------------------------------

    async def _transcript_leaf(
        self, user_id: str, worktree: str, claude_session_id: str | None
    ) -> str | None:
        """The uuid of the latest entry of a Claude session's transcript (None: none kept)."""
        if claude_session_id is None or self.transcripts_for is None:
            return None
        key = {"project_key": await _project_key(worktree), "session_id": claude_session_id}
        return await self.transcripts_for(user_id).last_uuid(key)

    async def _record(
        self, row: dict[str, Any], claude_session_id: str | None, fields: dict[str, Any]
    ) -> tuple[dict[str, Any], Checkpoint]:
        """Record the worktree now as the session's next numbered checkpoint, and its row."""
        number, resume_at = await self._next(row, claude_session_id)
        return await self._checkpoint(row, number, claude_session_id, resume_at, fields)

    async def _next(
        self, row: dict[str, Any], claude_session_id: str | None
    ) -> tuple[int, str | None]:
        """The number of the session's next checkpoint and where its transcript ends now."""
        return await asyncio.gather(
            self.store.turns.next_number(row["id"]),
            self._transcript_leaf(row["user_id"], row["worktree_path"], claude_session_id),
        )

    async def _checkpoint(
        self,
        row: dict[str, Any],
        number: int,
        claude_session_id: str | None,
        resume_at: str | None,
        fields: dict[str, Any],
    ) -> tuple[dict[str, Any], Checkpoint]:
        label = fields.get("message") or f"rewind {number}"
        label = f"lawless turn {number}: {' '.join(label.split())[:_LABEL_CHARS]}"
        checkpoint = await self.workspace.checkpoint(row, turn_ref(row["id"], number), label)
        recorded = await self.store.turns.add(
            {
                **fields,
                "session_id": row["id"],
                "user_id": row["user_id"],
                "number": number,
                "checkpoint": checkpoint.commit,
                "checkpoint_tree": checkpoint.tree,
                "checkpoint_head": checkpoint.head,
                "claude_session_id": claude_session_id,
                "resume_at": resume_at,
            }
        )
        return recorded, checkpoint

    # -- a turn's checkpoint, by its first tool ---------------------------------------------
    # A turn's checkpoint is written when its first tool is about to run, which waits for it
    # (the chat's before_turn, LiveClaude.before_tools), and so do its file list
    # (``_finish_turn``) and whoever lists the turns. So twenty turns starting at once run
    # no git while their first texts are on their way, and a turn that only answers none.

    def _beside(self, session_id: str, work: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._pending[session_id] = task

        def forget(done: asyncio.Task[Any]) -> None:
            if self._pending.get(session_id) is done:
                del self._pending[session_id]
            if not done.cancelled() and (e := done.exception()) is not None:
                self.logger.error("a turn's checkpoint failed", exc_info=e)

        task.add_done_callback(forget)
        return task

    async def settle(self, session_id: str) -> None:
        """Wait until the session's checkpoint is written (a failure is logged)."""
        task = self._pending.get(session_id)
        if task is not None:
            await asyncio.wait([task])

    async def shutdown(self) -> None:
        if self._pending:
            await asyncio.wait(list(self._pending.values()), timeout=10)

    async def _record_turn(
        self, live: LiveChat, turn: Turn, message: str
    ) -> Callable[[], Awaitable[Any]] | None:
        """Before a turn in a workspace session starts (the chat's ``before_turn``): its row,
        and what its first tool starts: its checkpoint."""
        if live.session_id is None:
            return None  # a free chat has no worktree
        row = await self.workspace.owned(live.user_id, live.session_id)
        claude_session_id = live.conversation["claude_session_id"]
        # read now: Claude appends this turn to its transcript as soon as it has the message
        number, resume_at = await self._next(row, claude_session_id)
        await self.store.turns.add(
            {
                "id": turn.id,
                "kind": "turn",
                "message": message,
                "session_id": row["id"],
                "user_id": row["user_id"],
                "number": number,
                "claude_session_id": claude_session_id,
                "resume_at": resume_at,
            }
        )

        def checkpoint() -> Awaitable[Any]:
            return self._beside(row["id"], self._checkpoint_turn(row, number, turn.id, message))

        return checkpoint

    async def _checkpoint_turn(
        self, row: dict[str, Any], number: int, turn_id: str, message: str
    ) -> None:
        label = f"lawless turn {number}: {' '.join(message.split())[:_LABEL_CHARS]}"
        checkpoint = await self.workspace.checkpoint(row, turn_ref(row["id"], number), label)
        await self.store.turns.set_checkpoint(turn_id, checkpoint)

    async def _finish_turn(self, live: LiveChat, turn: Turn, stop_reason: str) -> None:
        """Once a turn is over, before its ``done``: what it changed in the worktree (taken
        now: the person may edit right after) and what it cost."""
        if live.session_id is None:
            return
        await self.settle(live.session_id)  # its checkpoint, when a tool started one
        recorded = await self.store.turns.get(live.session_id, turn.id)
        if recorded is None:
            return
        files: list[str] | None = []  # a turn whose tools never ran changed no file
        try:
            if recorded["checkpoint"] is not None:
                row = await self.workspace.owned(live.user_id, live.session_id)
                files = await self.workspace.changes_since(row, recorded["checkpoint_tree"])
        except LawlessError as e:  # the session is being deleted, say
            files = None
            self.logger.info("no file list for turn %s: %s", turn.id, e.message)
        usage = next((e.data for e in reversed(turn.events) if e.data["type"] == "usage"), {})
        await self.store.turns.finish(
            turn.id,
            stop_reason=stop_reason,
            files_changed=files,
            cost_usd=usage.get("cost_usd"),
            usage=usage.get("usage"),
        )

    # -- reading ------------------------------------------------------------------------------

    async def list(self, user_id: str, session_id: str) -> dict[str, Any]:
        await self.workspace.get(user_id, session_id)  # 404 unless it is theirs
        await self.settle(session_id)
        return {"turns": [public(r) for r in await self.store.turns.of_session(session_id)]}

    async def _state_before(self, session_id: str, target: dict[str, Any]) -> Checkpoint | None:
        """The worktree before Claude's first change at or after ``target``: the first
        checkpoint from it on (a turn records one only before its first tool, a rewind
        always). None: Claude changed nothing since, there is nothing to put back."""
        for t in await self.store.turns.of_session(session_id):
            if t["number"] >= target["number"] and t["checkpoint"] is not None:
                return Checkpoint(t["checkpoint"], t["checkpoint_head"], t["checkpoint_tree"])
        return None

    async def _turn(self, session_id: str, turn_id: object) -> dict[str, Any]:
        if not isinstance(turn_id, str) or not turn_id.strip():
            raise InvalidInput("'turn' must be the id of one of the session's turns.")
        found = await self.store.turns.get(session_id, turn_id)
        if found is None:
            raise NotFound(f"This session has no turn {turn_id[:64]!r}.")
        return found

    # -- conversations ------------------------------------------------------------------------

    async def _conversation_at(
        self, user_id: str, source_worktree: str, target_worktree: str, at: dict[str, Any]
    ) -> str | None:
        """A new Claude session whose transcript is ``at``'s Claude session up to its
        ``resume_at`` entry, kept where ``target_worktree`` resumes it; None when there was
        no conversation yet (the next turn starts afresh)."""
        claude_session_id, up_to = at["claude_session_id"], at["resume_at"]
        if claude_session_id is None or up_to is None or self.transcripts_for is None:
            return None
        # the SDK finds the source by its directory; the copy goes where the target resumes it
        target_key = await _project_key(target_worktree)
        try:
            forked = await fork_session_via_store(
                _Into(self.transcripts_for(user_id), target_key),
                claude_session_id,
                directory=source_worktree,
                up_to_message_id=up_to,
            )
        except (FileNotFoundError, ValueError) as e:  # the transcript is gone: start afresh
            self.logger.warning("could not copy Claude session %s: %s", claude_session_id, e)
            return None
        return forked.session_id

    # -- rewind -------------------------------------------------------------------------------

    async def rewind(self, user_id: str, session_id: str, turn_id: object) -> dict[str, Any]:
        """Put the worktree and the conversation back to before turn ``turn_id`` (409 while
        a turn runs, 404 for a turn the session does not have; neither changes anything)."""
        async with self.chat.paused(user_id, session_id):
            target = await self._turn(session_id, turn_id)
            state = await self._state_before(session_id, target)
            async with self.workspace.updating(user_id, session_id) as row:
                conversation = await self.store.conversation_for(user_id, session_id)
                worktree = row["worktree_path"]
                # the conversation's copy first: it changes nothing the session uses yet
                claude_session_id = await self._conversation_at(user_id, worktree, worktree, target)
                rewind_id = uuid.uuid4().hex
                _, before = await self._record(
                    row,
                    conversation["claude_session_id"],
                    {"id": rewind_id, "kind": "rewind", "target": target["id"]},
                )
                # from here on the state before the rewind is recorded: rewinding to it undoes
                # this one, even if what follows fails half way
                if state is not None:
                    await self.workspace.restore(row, state.commit)
                await self.store.set_claude_session(conversation["id"], claude_session_id)
                await self.store.turns.mark_rewound(session_id, target, rewind_id)
                files = await self.workspace.changes_since(row, before.tree)
                await self.store.turns.finish(rewind_id, stop_reason="rewound", files_changed=files)
                await self.store.append_message(
                    conversation["id"],
                    rewind_id,
                    "rewind",
                    {"turn": target["id"], "number": target["number"], "files_changed": files},
                )
        turns = await self.store.turns.of_session(session_id)
        return {
            "rewind": public(next(t for t in turns if t["id"] == rewind_id)),
            "turn": public(target),
            "rewound": [t["id"] for t in turns if t["rewound_by"] == rewind_id],
            "conversation": "forked" if claude_session_id else "fresh",
        }

    # -- fork ---------------------------------------------------------------------------------

    async def fork(
        self, user_id: str, session_id: str, name: object = None, turn_id: object = None
    ) -> dict[str, Any]:
        """A new session from this one's current state, or from before turn ``turn_id``: its
        own worktree and branch, and its own copy of the conversation up to there."""
        async with self.chat.paused(user_id, session_id, forget=False):
            source = await self.workspace.owned(user_id, session_id)
            target = None if turn_id is None else await self._turn(session_id, turn_id)
            conversation = await self.store.session_conversation(session_id)
            if target is not None:
                state = await self._state_before(session_id, target)
                at = target
            else:
                state = None
                claude_session_id = conversation["claude_session_id"] if conversation else None
                at = {
                    "claude_session_id": claude_session_id,
                    "resume_at": await self._transcript_leaf(
                        user_id, source["worktree_path"], claude_session_id
                    ),
                }
            if state is None:  # no turn given, or Claude changed nothing since: as it is now
                label = f"lawless fork of session {session_id[:8]}"
                state = await self.workspace.checkpoint(source, None, label)
            forked = await self.workspace.create(
                user_id,
                source["repo"],
                name=name,
                fork=ForkPoint(source["base"], source["base_commit"], state),
            )
            try:
                claude_session_id = await self._conversation_at(
                    user_id, source["worktree_path"], forked["worktree_path"], at
                )
                if conversation is not None:
                    await self._copy_history(conversation, forked["id"], user_id, target)
                    copy = await self.store.conversation_for(user_id, forked["id"])
                    await self.store.set_claude_session(copy["id"], claude_session_id)
            except BaseException:  # the fork is all or nothing
                await self.workspace.delete(user_id, forked["id"], force=True)
                raise
        await self.store.record_activity(
            user_id,
            "session.forked",
            {"session_id": forked["id"], "from": session_id, "turn": target and target["id"]},
        )
        return {
            "session": forked,
            "forked_from": {"session": session_id, "turn": target and target["id"]},
            "conversation": "forked" if claude_session_id else "fresh",
        }

    async def _copy_history(
        self,
        conversation: dict[str, Any],
        fork_id: str,
        user_id: str,
        target: dict[str, Any] | None,
    ) -> None:
        """The fork's history starts with the source's turns in effect before the fork point
        (not the rewound ones, nor rewind markers), so its panel shows what Claude knows."""
        turns = await self.store.turns.of_session(conversation["session_id"])
        cutoff = target["number"] if target else None
        rewinds = {t["id"]: t["number"] for t in turns if t["kind"] == "rewind"}
        skip = list(rewinds)
        for t in turns:
            undone_at = rewinds.get(t["rewound_by"] or "")
            if undone_at is not None and (cutoff is None or undone_at < cutoff):
                skip.append(t["id"])
        before_seq = None
        if target is not None:
            before_seq = await self.store.chat.first_seq_of_turn(conversation["id"], target["id"])
        copy = await self.store.conversation_for(user_id, fork_id)
        await self.store.chat.copy_messages(
            conversation["id"], copy["id"], before_seq=before_seq, skip_turns=skip
        )
