"""A turn's menu in a real browser: rewind to before a turn (confirmed in JupyterLab's
dialog), fork from a turn (the panel opens the new session). The harness of test_ui.py."""

from __future__ import annotations

from pathlib import Path

from .browser_fixtures import browser, create_session, lab, open_panel, shots, widen_sidebar
from .fake_anthropic import text, tool_use

__all__ = ["browser", "lab", "shots"]  # fixtures used here


def test_rewind_and_fork_from_a_turns_menu(lab, fake, browser, shots):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        scenario(lab, fake, page, shots)
    except Exception:
        page.screenshot(path=shots / "turns-failure.png")
        raise


def scenario(running, scripted, page, folder):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    panel = open_panel(running, page)
    widen_sidebar(page)
    session = create_session(running, panel, "turns")
    worktree = Path(session["worktree_path"])

    scripted.add(
        tool_use("Write", {"file_path": "made.txt", "content": "made by Claude\n"}),
        text("I wrote made.txt."),
    )
    composer = panel.get_by_label("Message to Claude")
    composer.fill("Write made.txt")
    composer.press("Enter")
    panel.get_by_text("I wrote made.txt.").wait_for()
    panel.get_by_role("button", name="Send the message").wait_for()
    assert (worktree / "made.txt").exists()

    # rewind: the menu, the confirm dialog, then the file is gone and the turn is marked
    panel.get_by_role("button", name="Actions for turn 1").click()
    panel.get_by_role("menuitem", name="Rewind to before this").click()
    dialog = page.locator(".jp-Dialog")
    assert "Write made.txt" in dialog.inner_text()
    page.screenshot(path=folder / "rewind-dialog.png")
    dialog.get_by_role("button", name="Rewind").click()
    panel.locator(".jp-lawless-notice", has_text="Rewound to before turn 1").wait_for()
    panel.locator(".jp-lawless-rewound", has_text="Write made.txt").wait_for()
    assert not (worktree / "made.txt").exists()
    page.screenshot(path=folder / "rewound.png")

    # fork from the (rewound) turn: the panel opens the new session
    panel.get_by_role("button", name="Actions for turn 1").click()
    panel.get_by_role("menuitem", name="Fork from here").click()
    sessions = []
    for _ in range(120):
        sessions = running.api("GET", "api/workspace/sessions")["sessions"]
        if len(sessions) == 2:
            break
        page.wait_for_timeout(250)
    [fork] = [s for s in sessions if s["id"] != session["id"]]
    panel.locator(".jp-lawless-sessionbar", has_text=fork["branch"]).wait_for()
    assert not errors, errors
