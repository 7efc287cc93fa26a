"""A scripted FAKE of the Anthropic Messages API, for tests only.

``FakeAnthropic`` serves ``POST /v1/messages`` (streaming SSE and plain JSON)
and ``POST /v1/messages/count_tokens`` on 127.0.0.1 with a random free port,
from a background thread (stdlib ``http.server`` only, no dependency). Point
the real Claude Code CLI (the one bundled in claude-agent-sdk) at it with the
env vars from ``fake.env()``::

    with FakeAnthropic([text("Hello there", chunks=3),
                        tool_use("Write", {"file_path": "a.txt", "content": "x"}),
                        text("done")]) as fake:
        options = ClaudeAgentOptions(cwd=..., env=fake.env(CLAUDE_CONFIG_DIR=...))
        ...
        assert fake.main_requests[1]["messages"][-1]["content"][0]["type"] == "tool_result"

Scripting: the test queues "turns"; each *main conversation* request (one
model call of the agent loop) pops the next one. Side requests that the CLI
makes on its own (e.g. the ``max_tokens: 1`` model check after ``set_model``)
never consume the script: see :func:`is_main_request`. When the queue is empty
every main request is answered with ``default_text`` ("ok"), so stray requests
never hang.

See tests/FAKE_ANTHROPIC_NOTES.md for what the CLI sends and how the SDK
surfaces each answer.
"""

from __future__ import annotations

import gzip
import itertools
import json
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Block",
    "FakeAnthropic",
    "RecordedRequest",
    "ScriptedError",
    "ScriptedTurn",
    "error",
    "is_main_request",
    "text",
    "thinking",
    "tool_use",
    "turn",
]

# --------------------------------------------------------------------------
# Script items
# --------------------------------------------------------------------------


@dataclass
class Block:
    """One content block of a scripted assistant message."""

    type: str  # "text" | "thinking" | "tool_use"
    text: str = ""  # text, or the thinking text
    name: str = ""  # tool_use: tool name
    input: dict[str, Any] = field(default_factory=dict)  # tool_use: tool input
    id: str = ""  # tool_use: id (generated when empty)


@dataclass
class ScriptedTurn:
    """A scripted assistant message, streamed as real Messages API SSE events.

    ``chunks``: each text/thinking block is split into that many deltas, and a
    tool_use input JSON into that many ``input_json_delta`` pieces.
    ``delay``: seconds slept before each delta (lets a test interrupt or
    disconnect mid-stream). ``hold``: a ``threading.Event`` the stream waits
    for after ``message_start`` (the test decides when the answer goes on).
    ``drop_after``: close the connection abruptly after that many deltas
    (a network failure: no ``message_stop``).
    """

    blocks: list[Block]
    stop_reason: str | None = None  # None: "tool_use" if any tool_use, else "end_turn"
    chunks: int = 1
    delay: float = 0.0
    hold: threading.Event | None = None
    drop_after: int | None = None
    input_tokens: int = 10
    output_tokens: int = 5

    @property
    def effective_stop_reason(self) -> str:
        if self.stop_reason:
            return self.stop_reason
        if any(b.type == "tool_use" for b in self.blocks):
            return "tool_use"
        return "end_turn"


@dataclass
class ScriptedError:
    """An API error with the real error JSON shape.

    ``times``: how many consecutive main requests it answers (the CLI retries,
    and each retry consumes one); ``None`` means every main request from now on.
    ``in_stream``: answer HTTP 200 and send the error as an SSE ``error`` event
    after ``message_start`` (what the real API does when it fails mid-stream).
    ``x-should-retry`` is sent as the real API does ("true" for 408/409/429/5xx,
    else "false") unless ``headers`` sets it.
    """

    status: int
    type: str
    message: str
    times: int | None = 1
    in_stream: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": self.type, "message": self.message},
            "request_id": "req_fake_" + uuid.uuid4().hex[:20],
        }

    def response_headers(self) -> dict[str, str]:
        retry = self.status in (408, 409, 429) or self.status >= 500
        return {"x-should-retry": "true" if retry else "false", **self.headers}


# -- helper constructors ---------------------------------------------------


def text(
    s: str,
    *,
    chunks: int = 1,
    delay: float = 0.0,
    hold: threading.Event | None = None,
    drop_after: int | None = None,
    stop_reason: str | None = None,
) -> ScriptedTurn:
    """A plain text answer, streamed as ``chunks`` text_delta events."""
    return ScriptedTurn(
        [Block("text", text=s)],
        chunks=chunks,
        delay=delay,
        hold=hold,
        drop_after=drop_after,
        stop_reason=stop_reason,
    )


