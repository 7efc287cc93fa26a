"""``api/user/preferences``: one document per person, validated, and the defaults of their
chat turns."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import lawless_jupyter

from .fake_anthropic import text, tool_use
from .test_chat import chat, chat_config, claude_env, lawless_config, session, sse  # noqa: F401
from .test_openapi import SpecChecker

SPEC = yaml.safe_load((Path(lawless_jupyter.__file__).parent / "openapi.yaml").read_text())
PATH = "api/user/preferences"


@pytest.fixture
def chat_config():  # noqa: F811
    return {"allowed_models": ["claude-sonnet-4-5", "claude-haiku-4-5"]}


async def get_preferences(api) -> dict:
    code, body, response = await api("GET", PATH)
    assert code == 200, body
    SpecChecker(SPEC).response("/api/user/preferences", "GET", code, body, response.headers)
    return body


async def test_nothing_saved_reads_as_empty_then_a_put_is_kept(api):
    assert await get_preferences(api) == {"preferences": {}, "updated_at": None}
    prefs = {"permission_mode": "ask", "panel": {"enterSends": False, "width": 420}}
    code, body, response = await api("PUT", PATH, {"preferences": prefs})
    assert code == 200, body
    SpecChecker(SPEC).response("/api/user/preferences", "PUT", code, body, response.headers)
    assert body["preferences"] == prefs and body["updated_at"]
    assert (await get_preferences(api))["preferences"] == prefs
    # a PUT replaces the whole document
    code, body, _ = await api("PUT", PATH, {"preferences": {"model": "claude-haiku-4-5"}})
    assert code == 200 and body["preferences"] == {"model": "claude-haiku-4-5"}
    assert (await get_preferences(api))["preferences"] == {"model": "claude-haiku-4-5"}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"preferences": []}, 400, "JSON object"),
        ({"preferences": {"theme": "dark"}}, 400, "Unknown preferences: theme"),
        ({"preferences": {"permission_mode": "yolo"}}, 400, "must be one of"),
        ({"preferences": {"model": "gpt-4"}}, 400, "not allowed here"),
        ({"preferences": {"model": ""}}, 400, "not allowed here"),
        ({"preferences": {"panel": "wide"}}, 400, "'panel' must be a JSON object"),
        ({"preferences": {"panel": {"x": "y" * 20_000}}}, 413, "16384 bytes"),
        ({"permission_mode": "ask"}, 400, "Unknown fields"),
        ({}, 400, '{"preferences": {...}}'),
    ],
)
async def test_bad_preferences_are_refused_and_change_nothing(api, body, status, says):
    code, saved, _ = await api("PUT", PATH, {"preferences": {"permission_mode": "ask"}})
    assert code == 200
    code, error, _ = await api("PUT", PATH, body)
    assert code == status, error
    assert says in error["error"]
    assert (await get_preferences(api)) == saved


async def test_preferences_are_each_persons_own(api, lawless_app):
    await lawless_app.ready()
    await lawless_app.preferences.put("someone-else", {"permission_mode": "read_only"})
    assert (await get_preferences(api))["preferences"] == {}


async def test_the_preferred_permission_mode_and_model_apply_to_chat_turns(
    api,
    sse,  # noqa: F811
    session,  # noqa: F811
    fake,
):
    worktree = Path(session["worktree_path"])
    code, body, _ = await api(
        "PUT",
        PATH,
        {"preferences": {"permission_mode": "read_only", "model": "claude-haiku-4-5"}},
    )
    assert code == 200, body
    fake.add(tool_use("Write", {"file_path": "a.txt", "content": "x"}), text("Could not."))
    events = await (await chat(sse, session, "Write a.txt")).rest()
    assert not (worktree / "a.txt").exists()
    assert next(d for _, d in events if d["type"] == "tool_result")["is_error"] is True
    assert fake.requests[-1]["model"] == "claude-haiku-4-5"
    # a turn that names its own mode wins over the preference
    fake.add(tool_use("Write", {"file_path": "b.txt", "content": "y"}), text("Done."))
    events = await (await chat(sse, session, "Write b.txt", permission_mode="default")).rest()
    assert (worktree / "b.txt").read_text() == "y"
