"""The moderation page in real headless Chromium (Debian's), driven by Playwright (issue 5).

What comms do: log in, approve a post awaiting approval, pin one, press panic and release it,
publish an announcement and withdraw it, log in over HTTPS (issue 12); what an attacker tries: a
forged form, a wrong token, a post whose text is HTML and script, a web site whose name points at the
page's address (DNS rebinding, issue 12).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Browser, ConsoleMessage, Dialog, Page, async_playwright

from tests.support.tls import Tls
from tests.wall.test_web import (  # noqa: F401  (the fixtures)
    HOSTILE,
    TOKEN,
    Wall,
    mention,
    serve_https,
    tls,
    wall,
)
from widgets.announcement import AnnouncementPanel

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]


@dataclass
class Tab:
    """A browser tab on the page, with what the page said to the console and any dialog it opened."""

    page: Page
    base: str
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path

    async def login(self, token: str = TOKEN, who: str = "Alice") -> None:
        await self.page.goto(self.url("/"))
        await self.page.get_by_label("Votre nom").fill(who)
        await self.page.get_by_label("Jeton d'accès").fill(token)
        await self.page.get_by_role("button", name="Se connecter").click()

    def post(self, text: str) -> object:
        return self.page.locator("li.post").filter(has_text=text)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def tab(wall: Wall, browser: Browser) -> AsyncIterator[Tab]:  # noqa: F811
    context = await browser.new_context()
    page = await context.new_page()
    opened = Tab(page, str(wall.server.make_url("/")))

    async def on_dialog(dialog: Dialog) -> None:
        opened.dialogs.append(dialog.message)
        await dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        opened.console.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.set_default_timeout(5000)
    yield opened
    await context.close()


async def test_comms_approve_pin_and_use_the_panic_screen(wall: Wall, tab: Tab) -> None:  # noqa: F811
    page = tab.page
    await tab.login(token=TOKEN[::-1])
    await page.get_by_text("Nom ou jeton refusé").wait_for()
    await tab.login()
    await page.get_by_role("heading", name="Modération du mur").wait_for()

    await page.get_by_role("link", name="En attente (2)").click()
    bravo = page.locator("li.post").filter(has_text="Bravo pour le magasin de Lille")
    await bravo.get_by_text("en attente").wait_for()
    assert await bravo.locator(".alt").inner_text() == "Image : a red bicycle"
    assert wall.hub.posts("mention") == []
    await bravo.get_by_role("button", name="Approuver").click()
    await page.get_by_role("link", name="En attente (1)").wait_for()
    assert [p.id for p in wall.hub.posts("mention")] == ["1"]  # on its way to the screen

    wall.arrive(mention("3", "Merci pour l'accueil", author="Paul", minutes=3))
    await page.goto(tab.url("/?show=awaiting"))
    thanks = page.locator("li.post").filter(has_text="Merci pour")
    await thanks.get_by_role("button", name="Approuver").click()
    assert [p.id for p in wall.hub.posts("mention")] == ["3", "1"]
    await page.goto(tab.url("/?show=shown"))
    await bravo.get_by_role("button", name="Épingler").click()
    await bravo.get_by_text("épinglé en tête").wait_for()
    assert [p.id for p in wall.hub.posts("mention")] == ["1", "3"]

    assert await page.locator("#screen").evaluate("img => img.complete && img.naturalWidth") == 960
    await page.get_by_role("button", name="Écran de secours").click()
    await page.get_by_text("Écran de secours ACTIF").wait_for()
    assert wall.window.panic_active() and wall.store.panic()
    await page.get_by_role("button", name="Rétablir le mur").click()
    await page.get_by_role("button", name="Écran de secours").wait_for()
    assert not wall.window.panic_active() and not wall.store.panic()

    audit = page.locator("section.audit tbody tr")
    assert await audit.count() == 5
    assert "panic off" in await audit.first.inner_text() and "Alice" in await audit.first.inner_text()
    assert tab.dialogs == []


async def test_hostile_post_text_is_shown_as_text_and_never_runs(wall: Wall, tab: Tab) -> None:  # noqa: F811
    page = tab.page
    await tab.login()
    hostile = page.locator("li.post").filter(has_text="done")
    assert await hostile.locator(".text").inner_text() == HOSTILE
    await hostile.get_by_role("button", name="Approuver").click()
    await page.get_by_role("link", name="Affichés (1)").wait_for()
    assert [p.text for p in wall.hub.posts("mention")] == [HOSTILE]
    await page.reload()
    assert await page.locator("li.post img, li.post script").count() == 0
    assert await page.evaluate("typeof window.alert") == "function"
    await page.wait_for_timeout(300)
    assert tab.dialogs == [] and not any("xss" in line for line in tab.console)
    # The right-to-left override stays inside the post: the buttons after it read as usual.
    buttons = await hostile.get_by_role("button").all_inner_texts()
    assert buttons == ["Masquer", "Épingler", "Bloquer l'auteur"]


async def test_forged_forms_and_wrong_tokens_are_refused(wall: Wall, tab: Tab) -> None:  # noqa: F811
    page = tab.page
    for _ in range(2):
        await tab.login(token="not-the-token-at-all")
        await page.get_by_text("Nom ou jeton refusé").wait_for()
    await tab.login()
    await page.get_by_role("heading", name="Modération du mur").wait_for()
    forge = "() => document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged')"
    await page.evaluate(forge)
    async with page.expect_response(lambda r: r.url.endswith("/act")) as answer:
        await page.locator("li.post").first.get_by_role("button", name="Approuver").click()
    assert (await answer.value).status == 403
    await page.get_by_text("Ce formulaire a expiré").wait_for()
    assert wall.store.decision("news:2") is None and wall.hub.posts("mention") == []
    cookies = await page.context.cookies()
    session = next(c for c in cookies if c["name"] == "wall_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["expires"] > 0
    assert TOKEN not in str(cookies)


async def test_comms_publish_an_announcement_the_wall_shows_it(wall: Wall, tab: Tab) -> None:  # noqa: F811
    page = tab.page
    await tab.login()
    form = page.locator("form.announce-form")
    await form.get_by_label("Titre").fill("Exercice incendie")
    await form.get_by_label("Message").fill("Sortie par l'escalier B <b>calmement</b>")
    await form.get_by_label("Adresse du QR code").fill("ftp://intra.example/feu")  # a URL, but not http(s)
    await form.get_by_role("button", name="Publier").click()
    await page.get_by_text("L'annonce n'a pas été publiée").wait_for()
    await page.get_by_text("l'adresse du QR code doit être une adresse web complète").wait_for()
    assert wall.hub.announcement() is None
    assert await form.get_by_label("Message").input_value() == "Sortie par l'escalier B <b>calmement</b>"

    await form.get_by_label("Adresse du QR code").fill("https://intra.example/feu")
    await form.get_by_role("button", name="Publier").click()
    published = page.locator("section.announce .published")
    await published.get_by_text("Publiée par Alice").wait_for()
    assert await published.locator(".text").inner_text() == "Sortie par l'escalier B <b>calmement</b>"
    announcement = wall.hub.announcement()
    assert announcement is not None and announcement.qr == "https://intra.example/feu"
    (panel,) = [p for p in wall.window.rotator.panels() if isinstance(p, AnnouncementPanel)]
    assert panel.has_content() and panel.text_label.full_text() == "Sortie par l'escalier B <b>calmement</b>"
    assert wall.window.current_panel() is panel  # nothing else approved yet: the lobby sees it
    first = page.locator("section.audit tbody tr").first
    assert (
        "publish announcement" in await first.inner_text() and "Exercice incendie" in await first.inner_text()
    )

    await published.get_by_role("button", name="Retirer l'annonce").click()
    await page.get_by_text("Aucune annonce publiée").wait_for()
    assert wall.hub.announcement() is None and not panel.has_content()
    assert "withdraw announcement" in await page.locator("section.audit tbody tr").first.inner_text()
    assert tab.dialogs == []


async def test_comms_block_an_author_see_them_listed_and_unblock_them(wall: Wall, tab: Tab) -> None:  # noqa: F811
    page = tab.page
    await tab.login()
    bravo = page.locator("li.post").filter(has_text="Bravo pour le magasin de Lille")
    await bravo.get_by_role("button", name="Approuver").click()
    await page.get_by_role("link", name="Affichés (1)").wait_for()
    assert [p.id for p in wall.hub.posts("mention")] == ["1"]

    blocked = page.locator("section.blocked")
    await blocked.get_by_text("Aucun auteur bloqué").wait_for()
    await bravo.get_by_role("button", name="Bloquer l'auteur").click()
    camille = blocked.locator("li.blocked-author").filter(has_text="@camille@masto.example")
    await camille.get_by_text("Bloqué par Alice").wait_for()
    assert "Camille" in await camille.inner_text() and "mastodon" in await camille.inner_text()
    await bravo.get_by_text("masqué").wait_for()
    assert wall.hub.posts("mention") == []

    await camille.get_by_role("button", name="Débloquer").click()
    await blocked.get_by_text("Aucun auteur bloqué").wait_for()
    await bravo.get_by_text("affiché").wait_for()
    assert [p.id for p in wall.hub.posts("mention")] == ["1"]  # back on its way to the screen
    first = page.locator("section.audit tbody tr").first
    assert "unblock author" in await first.inner_text() and "Alice" in await first.inner_text()
    assert tab.dialogs == []


async def test_comms_log_in_over_https_and_the_cookie_is_secure(
    wall: Wall,  # noqa: F811
    browser: Browser,
    tls: Tls,  # noqa: F811
) -> None:
    # The test CA is not in Chromium's store: accept the certificate as a browser told to trust it.
    context = await browser.new_context(ignore_https_errors=True)
    async with serve_https(wall, tls) as server:
        tab = Tab(await context.new_page(), f"https://localhost:{server.port}/")
        tab.page.set_default_timeout(5000)
        await tab.login()
        await tab.page.get_by_role("heading", name="Modération du mur").wait_for()
        assert tab.page.url.startswith("https://")
        bravo = tab.page.locator("li.post").filter(has_text="Bravo pour le magasin de Lille")
        await bravo.get_by_role("button", name="Approuver").click()
        await tab.page.get_by_role("link", name="Affichés (1)").wait_for()
        assert [p.id for p in wall.hub.posts("mention")] == ["1"]
        cookies = await context.cookies()
        session = next(c for c in cookies if c["name"] == "wall_session")
        assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict"
    await context.close()


async def test_a_site_whose_name_points_at_the_page_cannot_use_it(wall: Wall) -> None:  # noqa: F811
    # DNS rebinding: evil.example resolves to 127.0.0.1; the visitor's browser sends Host: evil.example.
    port = wall.server.port
    rules = "--host-resolver-rules=MAP evil.example 127.0.0.1"
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, rules])
        page = await chromium.new_page()
        answer = await page.goto(f"http://evil.example:{port}/login")
        assert answer is not None and answer.status == 421
        assert await page.get_by_label("Jeton d'accès").count() == 0
        answer = await page.goto(f"http://localhost:{port}/login")  # the name the page answers to
        assert answer is not None and answer.status == 200
        await page.get_by_label("Jeton d'accès").wait_for()
        await chromium.close()
