"""A real `jupyter lab` with the built extension, and Debian's Chromium for Playwright:
shared by the browser tests (tests/test_ui.py) and the UI benchmark (benchmarks/bench_ui.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .conftest import GIT_IDENTITY, git, make_repo
from .fake_anthropic import FakeAnthropic

CHROMIUM = "/usr/bin/chromium"
TOKEN = "lawless-ui-test-token"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, url: str, root: Path):
        self.url, self.root = url, root

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"{self.url}lawless/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")


@contextlib.contextmanager
def running_lab(
    tmp_path: Path, fake: FakeAnthropic, lawless: dict[str, Any] | None = None
) -> Iterator[Lab]:
    """`jupyter lab` on a free port, its root holding the git repository `project`, Claude
    Code pointed at ``fake``; ``lawless`` adds LawlessApp settings."""
    labextension = Path(sys.prefix) / "share/jupyter/labextensions/lawless-jupyter/package.json"
    assert labextension.exists(), (
        "the lab extension is not installed: run `make test` (pip install -e . builds it)"
    )
    root = tmp_path / "root"
    repo = make_repo(root / "project", {"README.md": "# demo\n", "src/app.py": "x = 1\n"})
    git(repo, "config", "user.name", "Test Person")
    git(repo, "config", "user.email", "test@example.com")
    port = free_port()
    config = {
        "ServerApp": {
            "ip": "127.0.0.1",
            "port": port,
            "port_retries": 0,
            "open_browser": False,
            "allow_root": True,
            "root_dir": str(root),
            "jpserver_extensions": {"lawless_jupyter": True},
        },
        "IdentityProvider": {"token": TOKEN},
        "LabApp": {
            "workspaces_dir": str(tmp_path / "workspaces"),
            "extension_manager": "readonly",
            "news_url": None,
        },
        "LawlessApp": {
            "db_path": str(tmp_path / "state" / "lawless.db"),
            "claude_env": fake.env(
                CLAUDE_CONFIG_DIR=str(tmp_path / "claude-config"),
                CLAUDE_CODE_TMPDIR=str(tmp_path / "claude-tmp"),
            ),
            "claude_max_retries": 0,
            **(lawless or {}),
        },
    }
    # no "Jupyter news?" question in the screenshots
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    config_file = tmp_path / "lab_config.json"
    config_file.write_text(json.dumps(config))
    env = {
        **os.environ,
        **GIT_IDENTITY,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "SHELL": "/bin/bash",
    }
    log = (tmp_path / "lab.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", f"--config={config_file}"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}lawless/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(
                "jupyter lab did not start:\n" + (tmp_path / "lab.log").read_text()
            )
        time.sleep(0.3)
    try:
        yield Lab(url, root)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def launch_chromium(playwright):
    """Debian's Chromium, headless (Playwright's own browser builds cannot be fetched)."""
    if not Path(CHROMIUM).exists():
        raise AssertionError(
            f"{CHROMIUM} is missing: the UI test needs Debian's Chromium "
            "(`apt-get install -y chromium`, which .ci/run does)."
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
