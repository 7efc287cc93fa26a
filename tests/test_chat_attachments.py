"""POST .../chat with attachments: a notebook, selected cells or an open file go to Claude as
text after the message (the real CLI, the scripted model); the history keeps their names."""

from __future__ import annotations

from .fake_anthropic import text
from .test_chat import (  # noqa: F401 (fixtures)
    chat,
    chat_config,
    chat_path,
    claude_env,
    lawless_config,
    session,
    sse,
)


def prompt_text(request: dict) -> str:
    """Every text block the request sent the model (Claude Code adds blocks of its own)."""
    texts = []
    for message in request["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        texts += [b.get("text", "") for b in blocks if b.get("type") == "text"]
    return "\n".join(texts)


async def test_attachments_reach_claude_after_the_message_and_names_are_kept(
    api,
    sse,  # noqa: F811
    session,  # noqa: F811
    fake,
):
    fake.add(text("Seen."))
    cells = "In [3]:\nprint(6 * 7)\nOut [3]:\n42\n"
    big = "x" * 25_000
    stream = await chat(
        sse,
        session,
        "What does the cell print?",
        attachments=[
            {"name": "analysis.ipynb: cell 3", "text": cells},
            {"name": "big.log", "text": big},
        ],
    )
    events = await stream.rest()
    assert events[-1][1]["type"] == "done" and events[-1][1]["stop_reason"] == "end_turn"
    sent = prompt_text(fake.main_requests[0])
    message_at = sent.index("What does the cell print?")
    cell_at = sent.index(
        "Attached: analysis.ipynb: cell 3\n```\nIn [3]:\nprint(6 * 7)\nOut [3]:\n42"
    )
    big_at = sent.index("Attached: big.log")
    assert message_at < cell_at < big_at
    assert "x" * 20_000 in sent and "x" * 20_001 not in sent
    assert "(cut: only the first 20 KB of big.log were attached)" in sent

    _, body, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    assert body["messages"][0]["content"] == {
        "text": "What does the cell print?",
        "attachments": ["analysis.ipynb: cell 3", "big.log"],
    }


async def test_wrong_attachments_are_a_clear_400_and_start_nothing(
    api,
    session,  # noqa: F811
    fake,
):
    cases = [
        ("not a list", "must be a list"),
        ([{"name": "a", "text": "b"}] * 11, "At most 10"),
        (["text"], "exactly 'name' and 'text'"),
        ([{"name": "a"}], "exactly 'name' and 'text'"),
        ([{"name": "a", "text": "b", "extra": 1}], "exactly 'name' and 'text'"),
        ([{"name": "", "text": "b"}], "needs a 'name'"),
        ([{"name": "a\nb", "text": "b"}], "line break"),
        ([{"name": "a", "text": 3}], "'text' must be a string"),
    ]
    for attachments, words in cases:
        code, body, _ = await api(
            "POST", chat_path(session), {"message": "hi", "attachments": attachments}
        )
        assert code == 400, (attachments, body)
        assert words in body["error"], (attachments, body)
    assert fake.main_requests == []
    code, body, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    assert body["messages"] == []
    code, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}")
    assert body["session"]["state"] == "active"
