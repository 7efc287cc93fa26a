"""An accessibility check of the panel's views in a real browser (#16): axe-core (the npm
package, the engine of Lighthouse's accessibility audit) run on the panel's DOM in the
sessions list, the new-session form, a session's chat with a message and an approval card,
Changes, Terminal and Connections. No `critical` violation; the assertion lists the
`serious` ones too."""

from __future__ import annotations

from pathlib import Path

from .browser_fixtures import browser, lab, shots, widen_sidebar
from .fake_anthropic import text, tool_use
from .lab_server import TOKEN

__all__ = ["browser", "lab", "shots"]  # fixtures used here

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"


def violations(page, view: str) -> list[str]:
    """axe's violations in the panel, as lines '<view>: <impact> <rule>: <help> (<nodes>)'."""
    result = page.evaluate(
        """async () => {
            const result = await axe.run(document.getElementById('jp-lawless-panel'));
            return {
                passed: result.passes.length,
                violations: result.violations.map(v => ({
                    impact: v.impact, id: v.id, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 4)
                }))
            };
        }"""
    )
    assert result["passed"] >= 5, f"{view}: axe checked next to nothing: {result}"
    return [
        f"{view}: {v['impact']} {v['id']}: {v['help']} ({v['nodes']})" for v in result["violations"]
    ]


def check(page, view: str, seen: dict[str, list[str]]) -> None:
    seen[view] = violations(page, view)
    print("\n".join(seen[view]) or f"{view}: no violations")


def test_the_panel_views_have_no_critical_accessibility_violations(lab, fake, browser, shots):
    assert AXE.exists(), "axe-core is missing: run `make node_modules` (jlpm install)"
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    seen: dict[str, list[str]] = {}
    try:
        page.goto(f"{lab.url}lab?token={TOKEN}")
        page.set_default_timeout(60_000)
        page.add_script_tag(path=str(AXE))
        page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
        panel = page.locator("#jp-lawless-panel")
        panel.get_by_role("button", name="Create session").wait_for()
        widen_sidebar(page)
        lab.api("POST", "api/workspace/sessions", {"repo": "project", "name": "listed"})
        panel.get_by_role("button", name="Refresh the list of sessions").click()
        panel.get_by_role("button", name="Open session listed").wait_for()
        check(page, "sessions list and new-session form", seen)

        panel.get_by_label("Repository").fill("project")
        panel.get_by_label("Name").fill("a11y")
        panel.get_by_role("button", name="Create session").click()
        panel.get_by_role("tab", name="Chat").wait_for()
        fake.add(tool_use("Bash", {"command": "touch made"}), text("I made the file `made`."))
        composer = panel.get_by_label("Message to Claude")
        composer.fill("Make a file")
        composer.press("Enter")
        approval = panel.locator(".jp-lawless-approval-pending")
        approval.get_by_role("button", name="Allow", exact=True).wait_for()
        check(page, "chat with an approval card", seen)
        approval.get_by_role("button", name="Allow", exact=True).click()
        panel.get_by_text("I made the file").wait_for()
        check(page, "chat with an answer", seen)

        panel.get_by_role("tab", name="Changes").click()
        panel.locator(".jp-lawless-files").get_by_text("made").wait_for()
        check(page, "Changes", seen)
        panel.get_by_role("tab", name="Terminal").click()
        panel.get_by_role("button", name="Open a terminal").wait_for()
        check(page, "Terminal", seen)
        panel.get_by_role("tab", name="Connections").click()
        panel.get_by_role("tab", name="Connections", selected=True).wait_for()
        check(page, "Connections", seen)
    except Exception:
        page.screenshot(path=shots / "failure-a11y.png")
        raise
    found = [line for lines in seen.values() for line in lines]
    critical = [line for line in found if ": critical " in line]
    serious = [line for line in found if ": serious " in line]
    assert len(seen) == 6, seen
    assert not critical, "\n".join(["critical:", *critical, "serious:", *serious])
