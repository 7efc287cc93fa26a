"""A notebook open in JupyterLab with jupyter-collaboration (real-time collaboration), in a
real browser: Claude edits a cell through ``mcp__jupyter__edit_cell`` while the person has
unsaved typing in another cell. The open notebook shows Claude's cell at once, keeps the
person's typing, asks nothing about a file changed on disk, and the person's save writes
both.

The person has autosave off (JupyterLab's ``autosave`` setting, which the lab tells the
room), so their typing stays unsaved until they save, and so does Claude's change: the
room saves what every view holds, when the person saves.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from .browser_fixtures import browser
from .browser_fixtures import wide_page as page
from .fake_anthropic import text, tool_use
from .lab_server import running_lab
from .test_ui_notebooks import notebook, open_notebook_and_session, send, session_with_notebook

__all__ = ["browser", "page"]  # fixtures used here


@pytest.fixture
def lab(tmp_path, fake):
    """`jupyter lab` with jupyter-collaboration on, and the person's autosave off."""
    settings = tmp_path / "jupyter-config/lab/user-settings/@jupyterlab/docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    with running_lab(tmp_path, fake, collaboration=True) as lab:
        yield lab


def saved_sources(path: Path) -> list[str] | None:
    try:
        return [cell.source for cell in nbformat.read(path, as_version=4).cells]
    except (nbformat.reader.NotJSONError, ValueError):
        return None  # the server is writing it


def test_claudes_cell_edit_shows_live_and_keeps_the_persons_unsaved_typing(lab, fake, page):
    session = session_with_notebook(lab, notebook("x = 1", "y = 2"))
    path = Path(session["worktree_path"]) / "analysis.ipynb"
    cells, panel = open_notebook_and_session(lab, page, session, "x = 1")

    # the person types in the first code cell, and does not save
    editor = cells.locator(".jp-CodeCell .cm-content").first
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type("  # mine")
    cells.locator(".jp-CodeCell", has_text="# mine").wait_for()

    # Claude edits the second code cell with the notebook tool
    fake.add(
        tool_use(
            "mcp__jupyter__edit_cell",
            {"path": "analysis.ipynb", "index": 2, "source": "print('from Claude')"},
        ),
        text("I changed the second cell."),
    )
    send(panel, "Make the second cell print something")
    cells.locator(".jp-CodeCell", has_text="from Claude").wait_for()
    panel.locator(".jp-lawless-assistant", has_text="I changed the second cell.").wait_for()

    # the open notebook: Claude's cell and the person's typing, no conflict, no notice
    code = cells.locator(".jp-CodeCell .cm-content")
    assert code.nth(0).inner_text() == "x = 1  # mine"
    assert code.nth(1).inner_text() == "print('from Claude')"
    assert page.locator(".jp-Dialog").count() == 0, "no 'file changed on disk' question"
    assert page.get_by_text("your copy has unsaved edits").count() == 0
    assert saved_sources(path) == ["# Analysis", "x = 1", "y = 2"], "nothing saved yet"

    # the person saves: the file holds both
    editor.click()
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while saved_sources(path) != ["# Analysis", "x = 1  # mine", "print('from Claude')"]:
        assert time.monotonic() < deadline, f"not saved: {saved_sources(path)}"
        time.sleep(0.2)
    assert page.locator(".jp-Dialog").count() == 0
    assert code.nth(0).inner_text() == "x = 1  # mine"
