"""The proof-of-play question on the collector's fleet page (issue 16), in real headless Chromium over
a real nats-server: "Ce post a-t-il été affiché ?" answers where and when from the `wall-proof`
stream, for a post deleted since too; says plainly when nothing was found and the period kept;
downloads the answer as CSV; escapes the hostile URL and text it shows; is not a way to read other
stream subjects; is behind the login; axe-core finds nothing on it in either colour scheme.

The records are sent by a kiosk's real `ProofSender` on its own NATS user (a kiosk's word: the URL of
one of them is an attack on the page)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from playwright.async_api import Browser, Page

from tests.fleet.conftest import Feeds, boot_kiosk, collector_config, kiosk_config, poll_all, until
from tests.fleet.page_client import collector_page, with_page
from tests.fleet.test_fleet_page_browser import log_in
from tests.servers.nats import NatsFleet
from tests.wall.test_web_browser import browser  # noqa: F401  (the fixture)
from tests.wall.test_web_browser_page import audit, axe_script  # noqa: F401  (the fixture)
from wall.core.model import Author, Batch, Post, utcnow
from wall.engine.fleet.proof import ProofOutbox, ProofSender, ProofTracker, Showing

POST_TEXT = 'Notre stand <img src=x onerror="alert(1)"> au salon'
EVIL_URL = (
    'javascript://x/%0Aalert(document.domain)//"><img src=x onerror=alert(2)><a href="javascript:alert(3)">'
)
FORMULA_URL = '=HYPERLINK("https://evil.example/","ouvrir")'


def forged(post_id: str, url: str) -> Post:
    """A post with a hostile URL, as a compromised network (or kiosk) would record it."""
    return Post(post_id, "news", "rss", "mention", Author("Mallory"), "x", utcnow(), url=url)


async def ask(page: Page, query: str) -> str:
    """Type the question in the page's form and read the answer."""
    await page.get_by_label("Clé du message ou adresse (URL)").fill(query)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Chercher").click()
    answer = page.locator(".proof-answer")
    await answer.wait_for()
    return await answer.inner_text()


