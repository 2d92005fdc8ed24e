"""The moderation page shows what the screen shows and is easy to read (issue 15), in real headless
Chromium (Debian's) driven by Playwright.

An axe-core audit (WCAG 2 A and AA, from npm: `scripts/install-axe.sh`) finds nothing on any page, in
the light and the dark colour scheme; each post shows its pictures' thumbnails, served by the page
from the wall's own picture cache; the queue filters by source, network and status; a new post shows
up in the open queue without a reload, and what the moderator was typing stays.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from PIL import Image
from playwright.async_api import Browser, Locator, Page

from tests.support.posts import make_post
from tests.wall.test_web import (  # noqa: F401  (the fixtures)
    TOKEN,
    Wall,
    mention,
    wall,
)
from tests.wall.test_web_browser import Tab, browser, tab  # noqa: F401  (the fixtures)
from wall.core.model import Author, Batch, Health, Media, Post, SourceStatus, utcnow
from wall.engine.images import cache_file, prepare_image
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


def post_of(page: Page, text: str) -> Locator:
    """The queue's post whose text has `text`."""
    return page.locator("li.post").filter(has_text=text)


def jpeg(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A picture as the wall caches it: prepared (checked, re-encoded) by the wall's own code."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return prepare_image(out.getvalue())


def arrive_from(wall: Wall, source: str, *posts: Post) -> None:  # noqa: F811
    """Posts from another source than the wall's "news", judged by the same rules."""
    wall.store.apply(source, Batch(posts=posts), verdicts=wall.engine.moderators["news"].judge_many(posts))


async def test_each_post_shows_its_pictures_served_by_the_page_itself(
    wall: Wall,  # noqa: F811
    tab: Tab,  # noqa: F811
    tmp_path: Path,
) -> None:
    cache = tmp_path / "pictures"
    cache.mkdir()
    wall.engine.images.cache_dir = cache  # the wall's cache, as if the screen had shown them
    urls = [f"https://img.example/carousel/{n}.jpg" for n in range(6)]
    alts = ["a red car at the Lille centre", "the team waving", "", "keys", "", ""]
    for n, (width, colour) in enumerate([(320, (200, 0, 0)), (240, (0, 120, 0)), (160, (0, 0, 200))]):
        cache_file(cache, urls[n]).write_bytes(jpeg(width, 200, colour))
    media = tuple(Media(url, alt) for url, alt in zip(urls, alts, strict=True))
    wall.arrive(make_post("5", text="Nouvelle voiture, même sourire", source="news", media=media))
    asked: list[str] = []
    tab.page.on("request", lambda request: asked.append(request.url))

    await tab.login()
    car = post_of(tab.page, "Nouvelle voiture")
    pictures = car.locator("ul.pictures")
    await pictures.wait_for()
    thumbnails = pictures.locator("img")
    assert [await img.get_attribute("alt") for img in await thumbnails.all()] == [
        "a red car at the Lille centre",
        "the team waving",
        "Image sans description",
    ]
    for img, width in zip(await thumbnails.all(), (320, 240, 160), strict=True):
        await img.scroll_into_view_if_needed()
        await tab.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=await img.element_handle()
        )
        assert await img.evaluate("img => img.naturalWidth") == width  # that very picture, decoded
    # The fourth is not in the wall's cache: a note, never the stranger's address; two more: counted.
    assert await pictures.locator("li.missing").all_inner_texts() == ["Image pas encore chargée par le mur"]
    assert await pictures.locator("li.more").inner_text() == "et 2 de plus"
    base = tab.url("/")
    assert asked and all(url.startswith(base) for url in asked), asked
    assert "img.example" not in await tab.page.content()

    served = tab.url(await thumbnails.first.get_attribute("src") or "")
    answer = await tab.page.request.get(served)
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
    assert "img-src 'self'" in answer.headers["content-security-policy"]
    for wrong in ("/pictures/" + "0" * 64, "/pictures/..%2Fstate", "/pictures/" + "A" * 64):
        assert (await tab.page.request.get(tab.url(wrong))).status == 404, wrong
    stranger = await tab.page.context.browser.new_context()  # type: ignore[union-attr]
    assert (await stranger.request.get(served)).status == 401  # no session, no picture
    await stranger.close()


