"""The attempts view in a real browser: three attempts started from the panel's form, shown
side by side in the main area with their diffs and check results, one kept.

Screenshots go to ``$LAWLESS_SCREENSHOTS`` when set (``LAWLESS_SCREENSHOTS=docs/screenshots``
refreshes the README's ``attempts.png``), else to the test's temporary folder.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .browser_fixtures import browser, lab, open_panel, shots, widen_sidebar  # noqa: F401
from .fake_anthropic import text
from .test_attempts import CHECK, write

MINUS = "\u2212"  # the panel writes deletions with a real minus sign


def test_three_attempts_side_by_side_and_keep_one(lab, fake, browser, shots):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        scenario(lab, fake, page, shots)
    except Exception:
        page.screenshot(path=shots / "attempts-failure.png")
        raise


def scenario(server, anthropic, page, folder):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    panel = open_panel(server, page)
    widen_sidebar(page)

    all_in = threading.Event()  # the three first answers wait for each other
    anthropic.add(
        write("result.txt", "one\nline\n", all_in),
        write("result.txt", "two\n", all_in),
        write("notes.txt", "three\n", all_in),
        text("Wrote it."),
        text("Wrote it."),
        text("Wrote it."),
    )
    panel.get_by_label("Repository").fill("project")
    panel.get_by_label("Attempts").fill("3")
    panel.get_by_label("Task for every attempt").fill("Write result.txt with the answer")
    panel.get_by_label("Check command").fill(CHECK)
    panel.get_by_role("button", name="Start 3 attempts").click()
    assert anthropic.wait_for_requests(3, 60), "the three turns did not run at once"
    all_in.set()

    view = page.locator(".jp-lawless-attempts-root")
    cards = view.locator(".jp-lawless-attempt")
    cards.nth(2).wait_for()
    assert cards.count() == 3
    view.get_by_text("Check passed").nth(1).wait_for()
    view.get_by_text("Check failed (exit 3)").wait_for()
    assert view.get_by_text(f"+2 {MINUS}0 in 1 file").count() == 1
    assert view.get_by_text(f"+1 {MINUS}0 in 1 file").count() == 2
    for _ in range(100):  # the panel's list shows the turns over once refreshed
        panel.get_by_role("button", name="Refresh the list of sessions").click()
        if panel.locator(".jp-lawless-state-connected").count() == 0:
            break
        time.sleep(0.2)
    page.screenshot(path=folder / "attempts.png")

    # a failed card's diff opens in the panel's Changes tab
    failed = cards.filter(has_text="Check failed")
    failed.get_by_role("button", name="Diff").click()
    panel.get_by_role("tab", name="Changes").wait_for()
    panel.locator(".jp-lawless-files").get_by_text("notes.txt").wait_for()

    # keep a passing one; the others go, their branches stay
    keep = cards.filter(has_text=f"+2 {MINUS}0")
    name = keep.locator("h3").inner_text().split("\n")[0].split(" ", 1)[1]
    keep.get_by_role("button", name="Keep this one").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Keep this one").click()
    view.locator(".jp-lawless-notice", has_text="Kept").wait_for()
    # the panel showed a deleted session's Changes: it goes back to the list, now of one
    panel.get_by_role("button", name="Create session").wait_for()
    panel.locator(".jp-lawless-list").last.locator(".jp-lawless-item").first.wait_for()
    assert panel.locator(".jp-lawless-list").last.locator(".jp-lawless-item").count() == 1
    sessions = server.api("GET", "api/workspace/sessions")["sessions"]
    assert [s["name"] for s in sessions] == [name.strip()]
    assert (Path(sessions[0]["worktree_path"]) / "result.txt").read_text() == "one\nline\n"
    assert not errors, errors
