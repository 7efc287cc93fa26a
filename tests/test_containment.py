"""Claude's containment: what the real Claude Code CLI (scripted model) can reach.

Its environment is an allow-list; edits never become commands (git's files and hook
locations are refused, the server's git runs no fsmonitor and, if told so, no hooks);
"Always allow" remembers a command, not the whole Bash tool.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from . import test_chat
from .conftest import git, make_repo
from .fake_anthropic import text, tool_use
from .test_chat import chat, chat_path
from .test_terminals import run as run_in_terminal

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


# -- edits never become commands -------------------------------------------------------------


async def answer(api, session, request, decision, remember=False):
    code, body, _ = await api(
        "POST",
        chat_path(session, f"/approvals/{request['request_id']}"),
        {"decision": decision, "remember": remember},
    )
    assert code == 200, body


async def test_writes_to_git_and_hook_files_are_refused(api, sse, session, fake, repo, tmp_path):
    git(repo, "config", "core.hooksPath", ".husky")
    worktree = Path(session["worktree_path"])
    pointer = (worktree / ".git").read_text()
    outside = tmp_path / "outside.txt"
    hook = "#!/bin/sh\ntouch /tmp/never\n"
    fake.add(
        tool_use("Write", {"file_path": ".git", "content": "gitdir: /tmp/elsewhere\n"}),
        tool_use("Write", {"file_path": ".husky/pre-commit", "content": hook}),
        tool_use("Write", {"file_path": "tools/.githooks/pre-push", "content": hook}),
        tool_use("Write", {"file_path": "sub/.git/config", "content": "[core]\n"}),
        tool_use("Write", {"file_path": str(outside), "content": "escaped"}),
        tool_use("Write", {"file_path": ".pre-commit-config.yaml", "content": "repos: []\n"}),
        text("Tried."),
    )
    stream = await chat(sse, session, "Set up hooks")
    request = await stream.until("approval_request")  # only the hook configuration asks
    assert request["input"]["file_path"].endswith(".pre-commit-config.yaml")
    assert request["rule"] is None, "nothing to remember: it asks every time"
    await answer(api, session, request, "deny")
    events = await stream.rest()
    assert [d["type"] for _, d in events].count("approval_request") == 1
    results = [d for _, d in events if d["type"] == "tool_result"]
    assert len(results) == 6 and all(r["is_error"] for r in results), results
    reasons = [r["content"] for r in results]
    assert "git's own files" in reasons[0] and "git's own files" in reasons[3]
    assert "hook folder" in reasons[1] and "hook folder" in reasons[2]
    assert "outside the session's worktree" in reasons[4]
    assert (worktree / ".git").read_text() == pointer
    assert not (worktree / ".husky").exists() and not (worktree / "tools").exists()
    assert not outside.exists() and not (worktree / ".pre-commit-config.yaml").exists()


MARKER_HOOK = "#!/bin/sh\ntouch {marker}\n"


@pytest.mark.parametrize(
    "chat_config", [{"run_git_hooks": False}, {"run_git_hooks": True}], ids=["off", "on"]
)
async def test_a_hook_claude_wrote_runs_only_when_hooks_are_on(
    api, sse, session, fake, repo, tmp_path, chat_config
):
    """In trusted mode ("everything in the worktree") Claude may write a hook; whether the
    server's commit runs it is the deployer's choice, and when it does the answer says so."""
    git(repo, "config", "core.hooksPath", ".husky")
    marker = tmp_path / "hook-ran"
    fake.add(
        tool_use(
            "Write",
            {"file_path": ".husky/pre-commit", "content": MARKER_HOOK.format(marker=marker)},
        ),
        tool_use("Bash", {"command": "chmod +x .husky/pre-commit"}),
        text("Hook added."),
    )
    await (await chat(sse, session, "Add a hook", permission_mode="trusted")).rest()
    base = f"api/workspace/sessions/{session['id']}/git"
    code, status, _ = await api("GET", f"{base}/status")
    assert code == 200
    hooks_on = chat_config["run_git_hooks"]
    assert status["hooks_changed"] == ([".husky/pre-commit"] if hooks_on else [])
    code, body, _ = await api("POST", f"{base}/commit", {"message": "add a hook"})
    assert code == 201 or code == 200, body
    assert marker.exists() is hooks_on
    named = [".husky/pre-commit"] if hooks_on else []
    assert body["commit"]["hooks_changed"] == named
    code, body, _ = await api("POST", f"{base}/merge", {"strategy": "squash"})
    assert code == 200, body
    assert body["merge"]["hooks_changed"] == named, "the merge names it too"


async def test_the_servers_git_never_runs_an_fsmonitor(api, session, repo, tmp_path):
    marker = tmp_path / "fsmonitor-ran"
    script = tmp_path / "monitor.sh"
    script.write_text(MARKER_HOOK.format(marker=marker))
    script.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(script))
    (Path(session["worktree_path"]) / "new.txt").write_text("x\n")
    base = f"api/workspace/sessions/{session['id']}/git"
    for method, path, body in (
        ("GET", "status", None),
        ("GET", "diff", None),
        ("POST", "commit", {"message": "new file"}),
    ):
        code, answer_body, _ = await api(method, f"{base}/{path}", body)
        assert code in (200, 201), answer_body
    assert not marker.exists()


async def test_a_worktree_pointing_elsewhere_is_refused(api, session, jp_root_dir):
    other = make_repo(jp_root_dir / "other", {"secret.txt": "other repo\n"})
    worktree = Path(session["worktree_path"])
    (worktree / ".git").write_text(f"gitdir: {other / '.git'}\n")
    base = f"api/workspace/sessions/{session['id']}/git"
    for method, path, body in (
        ("GET", "status", None),
        ("GET", "diff", None),
        ("POST", "commit", {"message": "x"}),
    ):
        code, answer_body, _ = await api(method, f"{base}/{path}", body)
        assert code == 409, (path, answer_body)
        assert "no longer points into its repository" in answer_body["error"]
    assert git(other, "log", "--format=%s") == "initial\n", "nothing was committed there"


# -- "Always allow" remembers a command ------------------------------------------------------


async def test_always_allow_remembers_the_command_not_the_tool(api, sse, session, fake):
    worktree = Path(session["worktree_path"])
    fake.add(
        tool_use("Bash", {"command": "mkdir -p first"}),
        tool_use("Bash", {"command": "mkdir -p second"}),
        tool_use("Bash", {"command": "touch second/made"}),
        tool_use("Bash", {"command": "mkdir third && touch third/made"}),
        text("Done."),
    )
    stream = await chat(sse, session, "Make folders")
    request = await stream.until("approval_request")
    assert request["input"]["command"] == "mkdir -p first"
    assert request["rule"] == "Bash(mkdir:*)"
    await answer(api, session, request, "allow", remember=True)
    request = await stream.until("approval_request")  # the second mkdir did not ask
    assert request["input"]["command"] == "touch second/made", "another command asks"
    await answer(api, session, request, "deny")
    request = await stream.until("approval_request")
    assert request["input"]["command"] == "mkdir third && touch third/made"
    assert request["rule"] is None, "a compound command is never remembered"
    await answer(api, session, request, "deny")
    events = await stream.rest()
    assert [d["type"] for _, d in events].count("approval_request") == 3
    assert (worktree / "first").is_dir() and (worktree / "second").is_dir()
    assert not (worktree / "second" / "made").exists(), "a denied command did not run"
    assert not (worktree / "third").exists()

    rules = chat_path(session, "/rules")
    code, body, _ = await api("GET", rules)
    assert code == 200 and body == {"rules": ["Bash(mkdir:*)"]}
    code, body, _ = await api("DELETE", rules, params={"rule": "Bash(git status:*)"})
    assert code == 404 and body["code"] == "not_found"
    code, body, _ = await api("DELETE", rules, params={"rule": "Bash(mkdir:*)"})
    assert code == 200 and body == {"rules": []}

    fake.add(tool_use("Bash", {"command": "mkdir -p fourth"}), text("Asked."))
    stream = await chat(sse, session, "One more")
    request = await stream.until("approval_request")  # forgotten: it asks again
    await answer(api, session, request, "deny")
    await stream.rest()
    assert not (worktree / "fourth").exists()


async def test_rules_of_someone_elses_or_no_session_are_404(api):
    code, _, _ = await api("GET", "api/workspace/sessions/not-a-session/chat/rules")
    assert code == 404


# -- session terminals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chat_config", "seen"),
    [
        ({}, "supabase-service-role-secret-7f3a"),  # default: a Jupyter terminal's environment
        ({"terminal_env": "allow_list"}, ""),
        (
            {"terminal_env": "allow_list", "claude_env_passthrough": ["SUPABASE_SERVICE_ROLE_KEY"]},
            "supabase-service-role-secret-7f3a",
        ),
    ],
    ids=["inherit", "allow_list", "allow_list+passthrough"],
)
async def test_a_session_terminals_environment_is_the_deployers_choice(
    api, session, jp_ws_fetch, seen
):
    code, body, _ = await api("POST", f"api/workspace/sessions/{session['id']}/terminals")
    assert code == 201, body
    ws = await jp_ws_fetch("terminals", "websocket", body["terminal"]["name"])
    output = await run_in_terminal(
        ws, 'echo "KEY=[$SUPABASE_SERVICE_ROLE_KEY] S=[$LAWLESS_SESSION_ID]"', session["id"]
    )
    assert f"KEY=[{seen}] S=[{session['id']}]" in output
    ws.close()


async def test_a_git_command_that_runs_hooks_says_so(api, sse, session, fake):
    fake.add(tool_use("Bash", {"command": "git add -A && git commit -m wip"}), text("Stopped."))
    stream = await chat(sse, session, "Commit it")
    request = await stream.until("approval_request")
    assert request["runs_git_hooks"] is True and request["rule"] is None
    await answer(api, session, request, "deny")
    events = await stream.rest()
    use = next(d for _, d in events if d["type"] == "tool_use")
    assert use["runs_git_hooks"] is True
    code, log, _ = await api("GET", f"api/workspace/sessions/{session['id']}/git/log")
    assert code == 200 and log["commits"] == [], "the denied commit did not happen"


async def test_the_repositorys_claude_settings_cannot_allow_what_the_policy_asks(
    api, sse, fake, repo
):
    """A repository's .claude/settings.json (or one Claude wrote) allowing commands does not
    skip the person's approval: the policy, not the project, decides."""
    settings = {"permissions": {"allow": ["Bash", "Bash(touch:*)"]}}
    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.json").write_text(json.dumps(settings))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "claude settings")
    session = await api.create(name="settings")
    fake.add(
        tool_use("Write", {"file_path": ".claude/settings.local.json", "content": "{}"}),
        tool_use("Bash", {"command": "touch allowed-by-the-project"}),
        text("Done."),
    )
    stream = await chat(sse, session, "Go")
    request = await stream.until("approval_request")
    assert request["tool"] == "Write", "Claude's own settings name commands: it asks"
    await answer(api, session, request, "deny")
    request = await stream.until("approval_request")
    assert request["input"]["command"] == "touch allowed-by-the-project"
    await answer(api, session, request, "deny")
    await stream.rest()
    worktree = Path(session["worktree_path"])
    assert not (worktree / "allowed-by-the-project").exists()
    assert not (worktree / ".claude" / "settings.local.json").exists()


