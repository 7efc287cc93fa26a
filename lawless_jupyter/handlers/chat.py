"""Chat: start a turn and stream it (SSE), re-attach, cancel, approvals, history."""

from __future__ import annotations

import asyncio
import contextlib
import json

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ..chat.turn import ChatEvent, Turn
from ..digits import digits
from ..errors import InvalidInput
from ..store.idempotency import KeptAnswer
from .base import EXECUTE, LawlessHandler
from .idempotency import idempotent
from .nodelay import send_at_once

_DELTAS = ("text", "thinking")


class WritePace:
    """How often a chat stream of this server may write: at most once a frame (a browser
    paints every ~16 ms at 60 Hz, so writing more often shows nothing sooner), and all streams
    together about ``per_second`` times a second. An event after a quiet spell goes at once,
    the ones that follow it within the pace go together. Each write is a send on a socket: with
    twenty streams a frame each, the sends were about 40% of the relay's time, and the
    relay fell behind the agents it relays (benchmarks/README.md)."""

    frame = 0.016
    per_second = 600  # twenty streams: one write every 33 ms each; forty: every 67 ms

    def __init__(self) -> None:
        self.streams = 0  # being written now

    def __call__(self) -> float:
        return max(self.frame, self.streams / self.per_second)


def coalesce(batch: list[ChatEvent]) -> list[tuple[int, dict]]:
    """The batch as (seq, data) to send, consecutive pieces of text (or of thinking) joined
    into one event that carries the last piece's seq: a client that re-attaches after it
    gets what follows, exactly as if it had seen every piece. Fewer, larger events cost the
    server and the browser less than thousands of tiny ones."""
    out: list[tuple[int, dict]] = []
    pieces: list[str] = []  # of the run of deltas that ``out[-1]`` stands for

    def join() -> None:
        if len(pieces) > 1:  # once per run: adding piece by piece copies it n times
            seq, data = out[-1]
            out[-1] = (seq, {"type": data["type"], "delta": "".join(pieces)})

    for event in batch:
        data = event.data
        kind = data.get("type")
        piece = kind in _DELTAS and len(data) == 2
        if piece and pieces and out[-1][1].get("type") == kind:
            pieces.append(data["delta"])
            out[-1] = (event.seq, out[-1][1])
            continue
        join()
        pieces = [data["delta"]] if piece else []
        out.append((event.seq, data))
    join()
    return out


class TurnStreamMixin(LawlessHandler):
    """Writes a turn's events as ``text/event-stream``: ``id: <turn>-<seq>`` on each, a
    keepalive comment while quiet, flushed as soon as the events are there (what piled up
    while the stream waited goes in one flush). Leaving does not stop the turn."""

    _follow: asyncio.Task[None] | None = None

    async def stream_turn(self, turn: Turn, after: int = 0) -> None:
        self.set_status(200)
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # no proxy buffering
        send_at_once(self.request)  # an event must not wait for the headers' ACK
        self._follow = asyncio.ensure_future(self._write_events(turn, after))
        keepalive = asyncio.ensure_future(self._keepalive())
        try:
            await self._follow
        except (StreamClosedError, asyncio.CancelledError):
            pass  # the client left; the turn goes on without it
        finally:
            keepalive.cancel()
        with contextlib.suppress(Exception):
            self.finish()

    async def _write_events(self, turn: Turn, after: int) -> None:
        await self.flush()  # the headers now: the client knows the turn has begun
        pace = self.lawless.write_pace
        pace.streams += 1
        try:
            async for batch in turn.follow(after, pace=pace):  # one flush per batch
                for seq, data in coalesce(batch):
                    self.write(f"id: {turn.number}-{seq}\ndata: {json.dumps(data)}\n\n")
                await self.flush()
        finally:
            pace.streams -= 1

    async def _keepalive(self) -> None:
        interval = self.lawless.sse_keepalive_interval
        with contextlib.suppress(StreamClosedError, asyncio.CancelledError):
            while True:
                await asyncio.sleep(interval)
                self.write(": keepalive\n\n")
                await self.flush()

    def on_connection_close(self) -> None:
        if self._follow is not None:
            self._follow.cancel()