async def test_the_fleet_page_says_where_and_when_a_post_was_shown(
    tmp_path: Path,
    broker: NatsFleet,
    feeds: Feeds,
    collector_for: Callable[..., Any],
    browser: Browser,  # noqa: F811
    axe_script: Path,  # noqa: F811
) -> None:
    feeds.add("news", "n1", POST_TEXT)
    feeds.items["news"][0]["url"] = "https://social.example/@brand/1"
    config = with_page(collector_config(broker, tmp_path / "c", feeds))
    collector = await collector_for(config)
    await poll_all(collector)
    kiosk = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "pictures")
    assert kiosk.config.fleet is not None
    sender = ProofSender(
        kiosk.config.fleet, ProofOutbox(tmp_path / "hq" / "proof.sqlite3"), lambda: kiosk.receiver.link
    )
    sender.start()
    try:
        await until(lambda: kiosk.screen.ids("mention") == ["n1"], "the kiosk shows the post")
        post = kiosk.screen.posts["mention"][0]
        tracker = ProofTracker("hq", "hall-1")
        start = utcnow().replace(microsecond=0)
        looks = [
            (0, [Showing(post, "mentions"), Showing(forged("evil", EVIL_URL), "mentions")]),
            (3, [Showing(post, "mentions")]),  # the forged one is gone after 3 s
            (12, []),
            (60, [Showing(post, "notice", display=1), Showing(forged("sheet", FORMULA_URL), "mentions")]),
            (65, []),
        ]
        for seconds, showing in looks:
            sender.add(tracker.observe(start + timedelta(seconds=seconds), showing))
        await until(lambda: sender.published == 4, "the kiosk's records are in the stream")
    finally:
        await sender.stop()
        await kiosk.stop()

    async with collector_page(collector, config) as client:
        base = str(client.http.base_url).rstrip("/")
        async with httpx.AsyncClient(base_url=base) as stranger:  # no session: nothing to read
            assert (await stranger.get("/fleet", params={"proof": "news:n1"})).headers["Location"] == "/login"
            assert (await stranger.get("/fleet/proof.csv", params={"proof": "news:n1"})).status_code == 401

        found: dict[str, list[str]] = {}
        schemes: tuple[Literal["light"], Literal["dark"]] = ("light", "dark")
        for scheme in schemes:
            # axe arrives as an inline script, which the page's CSP rightly refuses: this context
            # alone lets the test's own script in (the page's own script runs under the CSP below).
            context = await browser.new_context(color_scheme=scheme, bypass_csp=True)
            page = await context.new_page()
            page.set_default_timeout(10_000)
            await log_in(page, base)
            await page.goto(base + "/fleet")
            said = await ask(page, "news:n1")
            assert "a été affiché 2 fois sur 1 écran(s), 17 s à l'écran en tout" in said
            assert "gardées 30 jours" in said
            assert POST_TEXT in said  # as text: the markup is not the page's
            rows = await page.locator(".proof-records tbody tr").all_inner_texts()
            assert [row.split("\t")[1:] for row in rows] == [
                ["12 s", "hq", "hall-1", "mentions"],
                ["5 s", "hq", "hall-1 (affichage 2)", "notice"],
            ]
            found[scheme] = await audit(page, axe_script)
            await context.close()
        assert found == {"light": [], "dark": []}

        context = await browser.new_context(accept_downloads=True)  # the page's CSP applies
        page = await context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        page.set_default_timeout(10_000)
        await log_in(page, base)
        await page.goto(base + "/fleet")
        await ask(page, "news:n1")
        async with page.expect_download() as download:
            await page.get_by_role("link", name="Télécharger la réponse").click()
        saved = await (await download.value).path()
        table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
        assert table[:5] == [
            ["question", "news:n1"],
            ["asked_at_utc", table[1][1]],
            ["kept_days", "30"],
            ["answer", "shown"],
            ["post_in_collector_store", "yes"],
        ]
        header = table[6]
        records = [dict(zip(header, row, strict=True)) for row in table[7:]]
        assert [(r["site"], r["screen"], r["display"], r["panel"], r["seconds"]) for r in records] == [
            ("hq", "hall-1", "1", "mentions", "12.0"),
            ("hq", "hall-1", "2", "notice", "5.0"),
        ]
        assert records[0]["started_at_utc"] == start.isoformat()
        assert records[1]["ended_at_utc"] == (start + timedelta(seconds=65)).isoformat()

        said = await ask(page, "news:n2")
        assert "« news:n2 » n'a été affiché sur aucun écran pendant les 30 derniers jours" in said
        for subject in (">", "*", "wall.status.>", "wall.status.hq.hall-1.heartbeat", "news:*"):
            assert "n'a été affiché sur aucun écran" in await ask(page, subject)  # no way around the post

        said = await ask(page, EVIL_URL)
        assert "a été affiché 1 fois" in said and EVIL_URL in said  # shown as text, escaped
        answer = page.locator(".proof-answer")
        assert await answer.locator("img").count() == 0
        assert await page.locator("a[href^='javascript' i]").count() == 0
        assert "a été affiché 1 fois" in await ask(page, FORMULA_URL)
        async with page.expect_download() as download:
            await page.get_by_role("link", name="Télécharger la réponse").click()
        sheet = (await (await download.value).path()).read_text(encoding="utf-8")
        assert list(csv.reader(io.StringIO(sheet)))[-1][-1] == "'" + FORMULA_URL  # never a formula

        # The post is deleted at its source: the screens' proof still answers.
        collector.engine.store.apply("news", Batch(deleted=("n1",)))
        said = await ask(page, "news:n1")
        assert "a été affiché 2 fois" in said and "n'est plus chez le collecteur" in said
        assert POST_TEXT not in said

        broker.stop()  # the broker is away: the page says so, and names where it looked
        said = await ask(page, "news:n1")
        assert "Le serveur de la flotte n'a pas répondu (tls://127.0.0.1:" in said
        assert broker.credential("collector") not in await page.content()
        broker.start()
        await until(lambda: collector.link.is_connected, "the collector's link is back", timeout=30)
        assert dialogs == []
        await context.close()
