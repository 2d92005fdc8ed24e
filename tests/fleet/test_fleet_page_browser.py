"""The fleet page in real headless Chromium (issue 16): every screen with its last picture and
health; a late heartbeat and a kiosk whose frames stopped while it runs are flagged, a screen off
on purpose is not; after a decision the page names the offline screens it has not reached yet; the
page's scope choice sends panic to one site; axe-core finds nothing in either colour scheme.

The kiosks are real receive paths (their own NATS users over TLS) sending heartbeats through the
kiosk's real `KioskHealth`; only what a Qt window would report (frame time, JPEG) is handed in."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from PIL import Image
from playwright.async_api import Browser, Page

from tests.fleet.conftest import Feeds, Kiosk, boot_kiosk, collector_config, kiosk_config, poll_all, until
from tests.fleet.page_client import TOKEN, collector_page, with_page
from tests.servers.nats import NatsFleet, make_fleet
from tests.wall.test_web_browser import browser  # noqa: F401  (the fixture)
from tests.wall.test_web_browser_page import audit, axe_script  # noqa: F401  (the fixture)
from wall.core.model import utcnow
from wall.engine.fleet.health import Heartbeat, KioskHealth
from wall.engine.fleet.receiver import KioskReceiver

SCREENS = ("hq/hall-1", "hq/hall-2", "lyon/hall-1", "lyon/hall-2")
BEAT_S = 0.2  # heartbeats this often here, and "late" after 1.5 s: the rule's 10 s and 30 s, scaled


@pytest.fixture
def fleet_broker(tmp_path: Path) -> Iterator[NatsFleet]:
    """One nats-server node with four screens' users."""
    fleet = make_fleet(tmp_path, SCREENS)
    fleet.start()
    yield fleet
    fleet.stop()


