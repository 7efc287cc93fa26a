"""The fixtures of the browser tests: a running `jupyter lab` with the extension, Debian's
Chromium through Playwright, a page on it, and where screenshots go; and the steps most of
them begin with (open the panel, widen the sidebar, create a session). A test module imports
the ones it uses (``fake``, the scripted Messages API, comes from conftest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .lab_server import TOKEN, launch_chromium, running_lab


@pytest.fixture
def lab(request, tmp_path, fake):
    """A running `jupyter lab`; ``@pytest.mark.parametrize("lab", [{...}], indirect=True)``
    adds LawlessApp settings (e.g. a low chat quota)."""
    with running_lab(tmp_path, fake, getattr(request, "param", None)) as lab:
        yield lab


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def shots(tmp_path):
    """Where screenshots go: ``LAWLESS_SCREENSHOTS`` (e.g. docs/screenshots), else tmp."""
    folder = Path(os.environ.get("LAWLESS_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def wide_page(browser, tmp_path):
    """A 1500 x 950 page that fails the test on any uncaught page error, and leaves a
    screenshot of how it ended (``last.png``) for a failure's reader."""
    page = browser.new_page(viewport={"width": 1500, "height": 950})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        page.screenshot(path=tmp_path / "last.png")  # what the page showed at the end
    assert not errors, errors


# -- the opening steps ------------------------------------------------------------------------


def open_panel(lab, page):
    """The page with the panel open; returns the panel."""
    page.set_default_timeout(60_000)
    page.goto(f"{lab.url}lab?token={TOKEN}")
    page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
    panel = page.locator("#jp-lawless-panel")
    panel.get_by_role("button", name="Create session").wait_for()
    return panel


def widen_sidebar(page):
    """Drag the left sidebar's edge some way right: room for the panel (and screenshots)."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(box["x"] + 140, box["y"] + 300, steps=5)
        page.mouse.up()


def create_session(lab, panel, name):
    """A session of the lab's ``project`` made through the panel's form; its API record."""
    panel.get_by_label("Repository").fill("project")
    panel.get_by_label("Name").fill(name)
    panel.get_by_role("button", name="Create session").click()
    panel.get_by_role("tab", name="Chat").wait_for()
    sessions = lab.api("GET", "api/workspace/sessions")["sessions"]
    return next(s for s in sessions if s["name"] == name)
