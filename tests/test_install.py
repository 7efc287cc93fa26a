"""The README's promise: installed, the extension is enabled and configured like any other."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .conftest import git, make_repo


def test_jupyter_lists_the_extension_enabled():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = out.stdout + out.stderr
    assert "lawless_jupyter" in text and "enabled" in text.split("lawless_jupyter", 1)[1][:80]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_config_file_configures_a_real_server(tmp_path):
    root = tmp_path / "root"
    make_repo(root / "project")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.py").write_text(
        "c.LawlessApp.branch_prefix = 'from-config'\n"
        f"c.LawlessApp.db_path = {str(tmp_path / 'db' / 'lawless.db')!r}\n"
    )
    token, port = secrets.token_hex(16), free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.open_browser=False",
            "--allow-root",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/lawless/"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        request = urllib.request.Request(
            base + "api/workspace/sessions",
            data=json.dumps({"repo": "project"}).encode(),
            headers={"Authorization": f"token {token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            session = json.load(response)["session"]
        assert session["branch"].startswith("from-config/")
        assert (
            git(Path(session["worktree_path"]), "branch", "--show-current").strip()
            == (session["branch"])
        )
        assert (tmp_path / "db" / "lawless.db").exists()
    finally:
        server.terminate()
        server.wait(30)
