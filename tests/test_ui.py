"""The panel in a real browser: a real `jupyter lab` with the built extension, Debian's
Chromium driven by Playwright, Claude Code talking to the scripted fake Messages API.

Screenshots go to ``$LAWLESS_SCREENSHOTS`` when set (``LAWLESS_SCREENSHOTS=docs/screenshots``
refreshes the README's), else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import GIT_IDENTITY, git, make_repo
from .fake_anthropic import FakeAnthropic, text, tool_use

CHROMIUM = "/usr/bin/chromium"
TOKEN = "lawless-ui-test-token"
INHERITED_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDECODE",
)


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


@pytest.fixture
def fake(monkeypatch):
    for name in INHERITED_ENV:
        monkeypatch.delenv(name, raising=False)
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def lab(tmp_path, fake):
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
            "vault_key_file": str(tmp_path / "state" / "vault.key"),  # not in the home
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


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the UI test needs Debian's Chromium "
            "(`apt-get install -y chromium`, which .ci/run does)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("LAWLESS_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_panel_end_to_end(lab, fake, browser, shots):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        scenario(lab, fake, page, shots)
    except Exception:
        page.screenshot(path=shots / "failure.png")
        raise


def scenario(lab, fake, page, shots):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{lab.url}lab?token={TOKEN}")
    page.set_default_timeout(60_000)

    # open the panel from its sidebar tab, and give the sidebar some room
    page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
    panel = page.locator("#jp-lawless-panel")
    panel.get_by_role("button", name="Create session").wait_for()
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(box["x"] + 140, box["y"] + 300, steps=5)
        page.mouse.up()

    # create a session
    panel.get_by_label("Repository").fill("project")
    panel.get_by_label("Name").fill("demo")
    page.screenshot(path=shots / "sessions.png")
    panel.get_by_role("button", name="Create session").click()
    panel.get_by_role("tab", name="Chat").wait_for()
    session = lab.api("GET", "api/workspace/sessions")["sessions"][0]
    worktree = Path(session["worktree_path"])
    assert session["name"] == "demo" and worktree.is_dir()

    # a streamed answer arrives in pieces
    answer = "Hello from **Claude**: this answer streams in, piece by piece, as it is written."
    fake.add(text(answer, chunks=8, delay=0.25))
    composer = panel.get_by_label("Message to Claude")
    composer.fill("Say hello")
    composer.press("Enter")
    markdown = panel.locator(".jp-lawless-assistant .jp-lawless-markdown").last
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if markdown.count():
            current = markdown.inner_text()
            if current and (not seen or seen[-1] != current):
                seen.append(current)
            if "piece by piece, as it is written." in current:
                break
        time.sleep(0.05)
    assert len(seen) >= 3, f"the answer should appear in pieces, saw {seen}"
    assert seen[-1].strip() == answer.replace("**", "")
    assert markdown.locator("strong").inner_text() == "Claude", "rendered as markdown"
    panel.locator(".jp-lawless-usage").first.wait_for()

    # a shell command asks first; allow it and the file shows in Changes
    fake.add(tool_use("Bash", {"command": "touch made"}), text("I made the file `made`."))
    composer.fill("Make a file")
    composer.press("Enter")
    approval = panel.locator(".jp-lawless-approval-pending")
    approval.get_by_role("button", name="Allow", exact=True).wait_for()
    assert "touch made" in approval.inner_text()
    page.screenshot(path=shots / "approval.png")
    approval.get_by_role("button", name="Allow", exact=True).click()
    panel.get_by_text("I made the file").wait_for()
    assert (worktree / "made").exists()
    tool = panel.locator(".jp-lawless-tool").last
    assert "Bash" in tool.inner_text() and "done" in tool.inner_text()
    page.screenshot(path=shots / "chat.png")

    panel.get_by_role("tab", name="Changes").click()
    panel.locator(".jp-lawless-files").get_by_text("made").wait_for()
    page.screenshot(path=shots / "changes.png")
    panel.get_by_label("Commit message").fill("Add the made file")
    panel.get_by_role("button", name="Commit all").click()
    panel.locator(".jp-lawless-notice", has_text="Committed").wait_for()
    panel.get_by_text("Nothing to commit.").wait_for()
    assert "Add the made file" in git(worktree, "log", "-1", "--format=%s")

    # a terminal in the worktree, JupyterLab's own
    panel.get_by_role("tab", name="Terminal").click()
    panel.get_by_role("button", name="Open a terminal").click()
    terminal = page.locator(".jp-Terminal").last
    terminal.wait_for()
    time.sleep(1.5)  # the shell's prompt
    terminal.click()
    page.keyboard.type("pwd\n")
    terminals = lab.api("GET", f"api/workspace/sessions/{session['id']}/terminals")["terminals"]
    name = terminals[-1]["name"]
    output = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and str(worktree) not in output.split("pwd", 1)[-1]:
        time.sleep(0.5)
        body = lab.api("GET", f"api/workspace/sessions/{session['id']}/terminals/{name}/output")
        output = json.dumps(body)
    assert str(worktree) in output.split("pwd", 1)[-1], output[-2000:]
    page.screenshot(path=shots / "terminal.png")

    # reload in the middle of an answer: the turn goes on and the panel re-attaches
    panel.get_by_role("tab", name="Chat").click()
    long_answer = " ".join(f"word{i}" for i in range(40)) + " THE END"
    fake.add(text(long_answer, chunks=40, delay=0.15))
    composer.fill("Talk slowly")
    composer.press("Enter")
    panel.get_by_text("word3", exact=False).wait_for()
    time.sleep(1.0)  # the state DB keeps the open session
    page.reload()
    panel = page.locator("#jp-lawless-panel")
    page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').wait_for()
    try:  # the layout restorer reopens the sidebar as it was
        panel.get_by_role("tab", name="Chat").wait_for(timeout=10_000)
    except PlaywrightTimeout:
        page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
        panel.get_by_role("tab", name="Chat").wait_for()
    panel.get_by_role("button", name="Stop the running turn").wait_for()
    last = panel.locator(".jp-lawless-assistant .jp-lawless-markdown").last
    last.get_by_text("THE END").wait_for()
    assert last.inner_text().strip() == long_answer, "the whole answer, once"
    panel.get_by_role("button", name="Send the message").wait_for()
    page.screenshot(path=shots / "reloaded.png")

    # the palette has the panel's commands; the dark theme keeps the panel readable
    page.keyboard.press("Control+Shift+C")
    page.keyboard.type("New Lawless Session")
    page.locator(".lm-CommandPalette-item", has_text="New Lawless Session").first.wait_for()
    page.keyboard.press("Enter")
    panel.get_by_role("button", name="Create session").wait_for()
    assert panel.get_by_label("Repository").evaluate("el => el === document.activeElement")
    page.keyboard.press("Control+Shift+C")
    page.keyboard.type("JupyterLab Dark")
    page.locator(".lm-CommandPalette-item", has_text="JupyterLab Dark").first.wait_for()
    page.keyboard.press("Enter")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    panel.get_by_role("button", name="Open session demo (active)").click()
    panel.get_by_text("THE END").wait_for()
    time.sleep(0.5)
    page.screenshot(path=shots / "dark.png")

    # deleting a session with uncommitted work asks twice, and says what is lost
    (worktree / "unsaved.txt").write_text("work in progress\n")
    panel.get_by_role("button", name="Back to the list of sessions").click()
    panel.get_by_role("button", name="Delete session demo").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("removes its worktree folder").wait_for()
    dialog.get_by_role("button", name="Delete session demo").click()
    dialog.get_by_text("Uncommitted changes will be lost").wait_for()
    dialog.get_by_text("untracked: unsaved.txt").wait_for()
    page.screenshot(path=shots / "delete.png")
    dialog.get_by_role("button", name="Delete anyway").click()
    panel.locator(".jp-lawless-notice", has_text="Deleted “demo”").wait_for()
    panel.get_by_text("No sessions yet").wait_for()
    assert not worktree.exists()
    assert not errors, errors
