"""A session's chat in the main area, in a real browser (tests/lab_server.py): opened
from the sidebar (once per session), split beside a notebook, restored after a reload,
answering in both viewers once; its tab's header showing a running turn and a pending
approval; a file a tool card names opened at its line (an Edit's: where it changed); Open
worktree; a session started from the file browser's context menu; a deleted session's
tab closed.

``LAWLESS_SCREENSHOTS=docs/screenshots`` refreshes ``main-area-chat.png``.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import nbformat
from ipykernel.ipkernel import IPythonKernel
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .browser_fixtures import browser, lab, shots
from .browser_fixtures import wide_page as page
from .conftest import git
from .fake_anthropic import text, tool_use
from .lab_server import TOKEN

__all__ = ["browser", "lab", "page", "shots"]  # fixtures used here

# the kernel's own metadata: the lab starts it without asking which
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def prepare(lab) -> dict:
    """The repository gets a 60-line file (committed), the root a notebook and a folder
    that is no repository; then a session on the repository."""
    repo = lab.root / "project"
    (repo / "long.py").write_text("".join(f"line_{i} = {i}\n" for i in range(1, 61)))
    git(repo, "add", "long.py")
    git(repo, "commit", "-qm", "a long file")
    notebook = new_notebook(
        cells=[new_markdown_cell("# Notes"), new_code_cell("total = sum(range(10))\ntotal")],
        metadata={"kernelspec": KERNELSPEC, "language_info": IPythonKernel.language_info},
    )
    (lab.root / "notes.ipynb").write_text(nbformat.writes(notebook))
    (lab.root / "plain").mkdir()
    return lab.api("POST", "api/workspace/sessions", {"repo": "project", "name": "demo"})["session"]


def chat_tab(page, session_id: str):
    return page.locator(f"#lawless-chat-{session_id}")


def tabs_titled(page, title: str):
    return page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=title)


def drag_beside(page, tab, target):
    """Drag a dock tab onto the right edge of ``target``: the dock splits there."""
    start = tab.bounding_box()
    box = target.bounding_box()
    assert start and box
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + 40, start["y"] + 60, steps=5)
    x, y = box["x"] + box["width"] - 15, box["y"] + box["height"] / 2
    page.mouse.move(x, y, steps=10)
    page.mouse.move(x + 2, y + 2, steps=2)
    page.mouse.up()


def status_line(page) -> str:
    return page.locator("#jp-main-statusbar").inner_text()


def wait_for_cursor(page, line: int) -> None:
    """The status bar shows the current editor's cursor at ``line``."""
    page.wait_for_function(
        f"""() => /Ln {line}, Col 1/.test(
            document.querySelector('#jp-main-statusbar').innerText)"""
    )


