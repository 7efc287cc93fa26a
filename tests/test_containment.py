"""Claude's containment: what the real Claude Code CLI (scripted model) can reach.

Its environment is an allow-list; edits never become commands (git's files and hook
locations are refused, the server's git runs no fsmonitor and, if told so, no hooks);
"Always allow" remembers a command, not the whole Bash tool.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from . import test_chat
from .fake_anthropic import text, tool_use
from .test_chat import chat, chat_path

# the chat tests' fixtures: a session, its SSE client, Claude pointed at the fake API
chat_config = test_chat.chat_config
claude_env = test_chat.claude_env
session = test_chat.session
sse = test_chat.sse

SECRETS = {
    "LAWLESS_VAULT_KEYS": "k1:" + base64.b64encode(b"v" * 32).decode(),
    "SUPABASE_SERVICE_ROLE_KEY": "supabase-service-role-secret-7f3a",
    "LAWLESS_WORKER_API_KEY": "worker-api-key-secret-91bd2c",
    "LAWLESS_GITHUB_CLIENT_SECRET": "github-client-secret-c0ffee",
    "JUPYTERHUB_API_TOKEN": "hub-api-token-secret-5e1f00",
}


@pytest.fixture
def server_secrets(monkeypatch):
    """The server's environment holds every secret (set before the server starts)."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


@pytest.fixture
def lawless_config(server_secrets, claude_env, chat_config):
    return {"claude_env": claude_env, "claude_max_retries": 0, "cancel_grace": 3.0, **chat_config}


def secrets_in(blob: str | bytes) -> list[str]:
    data = blob.encode() if isinstance(blob, str) else blob
    return [name for name, value in SECRETS.items() if value.encode() in data]


def files_under(folder: Path):
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


async def run_env_commands(api, sse, session, fake):
    fake.add(
        tool_use("Bash", {"command": "env"}),
        tool_use("Bash", {"command": "cat /proc/$PPID/environ"}),
        text("Looked."),
    )
    stream = await chat(sse, session, "Show me your environment", permission_mode="trusted")
    events = await stream.rest()
    results = [d["content"] for _, d in events if d["type"] == "tool_result"]
    assert len(results) == 2, events
    assert "".join(d["delta"] for _, d in events if d["type"] == "text") == "Looked."
    return events, results


async def test_claude_sees_none_of_the_servers_secrets(
    api, sse, session, fake, claude_env, tmp_path
):
    events, (env_output, proc_environ) = await run_env_commands(api, sse, session, fake)
    # the commands ran and saw an environment: the allow-listed part of it
    assert "PATH=" in env_output and "PATH=" in proc_environ
    # the model credentials still work: the fake API was reached with them
    assert "ANTHROPIC_BASE_URL=" in proc_environ
    keys = {r.headers.get("x-api-key") for r in fake.log if r.main}
    assert keys == {"sk-ant-fake-key"}
    assert secrets_in(env_output) == [] and secrets_in(proc_environ) == []
    assert secrets_in(json.dumps(events)) == [], "nothing in the stream"
    code, history, _ = await api("GET", chat_path(session).replace("/chat", "/messages"))
    assert code == 200 and secrets_in(json.dumps(history)) == [], "nothing in the history"
    for folder in (Path(claude_env["CLAUDE_CONFIG_DIR"]), Path(session["worktree_path"])):
        for path in files_under(folder):
            assert secrets_in(path.read_bytes()) == [], path
    for path in (tmp_path / "state").glob("lawless.db*"):  # the stored transcript
        assert secrets_in(path.read_bytes()) == [], path


@pytest.mark.parametrize("chat_config", [{"claude_env_passthrough": ["JUPYTERHUB_API_TOKEN"]}])
async def test_a_passed_through_variable_is_the_only_one_claude_sees(api, sse, session, fake):
    _, (env_output, proc_environ) = await run_env_commands(api, sse, session, fake)
    assert secrets_in(env_output) == ["JUPYTERHUB_API_TOKEN"]
    assert secrets_in(proc_environ) == ["JUPYTERHUB_API_TOKEN"]