def thinking(
    thought: str, answer: str = "ok", *, chunks: int = 1, delay: float = 0.0
) -> ScriptedTurn:
    """A thinking block (thinking_delta..., signature_delta) followed by text."""
    return ScriptedTurn(
        [Block("thinking", text=thought), Block("text", text=answer)], chunks=chunks, delay=delay
    )


def tool_use(
    name: str,
    input: dict[str, Any],
    *,
    preamble: str | None = None,
    thought: str | None = None,
    id: str = "",
    chunks: int = 3,
    delay: float = 0.0,
) -> ScriptedTurn:
    """A tool_use block, optionally preceded by a thinking block and/or text."""
    blocks: list[Block] = []
    if thought:
        blocks.append(Block("thinking", text=thought))
    if preamble:
        blocks.append(Block("text", text=preamble))
    blocks.append(Block("tool_use", name=name, input=dict(input), id=id))
    return ScriptedTurn(blocks, chunks=chunks, delay=delay)


def turn(*blocks: Block, **kw: Any) -> ScriptedTurn:
    """Any block sequence, e.g. two parallel tool_use blocks."""
    return ScriptedTurn(list(blocks), **kw)


_ERROR_DEFAULTS = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Permission denied"),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request too large"),
    429: ("rate_limit_error", "Rate limited"),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def error(
    status: int = 500,
    type: str | None = None,
    message: str | None = None,
    *,
    times: int | None = 1,
    in_stream: bool = False,
    headers: dict[str, str] | None = None,
) -> ScriptedError:
    """An API error, e.g. ``error(529)``: overloaded_error / "Overloaded"."""
    default_type, default_message = _ERROR_DEFAULTS.get(status, ("api_error", "Error"))
    return ScriptedError(
        status,
        type or default_type,
        message or default_message,
        times=times,
        in_stream=in_stream,
        headers=dict(headers or {}),
    )


# --------------------------------------------------------------------------
# Request classification
# --------------------------------------------------------------------------


def is_main_request(body: dict[str, Any]) -> bool:
    """True for a model call of the agent loop (the conversation itself).

    Every agent-loop request of Claude Code carries a ``tools`` key (``[]``
    when all tools are disabled) and a real ``max_tokens``. The side requests
    seen from CLI 2.1.332 have no ``tools`` key: the model check after
    ``set_model`` (``max_tokens: 1``, non-streaming, one "Hi" message). Title
    or summary requests, where the CLI sends them, have no tools either.
    """
    return "tools" in body and (body.get("max_tokens") or 0) > 1


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    main: bool
    time: float