def jpeg(width: int = 48) -> bytes:
    """A small JPEG, as `wall.shell.desk.grab_jpeg` makes of a window."""
    out = io.BytesIO()
    Image.new("RGB", (width, 27), (20, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def beats(site: str, screen: str, *, frame_age_s: float = 0.5, off: bool = False) -> Callable[[], Heartbeat]:
    """A kiosk's heartbeat whose last frame is `frame_age_s` old."""

    def beat() -> Heartbeat:
        now = utcnow()
        return Heartbeat(
            site,
            screen,
            now,
            now - timedelta(seconds=frame_age_s),
            "black (closed)" if off else "mentions",
            "0.1.0",
            3600.0,
            150.0,
            ("rse-hq",) if site == "hq" else (),
            off_on_purpose=off,
        )

    return beat


def link_of(receiver: KioskReceiver) -> Callable[[], Client | None]:
    """The kiosk's link, as `wall run` hands it to its heartbeats."""
    return lambda: receiver.link


@pytest.fixture
async def running(
    tmp_path: Path, fleet_broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> AsyncIterator[tuple[Any, Any, list[Kiosk]]]:
    """A collector with its page, and four kiosks: hq/hall-1 fine, hq/hall-2 gone quiet, lyon/hall-1
    running without painting, lyon/hall-2 off on purpose."""
    feeds.add("news", "n1", "Bienvenue")
    feeds.add("news", "n2", "À retirer")
    config = with_page(collector_config(fleet_broker, tmp_path / "c", feeds))
    collector = await collector_for(config)
    collector.watch.late_after_s = 1.5
    await poll_all(collector)
    kiosks: list[Kiosk] = []
    senders: list[KioskHealth] = []
    plans = {
        "hq/hall-1": beats("hq", "hall-1"),
        "hq/hall-2": beats("hq", "hall-2"),
        "lyon/hall-1": beats("lyon", "hall-1", frame_age_s=600),
        "lyon/hall-2": beats("lyon", "hall-2", frame_age_s=600, off=True),
    }
    for name, beat in plans.items():
        site, screen = name.split("/")
        kiosk = await boot_kiosk(kiosk_config(fleet_broker, site, tmp_path / name, screen), tmp_path / "p")
        assert kiosk.config.fleet is not None
        sender = KioskHealth(kiosk.config.fleet, link_of(kiosk.receiver), beat, jpeg, every_s=BEAT_S)
        sender.start()
        kiosks.append(kiosk)
        senders.append(sender)
    try:
        heard = lambda: len([s for s in collector.watch.screens() if s.screenshot_at]) == 4  # noqa: E731
        await until(heard, "every kiosk's heartbeat and picture")
        await senders[1].stop()  # hq/hall-2 goes quiet (its process died)
        await until(lambda: collector.watch.screens()[1].state(utcnow()) == "late", "hq/hall-2 late")
        async with collector_page(collector, config) as page:
            yield collector, page, kiosks
    finally:
        for sender in senders:
            await sender.stop()
        for kiosk in kiosks:
            await kiosk.stop()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_fleet_page_flags_broken_screens_and_says_who_did_not_get_a_decision(
    running: tuple[Any, Any, list[Kiosk]],
    browser: Browser,  # noqa: F811
    axe_script: Path,  # noqa: F811
    scheme: str,
) -> None:
    _collector, page_client, kiosks = running
    base = str(page_client.http.base_url).rstrip("/")
    # axe arrives as an inline script, which the page's CSP rightly refuses: this context alone
    # lets the test's own script in (the page's headers are tested in tests/wall/test_web.py).
    context = await browser.new_context(color_scheme=scheme, bypass_csp=True)  # type: ignore[arg-type]
    page = await context.new_page()
    page.set_default_timeout(5000)
    await page.goto(base + "/login")
    await page.get_by_label("Votre nom").fill("Alice")
    await page.get_by_label("Jeton d'accès").fill(TOKEN)
    await page.get_by_role("button", name="Se connecter").click()
    await page.get_by_role("heading", name="Modération du mur").wait_for()

    hidden = page.locator("li.post").filter(has_text="À retirer")
    await hidden.get_by_role("button", name="Masquer").click()
    notice = page.locator(".fleet-missed")
    await notice.wait_for()
    assert "hq/hall-2" in await notice.inner_text()
    assert "lyon/" not in await notice.inner_text()  # online (even the one that does not paint)
    await until(
        lambda: all(k.screen.ids("mention") == ["n1"] for k in kiosks if k is not kiosks[1]), "hidden"
    )
    found = {"main": await audit(page, axe_script)}

    panic = page.locator("form[action='/panic']").filter(
        has=page.get_by_role("button", name="Écran de secours")
    )
    await panic.get_by_label("Où").select_option("lyon")
    await panic.get_by_role("button", name="Écran de secours").click()
    await page.get_by_text("Écran de secours actif sur : lyon").wait_for()
    await until(lambda: kiosks[2].store.panic() and kiosks[3].store.panic(), "lyon calm")
    assert not kiosks[0].store.panic()
    assert (
        "Écran de secours" in await page.locator(".fleet-reached").inner_text()
    )  # every lyon screen is online

    await page.get_by_role("link", name="Écrans de la flotte").click()
    await page.get_by_role("heading", name="Les écrans de la flotte").wait_for()
    cards = {name: page.locator(f"#screen-{name.replace('/', '-')}") for name in SCREENS}
    assert "En service" in await cards["hq/hall-1"].locator(".state").inner_text()
    assert "plus de nouvelles" in await cards["hq/hall-2"].locator(".state").inner_text()
    assert "ne s'affiche plus" in await cards["lyon/hall-1"].locator(".state").inner_text()
    assert "Éteint exprès" in await cards["lyon/hall-2"].locator(".state").inner_text()
    flagged = [name for name, card in cards.items() if "ALERTE" in await card.locator(".state").inner_text()]
    assert flagged == ["hq/hall-2", "lyon/hall-1"]
    picture = cards["hq/hall-1"].locator("img")
    assert await picture.evaluate("img => img.complete && img.naturalWidth") == 48
    assert "rse-hq" in await cards["hq/hall-1"].inner_text()  # its stale sources
    found["fleet"] = await audit(page, axe_script)
    await context.close()
    assert found == {"main": [], "fleet": []}


async def log_in(page: Page, base: str) -> None:
    """Alice logs in on the collector's page."""
    await page.goto(base + "/login")
    await page.get_by_label("Votre nom").fill("Alice")
    await page.get_by_label("Jeton d'accès").fill(TOKEN)
    await page.get_by_role("button", name="Se connecter").click()
    await page.get_by_role("heading", name="Modération du mur").wait_for()


FOLLOW_S = 15_000  # ms: a bound for a hung test (the page asks every 3 s, heartbeats come every 0.2 s)


async def test_the_fleet_page_follows_a_screen_without_a_reload(
    tmp_path: Path,
    fleet_broker: NatsFleet,
    feeds: Feeds,
    collector_for: Callable[..., Any],
    browser: Browser,  # noqa: F811
) -> None:
    """Open on /fleet before a kiosk exists: the kiosk's card appears with its picture, a new picture
    replaces it, its frames stop, its heartbeats stop: each shows on the open page, never reloaded.
    Without JavaScript, a reload shows the same."""
    feeds.add("news", "n1", "Bienvenue")
    config = with_page(collector_config(fleet_broker, tmp_path / "c", feeds))
    collector = await collector_for(config)
    collector.watch.late_after_s = 1.5
    frame_age_s, picture = [0.5], [jpeg()]
    beat = lambda: beats("hq", "hall-1", frame_age_s=frame_age_s[0])()  # noqa: E731
    async with collector_page(collector, config) as client:
        base = str(client.http.base_url).rstrip("/")
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(FOLLOW_S)
        await log_in(page, base)
        await page.goto(base + "/fleet")
        await page.get_by_text("Aucun écran ne s'est encore signalé.").wait_for()
        await page.evaluate("window.neverReloaded = true")

        kiosk = await boot_kiosk(kiosk_config(fleet_broker, "hq", tmp_path / "hq"), tmp_path / "p")
        assert kiosk.config.fleet is not None
        sender = KioskHealth(
            kiosk.config.fleet, link_of(kiosk.receiver), beat, lambda: picture[0], every_s=BEAT_S
        )
        sender.start()
        try:
            card = page.locator("#screen-hq-hall-1")
            await card.locator(".state").filter(has_text="En service").wait_for()
            shown = "width => document.querySelector('#screen-hq-hall-1 img')?.naturalWidth === width"
            await page.wait_for_function(shown, arg=48)
            picture[0] = jpeg(64)  # the page asks for a new one (here the kiosk is told directly)
            sender.send_now()
            await page.wait_for_function(shown, arg=64)

            frame_age_s[0] = 600.0  # the player runs, the screen no longer paints
            await card.locator(".state").filter(has_text="ne s'affiche plus").wait_for()
            await sender.stop()  # the kiosk's process dies
            await card.locator(".state").filter(has_text="plus de nouvelles").wait_for()
            assert "en alerte : 1" in await page.locator(".fleet-summary").inner_text()
            assert await page.evaluate("window.neverReloaded") is True
        finally:
            await sender.stop()
            await kiosk.stop()
        await context.close()

        without_script = await browser.new_context(java_script_enabled=False)
        page = await without_script.new_page()
        await log_in(page, base)
        await page.goto(base + "/fleet")
        card = page.locator("#screen-hq-hall-1")
        assert "plus de nouvelles" in await card.locator(".state").inner_text()
        source = await card.locator("img").get_attribute("src")
        assert source is not None and source.startswith("/fleet/screens/hq/hall-1.jpg?at=")
        await without_script.close()