class ChatHandler(TurnStreamMixin):
    auth_actions = {"POST": EXECUTE}  # a turn runs Claude Code here

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str) -> None:
        body = self.json_body("message", "model", "permission_mode", "attachments")
        identity = self.identity
        with self.lawless.chat_quota.reserve(identity.user_id):
            turn = await self.lawless.chat.start(
                identity.user_id,
                session_id,
                body.get("message"),
                model=body.get("model"),
                permission_mode=body.get("permission_mode"),
                attachments=body.get("attachments"),
            )
        # a repeat of this request (same Idempotency-Key) follows this turn, never a new one
        await self.keep_answer(200, {"turn": {"number": turn.number, "turn_id": turn.id}})
        await self.stream_turn(turn)

    async def replay(self, answer: KeptAnswer) -> None:
        """A repeated key re-attaches to the turn the first request started, from its
        first event (a refusal is answered again as it was)."""
        started = answer.body.get("turn") if answer.status == 200 else None
        if not isinstance(started, dict):
            return await super().replay(answer)
        session_id = self.path_kwargs["session_id"]
        turn = await self.lawless.chat.turn_again(
            self.identity.user_id, session_id, started["number"]
        )
        await self.stream_turn(turn)


class ChatStreamHandler(TurnStreamMixin):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        turn, after = await self.lawless.chat.reattach(
            self.identity.user_id, session_id, self._last_seen()
        )
        await self.stream_turn(turn, after)

    def _last_seen(self) -> tuple[int, int] | None:
        """(turn, event) from ``Last-Event-ID`` (or ``?last_event_id=``), if given."""
        last = self.request.headers.get("Last-Event-ID")  # when sent (even empty), it wins
        if last is None:
            last = self.get_query_argument("last_event_id", None)
        if last is None:
            return None
        number, _, seq = last.partition("-")
        if not (digits(number) and digits(seq)):
            raise InvalidInput("Last-Event-ID must look like '<turn>-<event>', e.g. '3-17'.")
        return int(number), int(seq)


class FreeChatHandler(TurnStreamMixin):
    auth_actions = {"POST": EXECUTE}  # a turn runs Claude Code here

    @web.authenticated
    @authorized
    @idempotent
    async def post(self) -> None:
        body = self.json_body("message", "conversation_id")
        identity = self.identity
        with self.lawless.chat_quota.reserve(identity.user_id):
            turn = await self.lawless.chat.start_free(
                identity.user_id, body.get("conversation_id"), body.get("message")
            )
        started = {"number": turn.number, "turn_id": turn.id}
        await self.keep_answer(200, {"turn": started, "conversation_id": turn.conversation_id})
        await self.stream_turn(turn)

    async def replay(self, answer: KeptAnswer) -> None:
        """As for a session's chat: a repeated key follows the turn the first one started."""
        started = answer.body.get("turn") if answer.status == 200 else None
        if not isinstance(started, dict):
            return await super().replay(answer)
        turn = await self.lawless.chat.free_turn_again(
            self.identity.user_id, answer.body["conversation_id"], started["number"]
        )
        await self.stream_turn(turn)


class ChatCancelHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        self.json_body()  # takes no fields
        self.reply(await self.lawless.chat.cancel(self.identity.user_id, session_id))


class ApprovalHandler(LawlessHandler):
    auth_actions = {"POST": EXECUTE}  # an allow lets Claude run a command

    @web.authenticated
    @authorized
    @idempotent
    async def post(self, session_id: str, request_id: str) -> None:
        body = self.json_body("decision", "remember")
        result = await self.lawless.chat.answer(
            self.identity.user_id,
            session_id,
            request_id,
            body.get("decision"),
            body.get("remember"),
        )
        self.reply(result)


class ChatRulesHandler(LawlessHandler):
    """What "Always allow" remembered in the session; DELETE forgets one (``?rule=``) or all."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        self.reply(await self.lawless.chat.rules(self.identity.user_id, session_id))

    @web.authenticated
    @authorized
    async def delete(self, session_id: str) -> None:
        rule = self.get_query_argument("rule", None)
        self.reply(await self.lawless.chat.forget_rules(self.identity.user_id, session_id, rule))


class MessagesHandler(LawlessHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        after = self.get_query_argument("after", "0")
        limit = self.get_query_argument("limit", "200")
        if not (digits(after) and digits(limit)):
            raise InvalidInput("'after' and 'limit' must be whole numbers.")
        result = await self.lawless.chat.messages(
            self.identity.user_id, session_id, after=int(after), limit=int(limit)
        )
        self.reply(result)