class FakeAnthropic:
    """Scripted fake of the Anthropic Messages API on 127.0.0.1:<random port>.

    For assertions:
      ``requests``           JSON bodies of every ``POST /v1/messages`` (main + side)
      ``main_requests``      bodies of the main-conversation requests only
      ``side_requests``      bodies of the other ``/v1/messages`` requests
      ``log``                every HTTP request received (``RecordedRequest``), any path
      ``completed_streams``  SSE answers sent through ``message_stop``
      ``client_disconnects`` SSE answers the client closed before the end
      ``dropped_streams``    SSE answers cut on purpose (``drop_after``)
    """

    def __init__(
        self,
        turns: list[ScriptedTurn | ScriptedError] | None = None,
        *,
        default_text: str = "ok",
        side_text: str = "Fake title",
        model: str | None = None,
        classify: Callable[[dict[str, Any]], bool] = is_main_request,
        nodelay: bool = False,
    ) -> None:
        # nodelay: each event leaves as it is written (TCP_NODELAY), as from an API edge
        # server. Off (the default, which every earlier benchmark figure was measured with),
        # the first write of an answer on a kept-alive connection waits for the client's
        # ACK of the answer before, which libcurl delays ~40 ms (benchmarks/bench_hub.py).
        self.nodelay = nodelay
        self._queue: list[ScriptedTurn | ScriptedError] = list(turns or [])
        self._error_used = 0
        self.default_text = default_text
        self.side_text = side_text
        self.model = model
        self.classify = classify
        self.requests: list[dict[str, Any]] = []
        self.main_requests: list[dict[str, Any]] = []
        self.side_requests: list[dict[str, Any]] = []
        self.log: list[RecordedRequest] = []
        self.completed_streams = 0
        self.client_disconnects = 0
        self.dropped_streams = 0
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeAnthropic:
        if self._server is not None:
            return self
        handler = type(
            "FakeAnthropicHandler",
            (_Handler,),
            {"fake": self, "disable_nagle_algorithm": self.nodelay},
        )
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeAnthropic:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; streams in progress are cut at their next delta."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeAnthropic is not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        """Env vars (for ``ClaudeAgentOptions.env``) pointing the CLI at this fake."""
        return {
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": "sk-ant-fake-key",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            **extra,
        }

    # -- scripting -----------------------------------------------------------

    def add(self, *turns: ScriptedTurn | ScriptedError) -> None:
        """Append scripted turns to the queue."""
        with self._cond:
            self._queue.extend(turns)

    @property
    def pending(self) -> int:
        """Scripted turns not consumed yet."""
        with self._cond:
            return len(self._queue)

    def wait_for_requests(self, n: int, timeout: float = 10.0, *, main: bool = True) -> bool:
        """Block until at least ``n`` (main) requests arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.main_requests if main else self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # -- used by the handler -------------------------------------------------

    def _next_for_main(self) -> ScriptedTurn | ScriptedError | None:
        with self._cond:
            if not self._queue:
                return None
            item = self._queue[0]
            if isinstance(item, ScriptedError):
                if item.times is None:
                    return item
                self._error_used += 1
                if self._error_used >= item.times:
                    self._queue.pop(0)
                    self._error_used = 0
                return item
            return self._queue.pop(0)

    def _record(self, rec: RecordedRequest) -> None:
        with self._cond:
            self.log.append(rec)
            if rec.path.split("?")[0] == "/v1/messages" and isinstance(rec.body, dict):
                self.requests.append(rec.body)
                (self.main_requests if rec.main else self.side_requests).append(rec.body)
            self._cond.notify_all()

    def _count(self, attr: str) -> None:
        with self._cond:
            setattr(self, attr, getattr(self, attr) + 1)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):04d}{uuid.uuid4().hex[:16]}"


def _split(s: str, n: int) -> list[str]:
    """Split ``s`` into ``n`` (at most len(s), at least 1) consecutive pieces."""
    n = max(1, min(n, len(s)))
    size, rem = divmod(len(s), n)
    out, pos = [], 0
    for i in range(n):
        step = size + (1 if i < rem else 0)
        out.append(s[pos : pos + step])
        pos += step
    return out


