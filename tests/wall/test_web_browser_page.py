"""The moderation page shows what the screen shows and is easy to read (issue 15), in real headless
Chromium (Debian's) driven by Playwright.

An axe-core audit (WCAG 2 A and AA, from npm: `scripts/install-axe.sh`) finds nothing on any page, in
the light and the dark colour scheme; each post shows its pictures' thumbnails, served by the page
from the wall's own picture cache; the queue filters by source, network and status; a new post shows
up in the open queue without a reload, and what the moderator was typing stays.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.async_api import Browser, Page

from tests.wall.test_web import (  # noqa: F401  (the fixtures)
    TOKEN,
    Wall,
    mention,
    wall,
)
from tests.wall.test_web_browser import Tab, browser, tab  # noqa: F401  (the fixtures)
from wall.core.model import Health, SourceStatus, utcnow
from wall.engine.moderation.decisions import PublishedAnnouncement

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's browser build, as `make test` installs it."""
    assert AXE.is_file(), f"{AXE} is missing: run `bash scripts/install-axe.sh` (make test does)"
    return AXE


async def audit(page: Page, axe: Path) -> list[str]:
    """What axe-core (WCAG 2 A and AA rules) finds on the page as it is now: one line per element."""
    await page.add_script_tag(path=str(axe))
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
    )
    return [
        f"{violation['id']}: {node['target']} {node.get('failureSummary', '')[:160]!r}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


async def busy_wall(wall: Wall) -> None:  # noqa: F811
    """Everything the page can list at once: each status, a pin, a rule's reason, a blocked author,
    an announcement, the sources' health with an error, an audit log."""
    wall.arrive(
        mention("3", "Merci pour l'accueil", author="Paul", alt="", minutes=3),
        mention("4", "Super équipe à Lyon", author="Lou", alt="two people", minutes=4),
    )
    for key, action in (("news:1", "approve"), ("news:1", "pin"), ("news:3", "hide"), ("news:4", "block")):
        assert await wall.desk.act(key, action, "Alice")  # type: ignore[arg-type]
    await wall.desk.publish_announcement(PublishedAnnouncement("Exercice", "Sortie B", ""), "Alice")
    wall.hub.update_status(
        SourceStatus("news", "rss", Health.NEEDS_ATTENTION, last_error="HTTP 401", last_error_at=utcnow())
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_finds_nothing_on_any_page(
    wall: Wall,  # noqa: F811
    browser: Browser,  # noqa: F811
    axe_script: Path,
    scheme: Literal["light", "dark"],
) -> None:
    # axe arrives as an inline script, which the page's CSP rightly refuses: this context alone
    # lets the test's own script in (the page's headers are tested in test_web.py).
    context = await browser.new_context(color_scheme=scheme, bypass_csp=True)
    page = await context.new_page()
    page.set_default_timeout(5000)
    tab = Tab(page, str(wall.server.make_url("/")))  # noqa: F811
    await busy_wall(wall)
    found: dict[str, list[str]] = {}

    await page.goto(tab.url("/login"))
    found["login"] = await audit(page, axe_script)
    await tab.login(token=TOKEN[::-1])  # the login page with its error
    await page.get_by_text("Nom ou jeton refusé").wait_for()
    found["login refused"] = await audit(page, axe_script)
    await tab.login()
    await page.get_by_role("heading", name="Modération du mur").wait_for()
    found["queue"] = await audit(page, axe_script)
    form = page.locator("form.announce-form")
    await form.get_by_label("Adresse du QR code").fill("ftp://intra.example/feu")
    await form.get_by_label("Message").fill("Sortie B")
    await form.get_by_role("button", name="Publier").click()
    await page.get_by_text("L'annonce n'a pas été publiée").wait_for()
    found["announcement refused"] = await audit(page, axe_script)
    await page.get_by_role("button", name="Écran de secours").click()
    await page.get_by_text("Écran de secours ACTIF").wait_for()
    found["panic"] = await audit(page, axe_script)
    await page.evaluate("() => document.querySelector('form[action=\"/act\"] input[name=csrf]').value = 'x'")
    await page.locator("li.post").first.get_by_role("button").first.click()
    await page.get_by_text("Ce formulaire a expiré").wait_for()
    found["refused"] = await audit(page, axe_script)
    await context.close()

    assert {name: lines for name, lines in found.items() if lines} == {}, json.dumps(found, indent=1)