async def test_comms_filter_the_queue_by_source_network_and_status(wall: Wall, tab: Tab) -> None:  # noqa: F811
    arrive_from(
        wall,
        "intranet",
        make_post(
            "7", text="Pot de départ de Marc", source="intranet", network="matrix", author=Author("Zoé")
        ),
        make_post("8", text="Réunion d'équipe", source="intranet", network="matrix", author=Author("Zoé")),
    )
    assert await wall.desk.act("intranet:8", "approve", "Alice")
    page = tab.page
    await tab.login()
    posts = page.locator("li.post")
    assert await posts.count() == 4

    filters = page.get_by_role("search", name="Filtrer les messages")
    await filters.get_by_label("Source").select_option("intranet")
    await filters.get_by_role("button", name="Filtrer").click()
    await page.get_by_role("link", name="Tous (2)").wait_for()
    assert "source=intranet" in page.url
    assert sorted(await posts.locator(".text").all_inner_texts()) == [
        "Pot de départ de Marc",
        "Réunion d'équipe",
    ]
    await page.get_by_role("link", name="En attente (1)").click()
    assert await posts.locator(".text").all_inner_texts() == ["Pot de départ de Marc"]
    assert await filters.get_by_label("Source").input_value() == "intranet"  # the form says what is listed

    # An action brings the moderator back to the same view.
    await post_of(tab.page, "Pot de départ").get_by_role("button", name="Approuver").click()
    await page.get_by_role("link", name="En attente (0)").wait_for()
    assert "source=intranet" in page.url and "show=awaiting" in page.url
    assert await page.get_by_text("Aucun message ici.").count() == 1

    await filters.get_by_label("Source").select_option("")
    await filters.get_by_label("Réseau").select_option("mastodon")
    await filters.get_by_label("Statut").select_option("all")
    await filters.get_by_role("button", name="Filtrer").click()
    await page.get_by_role("link", name="Tous (2)").wait_for()
    texts = await posts.locator(".text").all_inner_texts()
    assert len(texts) == 2 and "Bravo pour le magasin de Lille" in texts
    assert all(
        source.startswith("news · mastodon") for source in await posts.locator(".source").all_inner_texts()
    )


async def test_a_new_post_appears_in_the_open_queue_and_what_comms_type_stays(
    wall: Wall,  # noqa: F811
    tab: Tab,  # noqa: F811
) -> None:
    page = tab.page
    await tab.login()
    await page.evaluate("() => { window.notReloaded = true; }")
    message = page.locator("form.announce-form").get_by_label("Message")
    await message.fill("Sortie par l'escal")  # half typed
    bravo = post_of(tab.page, "Bravo pour le magasin de Lille")
    await bravo.evaluate("li => li.scrollIntoView({block: 'start'})")
    top = await bravo.evaluate("li => li.getBoundingClientRect().top")
    await message.focus()
    assert await bravo.evaluate("li => li.getBoundingClientRect().top") == top

    queue = tab.url("/queue?show=all")
    etag = (await page.request.get(queue)).headers["etag"]
    unchanged = await page.request.get(queue, headers={"If-None-Match": etag})
    assert unchanged.status == 304  # nothing new: the wall does not build the list again

    wall.arrive(mention("9", "Merci pour le café, équipe de Lyon", author="Inès", minutes=9))
    assert (await page.request.get(queue, headers={"If-None-Match": etag})).status == 200
    fresh = post_of(tab.page, "Merci pour le café")
    await fresh.wait_for(timeout=15_000)  # the page asks every few seconds
    assert await page.evaluate("() => window.notReloaded") is True
    assert await page.get_by_role("link", name="En attente (3)").count() == 1
    assert await page.locator("li.post").first.inner_text() == await fresh.inner_text()  # newest first
    assert await message.input_value() == "Sortie par l'escal"
    assert await message.evaluate("el => document.activeElement === el")
    moved = await bravo.evaluate("li => li.getBoundingClientRect().top") - top
    assert abs(moved) < 1  # the place is kept (to the sub-pixel the scroll position rounds to)

    await fresh.get_by_role("button", name="Approuver").click()  # the merged post works as any other
    await page.get_by_role("link", name="Affichés (1)").wait_for()
    assert [p.id for p in wall.hub.posts("mention")] == ["9"]
    assert tab.dialogs == []
