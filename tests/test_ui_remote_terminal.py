"""A terminal of a session on a remote worker, opened from the panel (#16): two real
servers (a `jupyter lab` with the built extension, and a worker as in the workers tests),
Chromium through Playwright. The terminal is the worker's, in the worker's worktree, through
the main server's terminal bridge; the main server opens no terminal of its own. A reload
restores the tab on the same remote terminal, and drops it once that terminal has ended."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from .browser_fixtures import browser, shots, widen_sidebar
from .lab_server import TOKEN, running_lab

__all__ = ["browser", "shots"]  # fixtures used here


@pytest.fixture
def lab(tmp_path, fake, worker):
    with running_lab(
        tmp_path, fake, {"workers": [worker.worker_entry()], "worker_check_timeout": 5.0}
    ) as lab:
        yield lab


def jupyter_terminals(url: str, token: str) -> list[str]:
    """The names in Jupyter's own terminal list of the server at ``url``."""
    request = urllib.request.Request(
        f"{url}api/terminals", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return [t["name"] for t in json.loads(response.read())]


def lab_terminal_settings(url: str, raw: str) -> None:
    """The person's settings of the lab's terminals (Settings > Terminal)."""
    request = urllib.request.Request(
        f"{url}lab/api/settings/@jupyterlab/terminal-extension:plugin",
        method="PUT",
        data=json.dumps({"raw": raw}).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()


def test_a_remote_sessions_terminal_runs_on_the_worker(lab, worker, browser, shots):
    lab_terminal_settings(lab.url, '{"theme": "dark", "closeOnExit": false}')
    session = lab.api("POST", "api/workspace/sessions", {"repo": "project", "worker": "w1"})[
        "session"
    ]
    assert session["worker"] == "w1"
    worktree = session["worktree_path"]
    assert worktree.startswith(str(worker.root))
    terminals_path = f"api/workspace/sessions/{session['id']}/terminals"

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{lab.url}lab?token={TOKEN}")
        page.set_default_timeout(60_000)
        page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
        panel = page.locator("#jp-lawless-panel")
        panel.get_by_role("button", name="Create session").wait_for()
        widen_sidebar(page)
        panel.get_by_role("button", name="Open session").first.click()
        panel.get_by_role("tab", name="Terminal").click()
        panel.get_by_text("This session runs on the worker w1").wait_for()
        panel.get_by_role("button", name="Open a terminal").click()

        tab = page.locator("#jp-main-dock-panel .jp-lawless-remote-terminal")
        terminal = tab.locator(".jp-Terminal")
        terminal.locator(".xterm").wait_for()
        # the lab's terminal look: the person's terminal settings (here its theme)
        assert terminal.get_attribute("data-term-theme") == "dark"
        names = [t["name"] for t in lab.api("GET", terminals_path)["terminals"]]
        assert len(names) == 1, names
        name = names[0]
        time.sleep(1.5)  # the shell's prompt
        terminal.click()
        page.keyboard.type("pwd; echo DONE-$((40+2))\n")
        output = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "DONE-42" not in output:
            time.sleep(0.5)  # what the worker's terminal printed, read through the main server
            output = lab.api("GET", f"{terminals_path}/{name}/output")["output"]
        assert "DONE-42" in output and worktree in output.split("pwd", 1)[-1], output[-2000:]
        page.screenshot(path=shots / "remote-terminal.png")

        # the terminal is the worker's: the main server has none of that name (nor any)
        assert jupyter_terminals(lab.url, TOKEN) == []
        assert name in jupyter_terminals(worker.url, worker.token)

        # a reload restores the tab on the same terminal of the worker, never a local one
        page.reload()
        tab = page.locator("#jp-main-dock-panel .jp-lawless-remote-terminal")
        terminal = tab.locator(".jp-Terminal")
        terminal.locator(".xterm").wait_for()
        assert tab.get_attribute("id") == f"jp-lawless-terminal-{session['id']}-{name}"
        assert page.locator("#jp-main-dock-panel .jp-Terminal").count() == 1
        time.sleep(1.0)  # the websocket's set-up
        terminal.click()
        page.keyboard.type("cd . && pwd; echo AGAIN-$((40+3))\n")
        output = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "AGAIN-43" not in output:
            time.sleep(0.5)
            output = lab.api("GET", f"{terminals_path}/{name}/output")["output"]
        assert "AGAIN-43" in output and worktree in output.split("cd . && pwd", 1)[-1], output[
            -2000:
        ]
        assert jupyter_terminals(lab.url, TOKEN) == []
        assert [t["name"] for t in lab.api("GET", terminals_path)["terminals"]] == [name]

        # `exit` ends the shell on the worker; with "close on exit" off the tab stays and
        # says the terminal closed
        terminal.click()
        page.keyboard.type("exit\n")
        label = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
        label.get_by_text("(closed)").wait_for(timeout=30_000)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and name in jupyter_terminals(worker.url, worker.token):
            time.sleep(0.5)
        assert name not in jupyter_terminals(worker.url, worker.token)

        # the terminal is gone: a reload drops its tab (and opens no local terminal)
        page.reload()
        page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').wait_for()
        page.wait_for_timeout(3000)  # the restorer's commands have run by then
        assert page.locator("#jp-main-dock-panel .jp-lawless-remote-terminal").count() == 0
        assert page.locator("#jp-main-dock-panel .jp-Terminal").count() == 0
        assert jupyter_terminals(lab.url, TOKEN) == []
        assert not errors, errors
    except Exception:
        page.screenshot(path=shots / "failure-remote-terminal.png")
        raise