class _Drop(Exception):
    """Raised inside a stream to cut the connection on purpose."""


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropic
    protocol_version = "HTTP/1.1"  # keep-alive, chunked SSE
    server_version = "FakeAnthropic/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    # -- plumbing ------------------------------------------------------------

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if raw and self.headers.get("Content-Encoding", "") == "gzip":
            raw = gzip.decompress(raw)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _record(self, body: Any, main: bool = False) -> None:
        self.fake._record(
            RecordedRequest(self.command, self.path, dict(self.headers), body, main, time.time())
        )

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_fake_" + uuid.uuid4().hex[:20])
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        if self.fake._stopping.is_set():
            raise _Drop()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _pause(self, seconds: float) -> None:
        """Wait, noticing a stop of the fake or the client closing the connection."""
        deadline = time.monotonic() + seconds
        while True:
            if self.fake._stopping.is_set():
                raise _Drop()
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                raise ConnectionResetError("client closed the connection")
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.02))

    def _sse(self, event: str, data: dict[str, Any]) -> None:
        self._chunk(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())

    # -- dispatch ------------------------------------------------------------

    def do_HEAD(self) -> None:
        self._record(None)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._record(None)
        if self.path.split("?")[0].startswith("/v1/models"):
            model = self.fake.model or "claude-fake-model"
            entry = {
                "type": "model",
                "id": model,
                "display_name": model,
                "created_at": "2025-01-01T00:00:00Z",
            }
            page = {"data": [entry], "has_more": False, "first_id": model, "last_id": model}
            self._send_json(200, page)
        else:
            self._send_json(200, {})

    def do_POST(self) -> None:
        body = self._read_body()
        path = self.path.split("?")[0]
        fake = self.fake
        if path == "/v1/messages/count_tokens":
            self._record(body)
            self._send_json(200, {"input_tokens": max(1, len(json.dumps(body)) // 4)})
            return
        if path != "/v1/messages" or not isinstance(body, dict):
            self._record(body)
            self._send_json(200, {})
            return

        main = bool(fake.classify(body))
        self._record(body, main)
        item = fake._next_for_main() if main else None
        if item is None:
            item = text(fake.default_text if main else fake.side_text)
        model = fake.model or body.get("model") or "claude-fake-model"
        if isinstance(item, ScriptedError) and not (item.in_stream and body.get("stream")):
            self._send_json(item.status, item.body(), item.response_headers())
        elif body.get("stream"):
            self._stream(item, model)
        else:
            assert isinstance(item, ScriptedTurn)
            self._send_json(200, self._message_json(item, model))

    # -- answers -------------------------------------------------------------

    def _content_json(self, b: Block) -> dict[str, Any]:
        if b.type == "text":
            return {"type": "text", "text": b.text}
        if b.type == "thinking":
            return {"type": "thinking", "thinking": b.text, "signature": "fake-signature"}
        if b.type == "tool_use":
            return {
                "type": "tool_use",
                "id": b.id or self.fake._new_id("toolu"),
                "name": b.name,
                "input": b.input,
            }
        raise ValueError(f"unknown block type {b.type!r}")

    @staticmethod
    def _usage(t: ScriptedTurn | None, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": t.input_tokens if t else 10,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    def _message_json(self, t: ScriptedTurn, model: str) -> dict[str, Any]:
        return {
            "id": self.fake._new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [self._content_json(b) for b in t.blocks],
            "stop_reason": t.effective_stop_reason,
            "stop_sequence": None,
            "usage": self._usage(t, t.output_tokens),
        }

    def _stream(self, t: ScriptedTurn | ScriptedError, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", "req_fake_" + uuid.uuid4().hex[:20])
        self.end_headers()
        fake = self.fake
        turn_ = t if isinstance(t, ScriptedTurn) else None
        start = {
            "id": fake._new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._usage(turn_, 1),
        }
        sent = 0

        def delta(index: int, d: dict[str, Any]) -> None:
            nonlocal sent
            assert turn_ is not None
            if turn_.drop_after is not None and sent >= turn_.drop_after:
                raise _Drop()
            if turn_.delay:
                self._pause(turn_.delay)
            self._sse(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
            )
            sent += 1

        try:
            self._sse("message_start", {"type": "message_start", "message": start})
            self._sse("ping", {"type": "ping"})
            if isinstance(t, ScriptedError):
                self._sse("error", t.body())
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            if t.hold is not None:
                while not t.hold.wait(0.05):
                    self._pause(0)
            for i, b in enumerate(t.blocks):
                if b.type == "text":
                    block = {"type": "text", "text": ""}
                elif b.type == "thinking":
                    block = {"type": "thinking", "thinking": "", "signature": ""}
                elif b.type == "tool_use":
                    block = {
                        "type": "tool_use",
                        "id": b.id or fake._new_id("toolu"),
                        "name": b.name,
                        "input": {},
                    }
                else:
                    raise ValueError(f"unknown block type {b.type!r}")
                self._sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": i, "content_block": block},
                )
                if b.type == "text":
                    for piece in _split(b.text, t.chunks):
                        delta(i, {"type": "text_delta", "text": piece})
                elif b.type == "thinking":
                    for piece in _split(b.text, t.chunks):
                        delta(i, {"type": "thinking_delta", "thinking": piece})
                    delta(i, {"type": "signature_delta", "signature": "fake-signature"})
                else:
                    for piece in _split(json.dumps(b.input), t.chunks):
                        delta(i, {"type": "input_json_delta", "partial_json": piece})
                self._sse("content_block_stop", {"type": "content_block_stop", "index": i})
            self._sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": t.effective_stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": t.output_tokens},
                },
            )
            self._sse("message_stop", {"type": "message_stop"})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            fake._count("completed_streams")
        except _Drop:
            self.close_connection = True
            fake._count("dropped_streams")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
            fake._count("client_disconnects")


# Variables of the parent environment that would change where the CLI sends
# requests or how it authenticates (the SDK passes os.environ on to the CLI).
INHERITED_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_CODE_MAX_RETRIES",
    "CLAUDE_CODE_TMPDIR",
    "CLAUDECODE",
)
