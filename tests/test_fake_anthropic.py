"""Smoke tests: the REAL Claude Code CLI bundled in claude-agent-sdk, driven through
``ClaudeSDKClient``, against ``FakeAnthropic`` on loopback.

They check the fake and document how the SDK behaves; findings are written up in
tests/FAKE_ANTHROPIC_NOTES.md. Each test takes about a second.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    Message,
    PermissionResultAllow,
    PermissionResultDeny,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ThinkingBlock,
    ToolPermissionContext,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)

from .fake_anthropic import FakeAnthropic, error, text, thinking, tool_use

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def workdir(tmp_path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def options(fake: FakeAnthropic, tmp_path: Path, cwd: Path, **kw: Any) -> ClaudeAgentOptions:
    """Options for a CLI isolated in tmp_path and pointed at the fake."""
    env = fake.env(
        CLAUDE_CONFIG_DIR=str(tmp_path / "claude-config"),  # .claude.json, sessions (resume)
        CLAUDE_CODE_TMPDIR=str(tmp_path / "claude-tmp"),  # else /tmp/claude-<uid>/...
        CLAUDE_CODE_MAX_RETRIES="0",  # default 10 retries with backoff: ~3 min on a 5xx
    )
    env.update(kw.pop("env", {}))
    return ClaudeAgentOptions(cwd=str(cwd), env=env, **kw)


async def run_turn(
    client: ClaudeSDKClient, prompt: str, on_message=None, timeout: float = 20
) -> list[Message]:
    """Send a prompt and collect messages up to and including the ResultMessage."""
    await client.query(prompt)
    out: list[Message] = []
    with anyio.fail_after(timeout):
        async for message in client.receive_response():
            out.append(message)
            if on_message is not None:
                await on_message(message)
    return out


def of_type(messages: list[Message], cls: type) -> list[Any]:
    return [m for m in messages if isinstance(m, cls)]


def result_of(messages: list[Message]) -> ResultMessage:
    assert isinstance(messages[-1], ResultMessage), messages[-1]
    return messages[-1]


def request_texts(body: dict[str, Any]) -> list[str]:
    """All text and tool_result contents in a request's messages, in order."""
    out: list[str] = []
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            out.append(content)
            continue
        for block in content:
            if block.get("type") == "text":
                out.append(block["text"])
            elif block.get("type") == "tool_result":
                inner = block.get("content")
                out.append(inner if isinstance(inner, str) else str(inner))
    return out


