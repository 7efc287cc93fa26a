"""The fixtures of the browser tests: a running `jupyter lab` with the extension, Debian's
Chromium through Playwright, a page on it, and where screenshots go. A test module imports
the ones it uses (``fake``, the scripted Messages API, comes from conftest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .lab_server import launch_chromium, running_lab


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
