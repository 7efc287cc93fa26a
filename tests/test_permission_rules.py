"""The permission policy's containment rules, as plain functions (no server, no CLI)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from lawless_jupyter.chat.environment import allowed_environment
from lawless_jupyter.chat.permissions import PermissionPolicy
from lawless_jupyter.chat.rules import rule_for, rule_matches, runs_git_hooks


def bash(command: str) -> dict[str, str]:
    return {"command": command}


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("git status", "Bash(git status:*)"),
        ("git status --short", "Bash(git status:*)"),
        ("mkdir -p x", "Bash(mkdir:*)"),
        ("npm test -- --watch=false", "Bash(npm test:*)"),
        ("python -m pytest -q", "Bash(python -m pytest:*)"),
        ("python x.py", "Bash(python x.py)"),  # an interpreter: that exact command only
        ("./run.sh --fast", "Bash(./run.sh --fast)"),  # a program by path: exact
        ("env", "Bash(env)"),
        ("git -c core.pager=x log", "Bash(git -c core.pager=x log)"),
        ("mkdir a && touch b", None),
        ("ls | sh", None),
        ("echo $(id)", None),
        ("echo `id`", None),
        ("echo hi > f", None),
        ("ls; rm -rf x", None),
        ("FOO=1 make", None),
        ("echo 'unbalanced", None),
    ],
)
def test_the_rule_always_allow_remembers(command, rule):
    assert rule_for("Bash", bash(command)) == rule


def test_a_prefix_rule_matches_that_command_only():
    rule = "Bash(mkdir:*)"
    assert rule_matches(rule, "Bash", bash("mkdir -p other"))
    assert not rule_matches(rule, "Bash", bash("touch y"))
    assert not rule_matches(rule, "Bash", bash("mkdir x && touch y"))
    assert not rule_matches(rule, "Bash", bash("mkdirx"))
    assert not rule_matches(rule, "Edit", {"file_path": "x"})
    assert rule_matches("Bash(git status:*)", "Bash", bash("git status -s"))
    assert not rule_matches("Bash(git status:*)", "Bash", bash("git push"))
    assert rule_matches("Bash(python x.py)", "Bash", bash("python x.py"))
    assert not rule_matches("Bash(python x.py)", "Bash", bash("python x.py --evil"))
    assert rule_matches("Edit", "Edit", {"file_path": "x"}), "edits keep their per-tool rule"
    assert not rule_matches("Bash", "Bash", bash("ls")), "no rule allows the whole shell"


@pytest.mark.parametrize(
    ("command", "runs"),
    [
        ("git commit -m x", True),
        ("git -C sub merge main", True),
        ("cd x && git push origin HEAD", True),
        ("/usr/bin/git rebase main", True),
        ("git status", False),
        ("git log --oneline", False),
        ("echo git commit", False),
    ],
)
def test_hook_bearing_git_commands_are_recognised(command, runs):
    assert runs_git_hooks(command) is runs


@pytest.fixture
def worktree(tmp_path) -> Path:
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: /somewhere/.git/worktrees/wt\n")
    return tmp_path / "wt"


@pytest.mark.parametrize(
    ("path", "decision"),
    [
        (".git", "deny"),
        ("sub/.git/config", "deny"),
        (".husky/pre-commit", "deny"),
        ("pkg/.githooks/pre-push", "deny"),
        ("hooks/pre-commit", "deny"),  # the configured core.hooksPath
        (".pre-commit-config.yaml", "ask"),
        ("lefthook.yml", "ask"),
        ("src/app.py", "allow"),
        ("docs/husky.md", "allow"),
    ],
)
def test_edits_that_would_become_commands(worktree, path, decision):
    policy = PermissionPolicy("default", hooks_path=PurePosixPath("hooks"))
    assert policy.decide("Write", {"file_path": path}, worktree)[0] == decision
    # reads stay free; the explicit "everything in the worktree" mode allows them all
    assert policy.decide("Read", {"file_path": path}, worktree)[0] == "allow"
    trusted = PermissionPolicy("trusted", hooks_path=PurePosixPath("hooks"))
    assert trusted.decide("Write", {"file_path": path}, worktree)[0] == "allow"


def test_a_symlink_into_a_hook_folder_is_a_hook_folder(worktree):
    (worktree / ".husky").mkdir()
    (worktree / "innocent").symlink_to(worktree / ".husky")
    policy = PermissionPolicy("default")
    assert policy.decide("Write", {"file_path": "innocent/pre-commit"}, worktree)[0] == "deny"


def test_remembering_an_edit_does_not_cover_hook_configuration(worktree):
    policy = PermissionPolicy("ask", remembered={"Write"})
    assert policy.decide("Write", {"file_path": "a.txt"}, worktree)[0] == "allow"
    assert policy.decide("Write", {"file_path": ".pre-commit-config.yaml"}, worktree)[0] == "ask"
    assert policy.rule_for("Write", {"file_path": ".pre-commit-config.yaml"}, worktree) is None


def test_the_environment_allow_list():
    server = {
        "PATH": "/bin",
        "HOME": "/home/a",
        "LC_ALL": "C",
        "ANTHROPIC_API_KEY": "model-key",
        "CLAUDE_CONFIG_DIR": "/c",
        "HTTPS_PROXY": "http://proxy",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "SUPABASE_SERVICE_ROLE_KEY": "no",
        "LAWLESS_VAULT_KEYS": "no",
        "JUPYTERHUB_API_TOKEN": "no",
        "GITHUB_ACCESS_TOKEN": "no",
    }
    kept = allowed_environment(server)
    assert set(kept) == {
        "PATH",
        "HOME",
        "LC_ALL",
        "ANTHROPIC_API_KEY",
        "CLAUDE_CONFIG_DIR",
        "HTTPS_PROXY",
    }
    # AWS credentials only when Claude Code goes through Bedrock
    bedrock = allowed_environment({**server, "CLAUDE_CODE_USE_BEDROCK": "1"})
    assert "AWS_SECRET_ACCESS_KEY" in bedrock
    assert "AWS_SECRET_ACCESS_KEY" not in allowed_environment(
        {**server, "CLAUDE_CODE_USE_BEDROCK": "0"}
    )
    assert "GITHUB_ACCESS_TOKEN" in allowed_environment(server, ["GITHUB_ACCESS_TOKEN"])
