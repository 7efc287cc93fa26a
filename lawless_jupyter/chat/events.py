"""Claude Agent SDK messages -> the chat stream's event vocabulary, and what history keeps.

Pure functions over the SDK's typed messages (the SDK parses Claude Code's stream-json;
we never do). Each message gives the events to send and the history rows to append.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    ResultMessage,
    StreamEvent,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)

from .rules import SHELL, runs_git_hooks

MAX_TOOL_RESULT_CHARS = 20_000
MAX_TOOL_INPUT_CHARS = 20_000  # per string in a tool's input (a Write's whole file)


@dataclass
class Translation:
    events: list[dict[str, Any]] = field(default_factory=list)
    history: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (role, content)
    claude_session_id: str | None = None
    result: ResultMessage | None = None


def _clip(text: str, limit: int = MAX_TOOL_RESULT_CHARS) -> str:
    return (
        text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"
    )


def clip_input(value: Any, limit: int = MAX_TOOL_INPUT_CHARS) -> Any:
    """A tool's input with each long string cut, the cut said in the text: events and
    history show a Write's first 20,000 characters, not a megabyte per event (the file
    itself is written whole by Claude Code)."""
    if isinstance(value, str):
        return _clip(value, limit)
    if isinstance(value, dict):
        return {k: clip_input(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [clip_input(v, limit) for v in value]
    return value


def tool_result_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for item in content:
        if isinstance(item, dict) and item.get("type") == "text":
            parts.append(item.get("text", ""))
        elif isinstance(item, dict):
            parts.append(f"[{item.get('type', 'content')}]")
    return "\n".join(parts)


MAX_RESULT_IMAGES = 4  # images of one tool result kept for the panel
MAX_IMAGE_CHARS = 256 * 1024  # base64 per image; a larger one is named in the text only
IMAGE_TYPES = ("image/png", "image/jpeg")


def tool_result_images(content: Any) -> list[dict[str, str]]:
    """The images of a tool result (a notebook tool's plot), for the panel to show:
    PNG and JPEG only, at most MAX_RESULT_IMAGES of at most MAX_IMAGE_CHARS each."""
    if not isinstance(content, list):
        return []
    found = []
    for item in content:
        if not isinstance(item, dict) or item.get("type") != "image":
            continue
        source = item.get("source") if isinstance(item.get("source"), dict) else item
        media_type = source.get("media_type") or source.get("mimeType")
        data = source.get("data")
        if media_type in IMAGE_TYPES and isinstance(data, str) and len(data) <= MAX_IMAGE_CHARS:
            found.append({"media_type": media_type, "data": data})
    return found[:MAX_RESULT_IMAGES]


def explain_api_error(code: str, said: str) -> str:
    """A message a person can act on, for the error kinds Claude Code reports."""
    if code == "authentication_failed":
        return (
            "Claude is not configured on this server: there is no valid API key or login. "
            "Set ANTHROPIC_API_KEY (or log in with `claude login`, or configure Bedrock or "
            f"Vertex) in the server's environment and restart it. Claude Code said: {said}"
        )
    if code in ("server_error", "overloaded"):
        return f"Claude's API is not answering right now; try again in a moment. ({said})"
    if code == "rate_limit":  # the API's own limits, or a hub's budget: said says which
        return f"Claude's API is limiting requests: {said}"
    return said or f"Claude's API answered an error ({code})."


def translate(
    message: Any, turn_cost: Callable[[float | None], float | None] | None = None
) -> Translation:
    """``turn_cost``: a turn's own cost from Claude Code's running total (its process's
    ``LiveClaude.turn_cost``); without it the total is taken as the turn's."""
    out = Translation()
    if isinstance(message, StreamEvent):
        if message.parent_tool_use_id is not None:
            return out  # a sub-agent's stream: its tool uses and results still show up
        event = message.event
        if event.get("type") == "content_block_delta":
            delta = event.get("delta", {})
            if delta.get("type") == "text_delta" and delta.get("text"):
                out.events.append({"type": "text", "delta": delta["text"]})
            elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
                out.events.append({"type": "thinking", "delta": delta["thinking"]})
    elif isinstance(message, AssistantMessage):
        for block in message.content:
            if message.error:
                break  # a synthetic message that carries an API error, handled below
            if isinstance(block, TextBlock) and message.parent_tool_use_id is None:
                out.history.append(("assistant", {"text": block.text}))
            elif isinstance(block, ThinkingBlock):
                out.history.append(("thinking", {"text": block.thinking}))
            elif isinstance(block, ToolUseBlock):
                item = {"id": block.id, "name": block.name, "input": clip_input(block.input)}
                if block.name == SHELL and runs_git_hooks(block.input.get("command")):
                    item["runs_git_hooks"] = True  # the panel says so on the command
                out.events.append({"type": "tool_use", **item})
                out.history.append(("tool_use", item))
        if message.error:
            said = " ".join(b.text for b in message.content if isinstance(b, TextBlock))
            text = explain_api_error(str(message.error), said)
            out.events.append({"type": "error", "code": str(message.error), "message": text})
            out.history.append(("error", {"message": text, "code": str(message.error)}))
    elif isinstance(message, UserMessage) and isinstance(message.content, list):
        for block in message.content:
            if isinstance(block, ToolResultBlock):
                item = {
                    "tool_use_id": block.tool_use_id,
                    "content": _clip(tool_result_text(block.content)),
                    "is_error": bool(block.is_error),
                }
                images = tool_result_images(block.content)
                if images:
                    item["images"] = images
                out.events.append({"type": "tool_result", **item})
                out.history.append(("tool_result", item))
    elif isinstance(message, ResultMessage):
        out.result = message
        # remembered only now: Claude Code has written the transcript that resume reads
        out.claude_session_id = message.session_id
        usage = {
            "usage": message.usage or {},
            "total_cost_usd": message.total_cost_usd,
            "cost_usd": (turn_cost or _same)(message.total_cost_usd),
            "duration_ms": message.duration_ms,
            "num_turns": message.num_turns,
        }
        out.events.append({"type": "usage", **usage})
        out.history.append(("usage", usage))
    return out


def _same(total: float | None) -> float | None:
    return total


_REPLAYED = {"assistant": "text", "thinking": "thinking"}


def replay(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A finished turn's events rebuilt from its stored history rows (whole blocks where
    the live stream had pieces), for a client that re-attaches after its replay log went."""
    events: list[dict[str, Any]] = []
    for row in rows:
        role, content = row["role"], row["content"]
        if role in _REPLAYED:
            events.append({"type": _REPLAYED[role], "delta": content.get("text", "")})
        elif role in ("tool_use", "tool_result", "usage", "error"):
            events.append({"type": role, **content})
    return events
