"""Claude running a notebook cell, as the panel shows it: a real `jupyter lab` with the
built extension, Chromium through Playwright, the real CLI with the scripted model, a real
kernel.

``LAWLESS_SCREENSHOTS=docs/screenshots`` writes ``run-cell.png`` for the README.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .browser_fixtures import browser, create_session, lab, open_panel, shots, widen_sidebar
from .conftest import git
from .fake_anthropic import text, tool_use
from .lab_server import TOKEN

__all__ = ["browser", "lab", "shots"]  # fixtures used here

CELL = (
    "import statistics\n"
    "temperatures = [18.5, 21.0, 19.25, 23.5, 22.0]\n"
    "print(f'{len(temperatures)} days, warmest {max(temperatures)} °C')\n"
    "round(statistics.mean(temperatures), 2)"
)


def test_claude_runs_a_cell_and_the_card_shows_its_output(lab, fake, browser, shots):
    repo = lab.root / "project"
    nb = new_notebook(cells=[new_markdown_cell("# Weather"), new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    (repo / "weather.ipynb").write_text(nbformat.writes(nb))
    git(repo, "add", "weather.ipynb")
    git(repo, "commit", "--quiet", "-m", "a notebook")

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        panel = open_panel(lab, page)
        widen_sidebar(page)
        worktree = Path(create_session(lab, panel, "weather")["worktree_path"])

        fake.add(
            tool_use(
                "mcp__jupyter__run_cell",
                {"path": "weather.ipynb", "index": 1},
                preamble="I'll run the cell that summarises the temperatures.",
            ),
            text("The cell ran: **5 days**, the warmest 23.5 °C, a mean of **20.85 °C**."),
        )
        composer = panel.get_by_label("Message to Claude")
        composer.fill("Run the weather notebook's code cell")
        composer.press("Enter")
        approval = panel.locator(".jp-lawless-approval-pending")
        approval.get_by_role("button", name="Allow", exact=True).wait_for()
        assert "weather.ipynb" in approval.inner_text()
        approval.get_by_role("button", name="Allow", exact=True).click()
        panel.get_by_text("a mean of").wait_for()

        approval = panel.locator(".jp-lawless-approval").last
        assert "Run cell" in approval.inner_text() and "temperatures = [" in approval.inner_text()

        # open the notebook of the worktree beside the chat (the page reloads; the panel
        # comes back with the session open)
        relative = worktree.relative_to(lab.root) / "weather.ipynb"
        page.goto(f"{lab.url}lab/tree/{relative.as_posix()}?token={TOKEN}")
        page.locator(".jp-OutputArea-output").filter(has_text="20.85").wait_for()
        panel = page.locator("#jp-lawless-panel")
        panel.get_by_text("a mean of").wait_for()
        card = panel.locator(".jp-lawless-tool").last
        summary = card.locator("summary")
        assert "Run cell" in summary.inner_text()
        assert "weather.ipynb · cell 1" in summary.inner_text()
        # open the card (its name: the notebook's name is a link that opens the notebook)
        summary.locator(".jp-lawless-tool-name").click()
        result = card.locator(".jp-lawless-result")
        result.wait_for()
        assert "5 days, warmest 23.5 °C" in result.inner_text()
        assert "20.85" in result.inner_text()
        card.scroll_into_view_if_needed()
        page.screenshot(path=shots / "run-cell.png")

        # the outputs are in the notebook in the worktree, not in the base repository
        saved = nbformat.read(worktree / "weather.ipynb", as_version=4).cells[1]
        assert saved.execution_count == 1 and "20.85" in str(saved.outputs)
        assert nbformat.read(repo / "weather.ipynb", as_version=4).cells[1].outputs == []
    except Exception:
        page.screenshot(path=shots / "failure-run-cell.png")
        raise
