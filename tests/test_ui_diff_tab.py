"""The main-area diff tab in a real browser: a real `jupyter lab` with the built extension,
Debian's Chromium driven by Playwright.

Changes opens a tab with every changed file of the session: a Python file side by side
(CodeMirror's merge view, highlighted as Python), then unified; a file collapses and stays
collapsed through a refresh; a binary file says so; a notebook's row opens its nbdime tab;
the tab comes back after a reload.

Screenshots go to ``$LAWLESS_SCREENSHOTS`` when set (``LAWLESS_SCREENSHOTS=docs/screenshots``
refreshes the README's ``diff-tab.png``), else to the test's temporary folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from .browser_fixtures import browser, lab, shots
from .browser_fixtures import wide_page as page
from .conftest import git
from .lab_server import TOKEN

__all__ = ["browser", "lab", "page", "shots"]  # fixtures used here

OLD_APP = '''"""A small module."""

import math


def area(radius):
    return math.pi * radius ** 2


def greet(name):
    return "Hello " + name
'''

NEW_APP = '''"""A small module."""

import math


def area(radius: float) -> float:
    """The area of a circle."""
    return math.pi * radius**2


def greet(name):
    return f"Hello, {name}!"
'''


def session_with_changes(lab) -> dict:
    """A session whose worktree changed a Python file and added a notebook and a binary."""
    repo = lab.root / "project"
    (repo / "src/app.py").write_text(OLD_APP)
    git(repo, "commit", "-qam", "the module")
    session = lab.api("POST", "api/workspace/sessions", {"repo": "project", "name": "work"})
    worktree = Path(session["session"]["worktree_path"])
    (worktree / "src/app.py").write_text(NEW_APP)
    nb = new_notebook(cells=[new_code_cell("print('hi')")])
    nbformat.write(nb, worktree / "analysis.ipynb")
    (worktree / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    return session["session"]


def open_changes(lab, page):
    page.goto(f"{lab.url}lab?token={TOKEN}")
    page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
    panel = page.locator("#jp-lawless-panel")
    panel.get_by_role("button", name=re.compile(r"^Open session work")).click()
    panel.get_by_role("tab", name="Changes").click()
    return panel


def file_section(tab, path):
    return tab.locator(f'section.jp-lawless-difftab-file[data-path="{path}"]')


def test_the_diff_tab_shows_every_file_side_by_side_or_unified(lab, page, shots):
    session = session_with_changes(lab)
    panel = open_changes(lab, page)
    panel.get_by_role("button", name="Open the whole diff in a tab").click()

    tab = page.locator(".jp-lawless-difftab")
    app = file_section(tab, "src/app.py")
    # side by side: the old text on the left, the new on the right, changed lines marked
    old_line = app.locator(".cm-merge-a .cm-changedLine", has_text='"Hello " + name')
    new_line = app.locator(".cm-merge-b .cm-changedLine", has_text='f"Hello, {name}!"')
    old_line.wait_for()
    new_line.wait_for()
    title = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert title.inner_text() == "Diff: work"
    # highlighted as Python (a frame after the lines): the keyword and the string are spans
    # coloured unlike the text
    new_line.locator("span", has_text=re.compile(r"^return$")).wait_for()
    colours = new_line.evaluate(
        """line => [...line.querySelectorAll('span')].map(s =>
             [s.textContent, getComputedStyle(s).color]).concat(
             [['(line)', getComputedStyle(line).color]])"""
    )
    colour = dict(colours)
    assert colour["return"] != colour["(line)"], colours
    assert colour['"Hello'] not in (colour["(line)"], colour["return"]), colours
    # an unchanged stretch is folded, a binary file says so, the notebook has its button
    assert "logo.png" in tab.inner_text()
    file_section(tab, "logo.png").get_by_text("Binary file: not shown.").wait_for()
    page.screenshot(path=shots / "diff-tab.png")

    # unified: one column, the old line shown deleted above the new one
    tab.get_by_role("button", name="Unified").click()
    app.locator(".cm-deletedChunk", has_text='"Hello " + name').wait_for()
    app.locator(".cm-changedLine", has_text='f"Hello, {name}!"').wait_for()
    assert app.locator(".cm-mergeView").count() == 0
    assert tab.get_by_role("button", name="Unified").get_attribute("aria-pressed") == "true"

    # collapse a file: its lines go, and stay gone through a refresh
    app.get_by_role("button", name="Collapse src/app.py").click()
    assert not app.locator(".jp-lawless-difftab-body").is_visible()
    tab.get_by_role("button", name="Refresh the diff").click()
    tab.get_by_text("3 changed files").wait_for()
    app.get_by_role("button", name="Expand src/app.py").wait_for()
    assert app.locator(".cm-editor").count() == 0

    # the notebook's row opens nbdime's cell-by-cell tab
    file_section(tab, "analysis.ipynb").get_by_role(
        "button", name="Open the cell-by-cell diff of analysis.ipynb"
    ).click()
    page.locator(".jp-lawless-nbdiff", has_text="print('hi')").wait_for()

    # opening again re-activates the one tab; a file's own button expands and shows it
    panel.get_by_role("button", name="Open the diff of src/app.py in a tab").click()
    app.locator(".cm-changedLine", has_text='f"Hello, {name}!"').wait_for()
    assert page.locator(".jp-lawless-difftab").count() == 1

    # a reload puts the tab back (the layout restorer)
    page.reload()
    restored = file_section(page.locator(".jp-lawless-difftab"), "src/app.py")
    restored.locator(".cm-changedLine", has_text='f"Hello, {name}!"').wait_for()
    assert session["id"]
