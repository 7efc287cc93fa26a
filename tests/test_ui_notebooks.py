"""Notebooks in a real browser: a real `jupyter lab` with the built extension, Debian's
Chromium driven by Playwright, Claude Code talking to the scripted fake Messages API.

- a notebook open in JupyterLab shows Claude's edit (its document is reverted), and a copy
  with unsaved edits keeps them and gets a notice with a reload;
- Changes shows a notebook's diff cell by cell (nbdime) in a main-area tab;
- attaching the selected cell puts its source and output into the prompt Claude received.

Screenshots go to ``$LAWLESS_SCREENSHOTS`` when set (``LAWLESS_SCREENSHOTS=docs/screenshots``
refreshes the README's ``notebook-diff.png``), else to the test's temporary folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from ipykernel.ipkernel import IPythonKernel
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from .browser_fixtures import browser, lab, shots
from .browser_fixtures import wide_page as page
from .conftest import git
from .fake_anthropic import text, tool_use
from .lab_server import TOKEN

__all__ = ["browser", "lab", "page", "shots"]  # fixtures used here

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def notebook(*sources: str, printed: str | None = None) -> str:
    """A notebook: a markdown title, then one code cell per source (the last printing
    ``printed``)."""
    cells = [new_markdown_cell("# Analysis")]
    for i, source in enumerate(sources):
        outputs = []
        if printed is not None and i == len(sources) - 1:
            outputs = [new_output("stream", name="stdout", text=printed)]
        cells.append(new_code_cell(source, execution_count=i + 1, outputs=outputs))
    # the kernel's own metadata: the lab starts it without asking which, and finds nothing
    # to change (a change would make the document dirty)
    metadata = {"kernelspec": KERNELSPEC, "language_info": IPythonKernel.language_info}
    return nbformat.writes(new_notebook(cells=cells, metadata=metadata))


def session_with_notebook(lab, content: str) -> dict:
    """The repository gets ``analysis.ipynb``, committed; then a session on it."""
    repo = lab.root / "project"
    (repo / "analysis.ipynb").write_text(content)
    git(repo, "add", "analysis.ipynb")
    git(repo, "commit", "-qm", "the notebook")
    return lab.api("POST", "api/workspace/sessions", {"repo": "project", "name": "nb"})["session"]


def open_notebook_and_session(lab, page, session, first_code: str) -> tuple:
    """The worktree's notebook open in the lab (once its first code cell, ``first_code``,
    shows), the panel open on the session."""
    page.goto(f"{lab.url}lab/tree/{session['worktree_dir']}/analysis.ipynb?token={TOKEN}")
    notebook_panel = page.locator(".jp-NotebookPanel").first
    notebook_panel.locator(".jp-CodeCell", has_text=first_code).wait_for()
    page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
    panel = page.locator("#jp-lawless-panel")
    panel.get_by_role("button", name=re.compile(r"^Open session nb")).click()
    panel.get_by_role("tab", name="Chat").wait_for()
    return notebook_panel, panel


def send(panel, message):
    composer = panel.get_by_label("Message to Claude")
    composer.fill(message)
    composer.press("Enter")


def wait_done(panel):
    panel.get_by_role("button", name="Send the message").wait_for()


def test_an_open_notebook_follows_claudes_edits_and_a_dirty_copy_gets_a_notice(
    lab, fake, page, shots
):
    session = session_with_notebook(lab, notebook("x = 1"))
    path = str(Path(session["worktree_path"]) / "analysis.ipynb")
    cells, panel = open_notebook_and_session(lab, page, session, "x = 1")

    # Claude rewrites the notebook: the open (clean) document shows it, no conflict
    first = notebook("x = 1", "print('from Claude')")
    fake.add(
        tool_use("Read", {"file_path": path}),
        tool_use("Write", {"file_path": path, "content": first}),
        text("I added a cell."),
    )
    send(panel, "Add a cell")
    cells.locator(".jp-Cell", has_text="from Claude").wait_for()
    wait_done(panel)
    assert nbformat.read(path, as_version=4).cells[2].source == "print('from Claude')"
    title = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert "jp-mod-dirty" not in (title.get_attribute("class") or ""), "reverted, not dirty"

    # the person types in the notebook; Claude changes it again: their copy stays, a notice
    editor = cells.locator(".jp-Cell .cm-content").nth(1)
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type("  # mine")
    page.locator(".lm-TabBar-tab.jp-mod-dirty").wait_for()
    second = notebook("x = 1", "print('from Claude')", "print('again')")
    fake.add(
        tool_use("Read", {"file_path": path}),
        tool_use("Write", {"file_path": path, "content": second}),
        text("One more."),
    )
    send(panel, "Add another")
    notice = page.get_by_text("your copy has unsaved edits")
    notice.wait_for()
    wait_done(panel)
    assert "# mine" in cells.text_content() and "again" not in cells.text_content()

    # reload from disk: Claude's version, the person's typing gone
    page.get_by_role("button", name="Reload from disk").click()
    cells.locator(".jp-Cell", has_text="again").wait_for()
    assert "# mine" not in cells.text_content()


def allow(panel) -> None:
    """Answer the pending approval with Allow."""
    pending = panel.locator(".jp-lawless-approval-pending")
    pending.get_by_role("button", name="Allow", exact=True).click()
    pending.wait_for(state="detached")


def test_an_open_notebook_follows_claudes_notebook_tools(lab, fake, page):
    """Claude edits a cell and runs it with the `jupyter` tools while the person has the
    notebook open: the open document shows the new source, then the output, with no
    conflict and nothing dirty."""
    session = session_with_notebook(lab, notebook("x = 1"))
    cells, panel = open_notebook_and_session(lab, page, session, "x = 1")

    fake.add(
        tool_use(
            "mcp__jupyter__edit_cell", {"path": "analysis.ipynb", "index": 1, "source": "6 * 7"}
        ),
        tool_use("mcp__jupyter__run_cell", {"path": "analysis.ipynb", "index": 1}),
        text("The cell now computes 42."),
    )
    send(panel, "Make the cell compute 42 and run it")
    cells.locator(".jp-CodeCell", has_text="6 * 7").wait_for()
    allow(panel)  # editing inside the worktree does not ask; running code always does
    cells.locator(".jp-OutputArea-output", has_text="42").wait_for()
    wait_done(panel)

    saved = nbformat.read(Path(session["worktree_path"]) / "analysis.ipynb", as_version=4)
    assert saved.cells[1].source == "6 * 7" and "42" in str(saved.cells[1].outputs)
    title = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert "jp-mod-dirty" not in (title.get_attribute("class") or ""), "reverted, not dirty"
    assert page.get_by_text("your copy has unsaved edits").count() == 0


def test_changes_shows_a_notebook_cell_by_cell_and_a_selected_cell_is_attached(
    lab, fake, page, shots
):
    session = session_with_notebook(lab, notebook("x = 1", "print(x)", printed="1\n"))
    # the session's change: a source and an output changed, a cell added
    changed = nbformat.read(Path(session["worktree_path"]) / "analysis.ipynb", as_version=4)
    changed.cells[1].source = "x = 6"
    changed.cells[2].source = "print(x * 7)"
    changed.cells[2].outputs[0].text = "42\n"
    changed.cells.append(new_markdown_cell("## A new cell"))
    nbformat.write(changed, Path(session["worktree_path"]) / "analysis.ipynb")
    # the person's analysis: the notebook open, its third cell ("print(x * 7)") selected
    cells, panel = open_notebook_and_session(lab, page, session, "x = 6")
    cells.locator(".jp-Cell").nth(2).locator(".jp-InputPrompt").click()

    # attach the selected cell: Claude gets its source and its output after the message
    panel.get_by_role("button", name="Attach").click()
    panel.get_by_role("menuitem", name="Selected cell of analysis.ipynb").click()
    chips = panel.get_by_label("Attachments")
    assert chips.inner_text().startswith("analysis.ipynb: cell 3")
    fake.add(text("It prints 42."))
    send(panel, "What does this cell print?")
    panel.locator(".jp-lawless-assistant", has_text="It prints 42.").wait_for()
    wait_done(panel)
    sent = "\n".join(
        block.get("text", "")
        for message in fake.main_requests[-1]["messages"]
        for block in (message["content"] if isinstance(message["content"], list) else [])
    )
    assert "What does this cell print?" in sent
    assert "Attached: analysis.ipynb: cell 3" in sent
    assert "print(x * 7)\n# Output\n42" in sent, sent[sent.index("Attached:") :]
    sent_message = panel.locator(".jp-lawless-user").last
    assert "analysis.ipynb: cell 3" in sent_message.inner_text(), "the history shows the chip"

    # Changes: the notebook's diff, cell by cell, in a main-area tab
    panel.get_by_role("tab", name="Changes").click()
    panel.get_by_role("button", name="Show the cell-by-cell diff of analysis.ipynb").click()
    diff = page.locator(".jp-lawless-nbdiff")
    diff.locator(".jp-Notebook-diff").wait_for()
    tab = page.locator(".lm-TabBar-tab", has_text="Diff: analysis.ipynb")
    assert tab.count() == 1
    diff.locator(".jp-Cell-diff", has_text="A new cell").first.wait_for()
    assert diff.locator(".jp-Diff-added").count() >= 1, "the added cell is marked"
    outputs = diff.locator(".jp-Cellrow-outputs")
    assert outputs.count() >= 1 and "42" in diff.inner_text()
    page.screenshot(path=shots / "notebook-diff.png")

    diff.get_by_label("Hide outputs").check()
    assert not outputs.first.is_visible()
    diff.get_by_label("Hide outputs").uncheck()
    assert outputs.first.is_visible()