async def eventually(check, timeout: float = 3.0) -> bool:
    """Poll ``check()`` until true or timeout (for counters the fake's threads update)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await anyio.sleep(0.02)
    return True


def in_order(seq: list[str], *items: str) -> bool:
    """``items`` occur in ``seq`` in this order (not necessarily next to each other)."""
    it = iter(seq)
    return all(any(x == item for x in it) for item in items)


def text_deltas(messages: list[Message]) -> list[str]:
    return [
        m.event["delta"]["text"]
        for m in of_type(messages, StreamEvent)
        if m.event["type"] == "content_block_delta" and m.event["delta"]["type"] == "text_delta"
    ]


# --------------------------------------------------------------------------
# (a) streamed text
# --------------------------------------------------------------------------


async def test_streamed_text_arrives_as_ordered_deltas(fake, tmp_path, workdir):
    answer = "Hello there, this answer is streamed in pieces."
    fake.add(text(answer, chunks=5), text("second"))
    opts = options(fake, tmp_path, workdir, include_partial_messages=True)

    # timings: connect() -> first StreamEvent (cold CLI), query() -> first StreamEvent (warm)
    clock = {"start": time.monotonic()}
    client = ClaudeSDKClient(opts)
    await client.connect()
    clock["connected"] = time.monotonic() - clock["start"]

    async def stamp(message: Message) -> None:
        if isinstance(message, StreamEvent) and "first" not in clock:
            clock["first"] = time.monotonic() - clock["start"]

    try:
        messages = await run_turn(client, "Say hello", stamp)
        cold = clock.pop("first")
        clock["start"] = time.monotonic()
        second = await run_turn(client, "Again", stamp)
        warm = clock.pop("first")
    finally:
        await client.disconnect()
    print(
        f"\nconnect() {clock['connected']:.2f}s; first StreamEvent: "
        f"cold {cold:.2f}s after connect() began, warm {warm:.3f}s after query()"
    )
    assert cold < 20 and warm < 5

    init = messages[0]
    assert isinstance(init, SystemMessage) and init.subtype == "init"
    session_id = init.data["session_id"]
    assert init.data["cwd"] == str(workdir)

    deltas = text_deltas(messages)
    assert len(deltas) == 5 and "".join(deltas) == answer
    kinds = [m.event["type"] for m in of_type(messages, StreamEvent)]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.index("content_block_start") < kinds.index("content_block_delta")
    assert "message_delta" in kinds and "ping" not in kinds  # the CLI swallows pings

    (assistant,) = of_type(messages, AssistantMessage)
    assert assistant.content == [TextBlock(text=answer)]
    assert assistant.session_id == session_id and assistant.error is None
    # the AssistantMessage is emitted when its block closes, before the last deltas of the
    # stream (content_block_stop / message_delta / message_stop): don't wait for it to render
    last_delta = max(
        i
        for i, m in enumerate(messages)
        if isinstance(m, StreamEvent) and m.event["type"] == "content_block_delta"
    )
    assert last_delta < messages.index(assistant) < len(messages) - 1

    result = result_of(messages)
    assert result.subtype == "success" and result.is_error is False
    assert result.result == answer and result.session_id == session_id
    assert result.num_turns == 1 and result.stop_reason == "end_turn"
    assert result.usage["input_tokens"] == 10 and result.usage["output_tokens"] == 5
    assert result.total_cost_usd is not None and result.total_cost_usd > 0

    assert text_deltas(second) == ["second"] and result_of(second).session_id == session_id
    assert len(fake.main_requests) == 2 and fake.side_requests == []
    first_request = fake.main_requests[0]
    assert first_request["stream"] is True and first_request["tools"]
    assert "Say hello" in request_texts(first_request)


# --------------------------------------------------------------------------
# (b) Write tool in acceptEdits mode
# --------------------------------------------------------------------------


async def test_write_tool_writes_file_in_accept_edits_mode(fake, tmp_path, workdir):
    fake.add(
        tool_use("Write", {"file_path": "hello.txt", "content": "hi there\n"}, preamble="Writing."),
        text("Done writing."),
    )
    opts = options(fake, tmp_path, workdir, permission_mode="acceptEdits")
    async with ClaudeSDKClient(opts) as client:
        messages = await run_turn(client, "Write hello.txt")

    assert (workdir / "hello.txt").read_text() == "hi there\n"
    assistants = of_type(messages, AssistantMessage)
    # one AssistantMessage per content block, all with the same message_id
    assert [type(b) for a in assistants for b in a.content] == [TextBlock, ToolUseBlock, TextBlock]
    assert assistants[0].message_id == assistants[1].message_id != assistants[2].message_id
    tool_block = assistants[1].content[0]
    assert tool_block.name == "Write" and tool_block.input["content"] == "hi there\n"
    (user,) = of_type(messages, UserMessage)
    (tool_result,) = user.content
    assert isinstance(tool_result, ToolResultBlock)
    assert tool_result.tool_use_id == tool_block.id and not tool_result.is_error
    assert user.tool_use_result["type"] == "create"

    result = result_of(messages)
    assert result.subtype == "success" and result.result == "Done writing."
    assert result.num_turns == 2

    # the second model call carries the tool_result for the scripted tool_use id
    assert len(fake.main_requests) == 2
    last = fake.main_requests[1]["messages"]
    results = [
        b
        for m in last
        if isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert [b["tool_use_id"] for b in results] == [tool_block.id]


# --------------------------------------------------------------------------
# (c) can_use_tool: deny, then allow
# --------------------------------------------------------------------------


async def test_can_use_tool_denies_and_allows_bash(fake, tmp_path, workdir):
    fake.add(
        tool_use("Bash", {"command": "touch denied.txt", "description": "create a file"}),
        text("Understood, not running it."),
        tool_use("Bash", {"command": "touch allowed.txt", "description": "create a file"}),
        text("Ran it."),
    )
    calls: list[tuple[str, dict[str, Any], ToolPermissionContext]] = []

    async def can_use_tool(name: str, tool_input: dict[str, Any], context: ToolPermissionContext):
        calls.append((name, tool_input, context))
        if "denied" in tool_input.get("command", ""):
            return PermissionResultDeny(message="Not allowed by the test")
        return PermissionResultAllow()

    # "default" mode: acceptEdits would auto-approve `touch` in cwd without asking
    opts = options(fake, tmp_path, workdir, permission_mode="default", can_use_tool=can_use_tool)
    async with ClaudeSDKClient(opts) as client:
        denied = await run_turn(client, "Create denied.txt")
        allowed = await run_turn(client, "Create allowed.txt")

    assert [(name, tool_input["command"]) for name, tool_input, _ in calls] == [
        ("Bash", "touch denied.txt"),
        ("Bash", "touch allowed.txt"),
    ]
    tool_use_ids = [
        b.id
        for m in of_type(denied + allowed, AssistantMessage)
        for b in m.content
        if isinstance(b, ToolUseBlock)
    ]
    assert [ctx.tool_use_id for _, _, ctx in calls] == tool_use_ids

    assert not (workdir / "denied.txt").exists()
    (denied_user,) = of_type(denied, UserMessage)
    assert denied_user.content[0].is_error is True
    assert denied_user.content[0].content == "Not allowed by the test"
    denied_result = result_of(denied)
    assert denied_result.subtype == "success" and denied_result.is_error is False
    assert [d["tool_name"] for d in denied_result.permission_denials] == ["Bash"]

    assert (workdir / "allowed.txt").exists()
    (allowed_user,) = of_type(allowed, UserMessage)
    assert allowed_user.content[0].is_error is False
    assert result_of(allowed).result == "Ran it."
    assert result_of(allowed).permission_denials == []


# --------------------------------------------------------------------------
# (d) two turns on one client, then resume in a new client
# --------------------------------------------------------------------------


async def test_two_turns_then_resume_in_new_client(fake, tmp_path, workdir):
    fake.add(text("first answer"), text("second answer"), text("third answer"))
    async with ClaudeSDKClient(options(fake, tmp_path, workdir)) as client:
        pid = client._transport._process.pid  # private; only to show the CLI stays up
        one = await run_turn(client, "question one")
        two = await run_turn(client, "question two")
        assert (
            client._transport._process.pid == pid and client._transport._process.returncode is None
        )
    session_id = result_of(one).session_id
    assert result_of(two).session_id == session_id
    assert result_of(two).result == "second answer"
    assert in_order(request_texts(fake.main_requests[1]), "question one", "first answer")
    assert request_texts(fake.main_requests[1])[-1] == "question two"

    # same CLAUDE_CONFIG_DIR and cwd: the transcript is in <config>/projects/<cwd-slug>/<id>.jsonl
    transcripts = list((tmp_path / "claude-config" / "projects").glob(f"*/{session_id}.jsonl"))
    assert len(transcripts) == 1

    opts = options(fake, tmp_path, workdir, resume=session_id)
    async with ClaudeSDKClient(opts) as client:
        three = await run_turn(client, "question three")
    assert result_of(three).result == "third answer"
    assert result_of(three).session_id == session_id  # resume keeps the id (fork_session=False)
    history = request_texts(fake.main_requests[2])
    assert in_order(history, "question one", "first answer", "question two", "second answer")
    assert history[-1] == "question three"


# --------------------------------------------------------------------------
# (e) API errors: 500 / 529, retries
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"), [(500, "Internal server error"), (529, "Overloaded")]
)
async def test_api_error_without_retries(fake, tmp_path, workdir, status, message):
    fake.add(error(status, times=None))
    started = time.monotonic()
    async with ClaudeSDKClient(options(fake, tmp_path, workdir)) as client:
        messages = await run_turn(client, "hello")
    elapsed = time.monotonic() - started
    print(f"\n{status} with CLAUDE_CODE_MAX_RETRIES=0: ResultMessage after {elapsed:.2f}s")

    assert len(fake.main_requests) == 1  # no retry
    (assistant,) = of_type(messages, AssistantMessage)
    assert assistant.model == "<synthetic>" and assistant.error == "server_error"
    assert assistant.content[0].text.startswith(f"API Error: {status} {message}.")
    result = result_of(messages)
    # not an exception, and subtype is "success": check is_error / api_error_status
    assert result.subtype == "success" and result.is_error is True
    assert result.api_error_status == status and result.terminal_reason == "api_error"
    assert result.result == assistant.content[0].text
    assert elapsed < 10


async def test_overloaded_then_recovers_with_one_retry(fake, tmp_path, workdir):
    fake.add(error(529, times=1), text("recovered"))
    opts = options(fake, tmp_path, workdir, env={"CLAUDE_CODE_MAX_RETRIES": "1"})
    started = time.monotonic()
    async with ClaudeSDKClient(opts) as client:
        messages = await run_turn(client, "hello")
    elapsed = time.monotonic() - started

    retries = [m for m in of_type(messages, SystemMessage) if m.subtype == "api_retry"]
    assert len(retries) == 1
    assert retries[0].data["error_status"] == 529 and retries[0].data["error"] == "overloaded"
    assert retries[0].data["attempt"] == 1 and retries[0].data["max_retries"] == 1
    result = result_of(messages)
    assert result.is_error is False and result.result == "recovered"
    assert len(fake.main_requests) == 2
    assert elapsed < 10  # one backoff of ~0.5-0.6 s


async def test_overloaded_inside_the_stream_falls_back_to_non_streaming(fake, tmp_path, workdir):
    # HTTP 200, then `event: error` after message_start: the CLI gives up streaming and
    # makes the same call without stream, which gets the next scripted turn
    fake.add(error(529, in_stream=True), text("from the non-streaming call"))
    async with ClaudeSDKClient(options(fake, tmp_path, workdir)) as client:
        messages = await run_turn(client, "hello")
    assert [r["stream"] for r in fake.main_requests] == [True, False]
    assert result_of(messages).result == "from the non-streaming call"


# --------------------------------------------------------------------------
# (f) interrupt in the middle of a slow stream
# --------------------------------------------------------------------------


async def test_interrupt_mid_stream(fake, tmp_path, workdir):
    slow = "".join(f"w{i} " for i in range(40))
    fake.add(text(slow, chunks=40, delay=0.05), text("after the interrupt"))
    opts = options(fake, tmp_path, workdir, include_partial_messages=True)
    seen: list[str] = []
    interrupted_at: list[float] = []

    async with ClaudeSDKClient(opts) as client:

        async def interrupt_after_five(message: Message) -> None:
            if isinstance(message, StreamEvent) and message.event["type"] == "content_block_delta":
                seen.append(message.event["delta"]["text"])
                if len(seen) == 5 and not interrupted_at:
                    interrupted_at.append(time.monotonic())
                    await client.interrupt()

        messages = await run_turn(client, "go slowly", interrupt_after_five)
        to_result = time.monotonic() - interrupted_at[0]
        print(f"\ninterrupt() -> ResultMessage {to_result:.3f}s")
        after = await run_turn(client, "next")

    assistant = of_type(messages, AssistantMessage)[-1]
    partial = assistant.content[0].text
    assert partial.startswith("".join(seen[:5])) and slow.startswith(partial) and partial != slow
    users = of_type(messages, UserMessage)
    assert [u.content for u in users] == [[TextBlock(text="[Request interrupted by user]")]]
    result = result_of(messages)
    assert result.subtype == "error_during_execution" and result.is_error is True
    assert result.terminal_reason == "aborted_streaming"
    assert to_result < 5

    # the stream was cut on the fake's side too
    assert await eventually(lambda: fake.client_disconnects == 1)

    # the same client goes on; the next request has the partial answer and the marker
    assert result_of(after).result == "after the interrupt"
    history = request_texts(fake.main_requests[1])
    assert history[-3:] == [partial, "[Request interrupted by user]\n", "next"]


# --------------------------------------------------------------------------
# extra: thinking blocks, side requests
# --------------------------------------------------------------------------


async def test_thinking_block(fake, tmp_path, workdir):
    fake.add(thinking("Let me think about it.", "The answer.", chunks=2))
    opts = options(fake, tmp_path, workdir, include_partial_messages=True)
    async with ClaudeSDKClient(opts) as client:
        messages = await run_turn(client, "think")
    deltas = [
        m.event["delta"]
        for m in of_type(messages, StreamEvent)
        if m.event["type"] == "content_block_delta"
    ]
    assert [d["type"] for d in deltas] == [
        "thinking_delta",
        "thinking_delta",
        "signature_delta",
        "text_delta",
        "text_delta",
    ]
    blocks = [b for m in of_type(messages, AssistantMessage) for b in m.content]
    assert blocks == [
        ThinkingBlock(thinking="Let me think about it.", signature="fake-signature"),
        TextBlock(text="The answer."),
    ]
    assert any(m.subtype == "thinking_tokens" for m in of_type(messages, SystemMessage))
    assert result_of(messages).result == "The answer."


async def test_side_request_does_not_consume_the_script(fake, tmp_path, workdir):
    fake.add(text("one"), text("two"))
    async with ClaudeSDKClient(options(fake, tmp_path, workdir)) as client:
        first = await run_turn(client, "1")
        await client.set_model("claude-haiku-4-5")  # makes the CLI check the model first
        second = await run_turn(client, "2")
    assert result_of(first).result == "one" and result_of(second).result == "two"
    (side,) = fake.side_requests
    assert side["max_tokens"] == 1 and "tools" not in side and not side.get("stream")
    assert side["model"] == "claude-haiku-4-5"
    assert fake.main_requests[1]["model"] == "claude-haiku-4-5"


async def test_interrupt_while_permission_is_pending_cancels_the_callback(fake, tmp_path, workdir):
    fake.add(tool_use("Bash", {"command": "touch never.txt", "description": "x"}), text("later"))
    asked = anyio.Event()
    outcome: list[str] = []

    async def can_use_tool(name: str, tool_input: dict[str, Any], context: ToolPermissionContext):
        asked.set()
        try:
            await anyio.sleep(60)  # a user who never answers
        except BaseException as exc:  # the SDK cancels the callback's task
            outcome.append(type(exc).__name__)
            raise
        return PermissionResultAllow()

    opts = options(fake, tmp_path, workdir, can_use_tool=can_use_tool)
    async with ClaudeSDKClient(opts) as client:

        async def interrupt_when_asked() -> None:
            with anyio.fail_after(20):
                await asked.wait()
            await client.interrupt()

        async with anyio.create_task_group() as tg:
            tg.start_soon(interrupt_when_asked)
            messages = await run_turn(client, "touch it")
        after = await run_turn(client, "next")

    assert outcome == ["CancelledError"]
    assert not (workdir / "never.txt").exists()
    users = of_type(messages, UserMessage)
    assert users[0].content[0].is_error is True
    assert users[-1].content == [TextBlock(text="[Request interrupted by user for tool use]")]
    result = result_of(messages)
    assert result.subtype == "error_during_execution" and result.is_error is True
    assert result.terminal_reason == "aborted_tools"
    assert result_of(after).result == "later"


async def test_interrupt_before_the_first_token(fake, tmp_path, workdir):
    gate = threading.Event()  # the fake sends message_start, then waits for this
    fake.add(text("too late", hold=gate))
    opts = options(fake, tmp_path, workdir, include_partial_messages=True)
    async with ClaudeSDKClient(opts) as client:

        async def interrupt_when_requested() -> None:
            assert await anyio.to_thread.run_sync(fake.wait_for_requests, 1, 20)
            await anyio.sleep(0.2)
            await client.interrupt()

        async with anyio.create_task_group() as tg:
            tg.start_soon(interrupt_when_requested)
            messages = await run_turn(client, "hello")

    gate.set()
    assert not of_type(messages, AssistantMessage)
    assert [u.content for u in of_type(messages, UserMessage)] == [
        [TextBlock(text="[Request interrupted by user]")]
    ]
    result = result_of(messages)
    assert result.subtype == "error_during_execution" and result.is_error is True
    assert result.terminal_reason == "aborted_streaming"
    assert await eventually(lambda: fake.client_disconnects == 1)
    assert fake.completed_streams == 0
