"""Shared fixtures: a real Jupyter server with the extension, real git repositories."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .fake_anthropic import INHERITED_ENV, FakeAnthropic

pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.supabase_env"]

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Person",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test Person",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(cwd: Path | str, *args: str, check: bool = True) -> str:
    """Run git for a test's own set-up and checks (not the code under test)."""
    env = {**os.environ, **GIT_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
    out = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def make_repo(path: Path, files: dict[str, str] | None = None, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", f"--initial-branch={branch}")
    for name, content in (files or {"README.md": "# demo\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


@pytest.fixture
def fake(monkeypatch):
    """The scripted fake Messages API, with the machine's own Claude set-up kept out."""
    for name in INHERITED_ENV:
        monkeypatch.delenv(name, raising=False)
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def lawless_config() -> dict[str, Any]:
    """Per-test overrides of LawlessApp traits."""
    return {}


@pytest.fixture
def jp_server_config(tmp_path, lawless_config):
    return {
        "ServerApp": {
            "jpserver_extensions": {"lawless_jupyter": True},
            "allow_unauthenticated_access": False,
        },
        "LawlessApp": {"db_path": str(tmp_path / "state" / "lawless.db"), **lawless_config},
    }


@pytest.fixture
def repo(jp_root_dir) -> Path:
    return make_repo(jp_root_dir / "project", {"README.md": "# demo\n", "src/app.py": "x = 1\n"})


@pytest.fixture
def lawless_app(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["lawless_jupyter"].app


async def write_db(path: Path | str, sql: str, params: tuple = ()) -> None:
    """Change the extension's database behind its back, from a thread: the server of an
    in-process test shares this event loop, and a write blocking it would wait on a
    transaction the server can only finish when the loop runs ("database is locked")."""

    def write() -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(sql, params)

    await asyncio.to_thread(write)


def git_snapshot(repo: Path) -> tuple[str, str]:
    """The repository's worktrees and branches: what a failed request must leave unchanged."""
    return git(repo, "worktree", "list", "--porcelain"), git(repo, "branch", "--list", "--all")


class Api:
    """Calls the REST API the way the panel does and returns (status, json body)."""

    def __init__(self, fetch):
        self.fetch = fetch

    async def __call__(self, method: str, path: str, body: Any = None, **kw: Any):
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if method in ("POST", "PUT", "PATCH") and body is None:
            body = ""
        response = await self.fetch(
            "lawless", *path.split("/"), method=method, body=body, raise_error=False, **kw
        )
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None), response

    async def create(self, repo: str = "project", **fields: Any) -> dict[str, Any]:
        code, body, _ = await self("POST", "api/workspace/sessions", {"repo": repo, **fields})
        assert code == 201, body
        return body["session"]


@pytest.fixture
def api(jp_fetch) -> Api:
    return Api(jp_fetch)


@pytest.fixture
def worker_settings() -> dict[str, Any]:
    """Per-test LawlessApp overrides of the ``worker`` server."""
    return {}


@pytest.fixture
def worker(tmp_path, worker_settings, monkeypatch):
    """A second real Jupyter server in worker mode (tests/worker_server.py), with a
    repository ``project``; the frontend finds its key in $LAWLESS_TEST_WORKER_KEY."""
    from .worker_server import WORKER_KEY, WorkerServer

    server = WorkerServer(tmp_path / "worker", lawless=worker_settings)
    make_repo(server.root / "project", {"README.md": "# on the worker\n"})
    monkeypatch.setenv("LAWLESS_TEST_WORKER_KEY", WORKER_KEY)
    server.start()
    yield server
    server.stop()