@pytest.mark.parametrize("chat_config", [{"chat_replay_seconds": 0.1}])
async def test_a_remembered_rule_outlives_the_claude_process_and_a_server_restart(
    api, sse, session, fake, lawless_app
):
    """Closing an idle conversation's Claude process (and forgetting the conversation) keeps
    the session's "Always allow" rules, and so does a server started again (a hub culls idle
    ones): they are in the store, and go with the session only."""
    worktree = Path(session["worktree_path"])
    fake.add(tool_use("Bash", {"command": "mkdir -p first"}), text("Made."))
    stream = await chat(sse, session, "Make a folder")
    request = await stream.until("approval_request")
    await answer(api, session, request, "allow", remember=True)
    await stream.rest()

    await asyncio.sleep(0.3)  # past the replay window: the conversation can be forgotten
    lawless_app.chat.settings.idle_timeout = 0.0
    assert await lawless_app.chat.close_idle() == 1
    assert session["id"] not in lawless_app.chat._live
    lawless_app.chat._rules.clear()  # what a server started again holds in memory

    code, body, _ = await api("GET", chat_path(session, "/rules"))
    assert code == 200 and body == {"rules": ["Bash(mkdir:*)"]}
    fake.add(tool_use("Bash", {"command": "mkdir -p second"}), text("Made again."))
    events = await (await chat(sse, session, "Another one")).rest()
    assert "approval_request" not in [d["type"] for _, d in events], "the rule still holds"
    assert (worktree / "second").is_dir()

    code, _, _ = await api("DELETE", f"api/workspace/sessions/{session['id']}")
    assert code == 200
    assert await lawless_app.store.approval_rules.of_session(session["id"]) == set()