def test_the_chat_in_the_main_area(lab, fake, page, shots):
    session = prepare(lab)
    worktree = Path(session["worktree_path"])
    page.goto(f"{lab.url}lab/tree/notes.ipynb?token={TOKEN}")
    notebook = page.locator(".jp-NotebookPanel").first
    notebook.locator(".jp-CodeCell", has_text="total = sum").wait_for()
    page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
    panel = page.locator("#jp-lawless-panel")
    panel.get_by_role("button", name=re.compile(r"^Open session demo")).click()
    panel.get_by_role("tab", name="Chat").wait_for()

    # "Open in main area": a tab; again: the same tab, not a second one
    panel.get_by_role("button", name="Open in main area").click()
    tab = chat_tab(page, session["id"])
    tab.get_by_label("Message to Claude").wait_for()
    tabs_titled(page, "Claude: demo").wait_for()
    panel.get_by_role("button", name="Open in main area").click()
    assert tabs_titled(page, "Claude: demo").count() == 1

    # split beside the notebook: both on screen, side by side
    drag_beside(page, tabs_titled(page, "Claude: demo"), page.locator("#jp-main-dock-panel"))
    notebook.wait_for(state="visible")
    tab.wait_for(state="visible")
    nb_box, chat_box = notebook.bounding_box(), tab.bounding_box()
    assert nb_box and chat_box and chat_box["x"] >= nb_box["x"] + nb_box["width"] - 5, (
        nb_box,
        chat_box,
    )

    # a turn sent from the tab streams there, and in the sidebar's chat once; one request
    fake.add(
        tool_use("Read", {"file_path": str(worktree / "long.py"), "offset": 30, "limit": 5}),
        text("Line 30 of `long.py` sets **line_30**."),
    )
    composer = tab.get_by_label("Message to Claude")
    composer.fill("What is on line 30 of long.py?")
    composer.press("Enter")
    tab.get_by_text("sets line_30").wait_for()
    panel.get_by_text("sets line_30").wait_for()
    tab.get_by_role("button", name="Send the message").wait_for()
    panel.get_by_role("button", name="Send the message").wait_for()
    assert panel.locator(".jp-lawless-user").count() == 1
    assert panel.locator(".jp-lawless-assistant").count() == 1
    assert tab.locator(".jp-lawless-assistant").count() == 1
    assert len(fake.main_requests) == 2  # the turn's two calls: the tool, the answer
    page.screenshot(path=shots / "main-area-chat.png")

    # an Edit (allowed in the worktree), then a command that asks first: the tab's header
    # says Claude waits; once allowed, while the answer is held back, it shows a running
    # turn; after the turn it is plain again
    release = threading.Event()
    fake.add(
        tool_use("Read", {"file_path": str(worktree / "long.py")}),
        tool_use(
            "Edit",
            {
                "file_path": str(worktree / "long.py"),
                "old_string": "line_45 = 45",
                "new_string": "line_45 = 'forty-five'",
            },
        ),
        tool_use("Bash", {"command": "touch spelled-out"}),
        text("Line 45 now says it in words.", hold=release),
    )
    composer.fill("Spell out line 45")
    composer.press("Enter")
    header = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Claude: demo")
    page.locator(
        "#jp-main-dock-panel .lm-TabBar-tab.jp-lawless-chattab-waiting",
        has_text="Claude: demo (approval)",
    ).wait_for()
    tab.locator(".jp-lawless-approval-pending").get_by_role(
        "button", name="Allow", exact=True
    ).click()
    page.locator(
        "#jp-main-dock-panel .lm-TabBar-tab.jp-lawless-chattab-working", has_text="Claude: demo"
    ).wait_for()
    assert "(approval)" not in header.inner_text()
    assert "Claude is working" in (header.get_attribute("title") or "")
    release.set()
    tab.get_by_text("now says it in words").wait_for()
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-lawless-chattab-working").wait_for(
        state="detached"
    )
    assert "jp-lawless-chattab" not in (header.get_attribute("class") or "")
    assert header.inner_text().strip() == "Claude: demo"
    assert "line_45 = 'forty-five'" in (worktree / "long.py").read_text()

    # the Edit card names long.py: a click opens it in the editor where it changed
    tab.locator(
        '.jp-lawless-tool:has(.jp-lawless-tool-name[title="Edit"]) .jp-lawless-filelink'
    ).click()
    page.locator(".jp-FileEditor").first.wait_for()
    tabs_titled(page, "long.py").wait_for()
    wait_for_cursor(page, 45)
    git(worktree, "add", "-A")
    git(worktree, "commit", "-qm", "spelled out")  # the delete below asks nothing

    # the Read card names long.py at line 30: a click puts the editor there (long.py opened
    # in the chat's dock area: the chat's tab first)
    tabs_titled(page, "Claude: demo").click()
    link = tab.locator(".jp-lawless-tool .jp-lawless-filelink", has_text="long.py:30")
    link.click()
    wait_for_cursor(page, 30)

    # a reload restores the tab, with its conversation
    page.reload()
    tab = chat_tab(page, session["id"])
    tab.get_by_text("sets line_30").wait_for(state="attached")
    assert tabs_titled(page, "Claude: demo").count() == 1
    # the restorer makes long.py current again, the last current tab; only then is a click
    # on the chat's tab not undone by it
    page.locator(".jp-FileEditor").first.wait_for()
    tabs_titled(page, "Claude: demo").click()  # it shares its dock area with long.py
    tab.get_by_text("sets line_30").wait_for()

    # Open worktree: the file browser shows the worktree's files
    tab.get_by_role("button", name="Open worktree").click()
    browser = page.locator("#filebrowser")
    browser.locator(".jp-BreadCrumbs", has_text=worktree.name).wait_for()
    browser.locator(".jp-DirListing-item", has_text="long.py").wait_for()

    # the file browser's context menu on a folder starts a session there
    browser.locator(".jp-BreadCrumbs-home").click()
    browser.locator('.jp-DirListing-item[data-isdir="true"]', has_text="project").click(
        button="right"
    )
    page.locator(".lm-Menu-item", has_text="New Claude Session Here").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab').length >= 4"
    )
    sessions = lab.api("GET", "api/workspace/sessions")["sessions"]
    started = [s for s in sessions if s["id"] != session["id"]]
    assert len(started) == 1 and started[0]["repo"] == "project"
    chat_tab(page, started[0]["id"]).get_by_label("Message to Claude").wait_for()

    # ...and on a folder that is no repository, the server's answer is shown
    browser.locator('.jp-DirListing-item[data-isdir="true"]', has_text="plain").click(
        button="right"
    )
    page.locator(".lm-Menu-item", has_text="New Claude Session Here").click()
    page.locator(".Toastify__toast", has_text="No session started in “plain”").wait_for()
    assert len(lab.api("GET", "api/workspace/sessions")["sessions"]) == 2

    # the Launcher's tile does the same for the folder the file browser shows
    browser.locator('.jp-DirListing-item[data-isdir="true"]', has_text="project").dblclick()
    browser.locator(".jp-DirListing-item", has_text="long.py").wait_for()
    page.locator("#jp-main-dock-panel .lm-TabBar-addButton").first.click()
    page.locator(".jp-LauncherCard", has_text="Claude Session").click()
    page.wait_for_function("() => document.querySelectorAll('[id^=\"lawless-chat-\"]').length >= 3")
    sessions = lab.api("GET", "api/workspace/sessions")["sessions"]
    launched = [s for s in sessions if s["id"] not in (session["id"], started[0]["id"])]
    assert len(launched) == 1 and launched[0]["repo"] == "project", sessions

    # deleting the session in the sidebar closes its tab
    panel = page.locator("#jp-lawless-panel")
    if not panel.is_visible():  # the file browser took the sidebar
        page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
    # the sidebar came back on the session it had open: back to the list
    panel.get_by_role("button", name="Back to the list of sessions").click()
    panel.get_by_role("button", name="Delete session demo").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Delete session demo").click()
    # opening long.py left a checkpoint (.ipynb_checkpoints/) in the worktree; git ignores
    # it (info/exclude), so the delete does not ask about "uncommitted changes"
    chat_tab(page, session["id"]).wait_for(state="detached")
    assert page.locator(".jp-Dialog").count() == 0
    assert tabs_titled(page, "Claude: demo").count() == 0

    # a session deleted while the page is away: its restored tab closes after the reload
    # (the notebook's tab, restored beside it, shows the restorer ran)
    for gone in (started[0], launched[0]):
        lab.api("DELETE", f"api/workspace/sessions/{gone['id']}?force=true")
    page.reload()
    tabs_titled(page, "notes.ipynb").wait_for()
    # restored, then closed once the sidebar has read the list
    page.wait_for_function(
        """() => ![...document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab')]
            .some(tab => tab.textContent.includes('Claude:'))"""
    )
    for gone in (started[0], launched[0]):
        assert not chat_tab(page, gone["id"]).count()
