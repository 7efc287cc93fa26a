"""The binder/ files, run as mybinder.org's repo2docker runs them, in a fresh virtual environment.

A copy of the repository's files (what a clone holds: no built panel, no .venv) gets a new
venv; ``pip install -r binder/requirements.txt`` and ``binder/postBuild`` run from its root,
as repo2docker's assemble steps do. Then JupyterLab starts from that venv and must serve the
extension's API and its panel.

Slow (a wheel build with the panel's jlpm build). To keep it quicker without skipping a step,
the copy gets a copy of the npm packages already downloaded into node_modules: jlpm still
runs its install, then builds the panel from the sources.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from .conftest import git
from .fake_anthropic import INHERITED_ENV
from .hub_env import ROOT
from .servers import free_port

pytestmark = pytest.mark.timeout(900)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=840)
    assert out.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    )
    return out.stdout + out.stderr


def checkout_copy(dest: Path) -> Path:
    """The repository's files as a clone has them (tracked and new, not ignored ones)."""
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    if (ROOT / "node_modules").is_dir():  # downloaded packages only; see the module docstring
        # a copy, not hard links: jlpm rewrites files of node_modules in place
        subprocess.run(["cp", "-a", str(ROOT / "node_modules"), str(dest)], check=True)
    return dest


@pytest.fixture(scope="module")
def binder_venv(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("binder")
    repo = checkout_copy(tmp / "repo")
    assert not (repo / "lawless_jupyter" / "labextension").exists()
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_ENV}
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
        env.pop(name, None)
    env.update(
        PATH=f"{venv / 'bin'}:{env['PATH']}",
        VIRTUAL_ENV=str(venv),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    started = time.monotonic()
    run(["pip", "install", "--quiet", "-r", "binder/requirements.txt"], repo, env)
    run(["binder/postBuild"], repo, env)
    print(f"binder install steps: {time.monotonic() - started:.0f} s")
    return venv, env


def test_the_binder_install_enables_the_server_extension_and_the_panel(binder_venv):
    venv, env = binder_venv
    servers = run([str(venv / "bin/jupyter"), "server", "extension", "list"], venv, env)
    assert re.search(r"lawless_jupyter\s.*enabled", servers), servers
    labs = run([str(venv / "bin/jupyter"), "labextension", "list"], venv, env)
    assert re.search(r"lawless-jupyter v[\d.]+\s.*enabled.*OK", labs), labs
    installed = run([str(venv / "bin/pip"), "show", "-f", "lawless_jupyter"], venv, env)
    assert "labextensions/lawless-jupyter/static/style.js" in installed, "the panel was not built"


def test_jupyterlab_from_the_binder_install_serves_the_api_and_the_panel(binder_venv, tmp_path):
    venv, env = binder_venv
    port, token = free_port(), secrets.token_hex(16)
    root = tmp_path / "root"
    root.mkdir()
    lab = subprocess.Popen(
        [str(venv / "bin/jupyter"), "lab", "--allow-root", "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "lab.log").open("wb"),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    auth = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                health = requests.get(base + "lawless/health", timeout=10)
                break
            except requests.ConnectionError:
                assert lab.poll() is None, (tmp_path / "lab.log").read_text()[-4000:]
                assert time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(0.5)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        version = requests.get(base + "lawless/version", headers=auth, timeout=30)
        assert version.status_code == 200 and version.json()["version"]
        assert requests.get(base + "lawless/version", timeout=30).status_code == 403

        page = requests.get(base + "lab", headers=auth, timeout=30)
        config = json.loads(
            re.search(r'id="jupyter-config-data" type="application/json">(.*?)</script>',
                      page.text, re.S).group(1)
        )  # fmt: skip
        panel = [e for e in config["federated_extensions"] if e["name"] == "lawless-jupyter"]
        assert panel, "JupyterLab does not load the panel"
        bundle = requests.get(
            base + f"lab/extensions/lawless-jupyter/{panel[0]['load']}", headers=auth, timeout=30
        )
        assert bundle.status_code == 200 and b"lawless" in bundle.content
    finally:
        lab.terminate()
        lab.wait(timeout=30)
