"""Closing a conversation's Claude Code ends its process, even one that ignores SIGTERM.

The SDK's own close waits for the CLI to go, then sends SIGTERM, then SIGKILL; ours gives it
``DISCONNECT_TIMEOUT`` seconds, and a process still there then is killed with what it started.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import claude_agent_sdk
import psutil
import pytest

from . import test_chat
from .fake_anthropic import text
from .test_chat import chat, cli_pid
from .test_loop_blocking import still_running

claude_env = test_chat.claude_env
session = test_chat.session
sse = test_chat.sse

REAL_CLI = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


@pytest.fixture
def stubborn_cli(tmp_path) -> Path:
    """Claude Code in a shell that ignores SIGTERM and, once the CLI has ended (its input
    closed), stays: a process that does not go when asked."""
    script = tmp_path / "stubborn-claude"
    script.write_text(f"#!/bin/sh\ntrap '' TERM\n'{REAL_CLI}' \"$@\"\nexec /bin/sleep 600\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def lawless_config(claude_env, stubborn_cli):
    return {"claude_env": claude_env, "claude_max_retries": 0, "claude_cli_path": str(stubborn_cli)}


async def test_a_deleted_sessions_claude_that_ignores_sigterm_is_ended(
    api, sse, session, fake, lawless_app
):
    fake.add(text("Hello."))
    events = await (await chat(sse, session, "Hi")).rest()
    assert events[-1][1] == {"type": "done", "stop_reason": "end_turn"}
    process = psutil.Process(cli_pid(lawless_app, session))  # idle, kept for the next turn
    try:
        code, body, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
        assert code == 200, body
        assert not still_running([process]), "the session's Claude process outlived it"
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()  # not left behind by a failing run
