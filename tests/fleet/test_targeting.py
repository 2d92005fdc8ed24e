"""Targeting in the fleet (issue 16): panic and announcements for one screen from the collector's
page, panels decided centrally per site and per screen, and the posts cap applied per site. Real
nats-server, real collectors, kiosks' real receive path into real SQLite stores."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.conftest import (
    Feeds,
    Kiosk,
    boot_kiosk,
    credentials_env,
    kiosk_config,
    poll_all,
    run_hq_kiosk,
    until,
)
from tests.fleet.page_client import collector_page, with_page
from tests.servers.nats import NatsFleet, make_fleet
from wall.engine.config import ConfigProblems, WallConfig, parse_config
from wall.engine.fleet.health import Heartbeat
from wall.engine.fleet.layout import status_subject

SCREENS = ("hq/hall-1", "hq/hall-2", "lyon/hall-1")


@pytest.fixture
def fleet3(tmp_path: Path) -> Iterator[NatsFleet]:
    """One nats-server with two screens at hq and one at Lyon."""
    fleet = make_fleet(tmp_path, SCREENS)
    fleet.start()
    yield fleet
    fleet.stop()


def collector(broker: NatsFleet, state: Path, sources: list[dict[str, Any]], **fleet: Any) -> WallConfig:
    """A collector's config for sites hq and lyon with `sources` and more `[fleet]` settings
    (screens, playlists), checked as `wall collect` checks its file."""
    data = {
        "storage": {"state_dir": str(state)},
        "fleet": {
            "servers": broker.servers,
            "sites": ["hq", "lyon"],
            "ca_file": str(broker.files.ca),
            **fleet,
        },
        "sources": sources,
    }
    return parse_config(data, "collector.toml", credentials_env(broker, "collector"))


def news(feeds: Feeds) -> list[dict[str, Any]]:
    """One public feed for every site."""
    return [{"name": "news", "type": "rss", "url": feeds.serve("news"), "kind": "mention"}]


async def boot(broker: NatsFleet, folder: Path, site: str, screen: str = "hall-1") -> Kiosk:
    """A kiosk of `site`/`screen` with its store and picture cache under `folder`."""
    name = f"{site}-{screen}"
    return await boot_kiosk(kiosk_config(broker, site, folder / name, screen), folder / f"p-{name}")


def scoped(page: str) -> str:
    """The page's list of the sites' and screens' own announcements ("" when none is in force)."""
    start = page.find('<div class="scoped-announcements">')
    return "" if start < 0 else page[start : page.index("</ul></div>", start)]


async def test_panic_and_an_announcement_for_one_screen_leave_the_other_screens_of_its_site(
    tmp_path: Path, fleet3: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    config = with_page(collector(fleet3, tmp_path / "c", news(feeds), screens=["hq/hall-1", "hq/hall-2"]))
    running = await collector_for(config)
    hall1 = await boot(fleet3, tmp_path, "hq", "hall-1")
    hall2 = await boot(fleet3, tmp_path, "hq", "hall-2")
    lyon = await boot(fleet3, tmp_path, "lyon")
    try:
        # Lyon's screen is not in the collector's list: the page offers it once it is heard from.
        await until(lambda: lyon.receiver.link is not None, "lyon's link is up")
        assert lyon.receiver.link is not None
        beat = Heartbeat("lyon", "hall-1", datetime.now(UTC), None, "posts", "test", 1.0, 100.0)
        await lyon.receiver.link.publish(f"{status_subject('lyon', 'hall-1')}.heartbeat", beat.encode())
        heard = lambda: "lyon/hall-1" in [s.name for s in running.watch.screens()]  # noqa: E731
        await until(heard, "lyon's heartbeat arrived")
        async with collector_page(running, config) as page:
            main = await page.read("/")
            for scope in ("hq", "hq/hall-1", "hq/hall-2", "lyon", "lyon/hall-1"):
                assert f'<option value="{scope}">' in main
            assert "Écran hq/hall-1 seulement" in main

            await page.post("/panic", on="1", scope="hq/hall-1")
            await until(lambda: hall1.store.panic(), "hall-1 went calm")
            await running.publisher.drained()
            assert not hall2.store.panic() and not lyon.store.panic()
            assert "Écran de secours actif sur : hq/hall-1" in await page.read("/")
            audit = running.engine.store.audit_log(10)
            assert (audit[0].who, audit[0].action, audit[0].detail) == (
                "Alice",
                "panic on",
                "screen hq/hall-1",
            )

            await page.post(
                "/announcement", action="publish", text="Accueil des stagiaires", scope="hq/hall-2"
            )
            await until(lambda: hall2.screen.announcement is not None, "hall-2's announcement arrived")
            await running.publisher.drained()
            assert hall2.screen.announcement is not None and hall2.screen.announcement.who == "Alice"
            assert hall1.screen.announcement is None and lyon.screen.announcement is None
            # The page lists hall-2's own announcement, and withdraws it from there.
            listed = scoped(await page.read("/"))
            assert "Écran hq/hall-2 seulement" in listed and "Accueil des stagiaires" in listed
            assert 'name="scope" value="hq/hall-2"' in listed
            await page.post("/announcement", action="withdraw", scope="hq/hall-2")
            await until(lambda: hall2.screen.announcement is None, "hall-2's announcement withdrawn")
            assert scoped(await page.read("/")) == ""

            # The kiosk restarts: the panic of its own is in its store, the windows boot calm.
            await hall1.stop()
            hall1 = await boot(fleet3, tmp_path, "hq", "hall-1")
            assert hall1.store.panic()
            await until(lambda: hall1.receiver.state.watching, "hall-1 watches again")
            await running.publisher.drained()
            assert hall1.store.panic() and not hall2.store.panic()

            # A site-wide choice ends the screen's own: releasing hq releases hall-1.
            await page.post("/panic", on="0", scope="hq")
            await until(lambda: not hall1.store.panic(), "hall-1 is back to its panels")
    finally:
        for kiosk in (hall1, hall2, lyon):
            await kiosk.stop()


def panic_line(page: str) -> str:
    """The main page's line naming where the panic screen is on ("" when it is nowhere)."""
    found = re.search(r'<p class="panic-sites"[^>]*>(.*?)</p>', page)
    return html.unescape(found.group(1)) if found else ""


async def test_the_panic_line_names_exactly_the_screens_in_panic_when_one_was_released_on_its_own(
    tmp_path: Path, fleet3: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    config = with_page(collector(fleet3, tmp_path / "c", news(feeds), screens=list(SCREENS)))
    running = await collector_for(config)
    hall1 = await boot(fleet3, tmp_path, "hq", "hall-1")
    hall2 = await boot(fleet3, tmp_path, "hq", "hall-2")
    lyon = await boot(fleet3, tmp_path, "lyon")
    try:
        async with collector_page(running, config) as page:
            await page.post("/panic", on="1", scope="hq")
            await until(lambda: hall1.store.panic() and hall2.store.panic(), "hq's screens in panic")
            await page.post("/panic", on="0", scope="hq/hall-1")
            await until(lambda: not hall1.store.panic(), "hall-1 released on its own")
            await running.publisher.drained()
            assert hall2.store.panic() and not lyon.store.panic()
            # Not "hq": hall-1 shows its panels again (and any other hq screen shows the panic).
            assert panic_line(await page.read("/")) == "Écran de secours actif sur : hq (sauf hq/hall-1)"

            # The whole fleet (it ends hall-1's own release), then Lyon's screen released alone.
            await page.post("/panic", on="1", scope="")
            await until(lambda: all(k.store.panic() for k in (hall1, hall2, lyon)), "every screen")
            await page.post("/panic", on="0", scope="lyon/hall-1")
            await until(lambda: not lyon.store.panic(), "lyon's screen released on its own")
            await running.publisher.drained()
            assert hall1.store.panic() and hall2.store.panic()
            assert (
                panic_line(await page.read("/")) == "Écran de secours actif sur : hq, lyon (sauf lyon/hall-1)"
            )

            # Lyon's site released, one of hq's screens only: the line names that screen alone.
            await page.post("/panic", on="0", scope="")
            await page.post("/panic", on="1", scope="hq/hall-2")
            await until(lambda: hall2.store.panic() and not hall1.store.panic(), "hall-2 alone")
            main = await page.read("/")
            assert panic_line(main) == "Écran de secours actif sur : hq/hall-2"
            assert "le mur n&#x27;affiche que le logo" not in main  # hq/hall-1 and Lyon show their panels
    finally:
        for kiosk in (hall1, hall2, lyon):
            await kiosk.stop()


async def test_a_release_made_while_the_broker_is_away_is_not_said_received_until_it_is(
    tmp_path: Path, fleet3: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    config = with_page(collector(fleet3, tmp_path / "c", news(feeds), screens=list(SCREENS)))
    running = await collector_for(config)
    lyon = await boot(fleet3, tmp_path, "lyon")
    try:
        async with collector_page(running, config) as page:
            await page.post("/panic", on="1", scope="lyon/hall-1")
            await until(lambda: lyon.store.panic(), "lyon's screen in panic")
            await running.publisher.drained()
            assert "tous les écrans concernés sont en ligne et l'ont reçu" in html.unescape(
                await page.read("/")
            )

            fleet3.stop()
            await until(lambda: not running.link.is_connected, "the collector knows the broker is away")
            await page.post("/panic", on="0", scope="lyon/hall-1")
            said = html.unescape(await page.read("/"))
            # The screen's heartbeat is recent, but nothing could be sent: no "has it" yet.
            assert "l'ont reçu" not in said and lyon.store.panic()
            assert "« Rétablir le mur — lyon/hall-1 »" in said
            assert "le collecteur n'atteint pas le serveur de la flotte ([fleet] servers)" in said

            fleet3.start()
            await until(lambda: not lyon.store.panic(), "the release arrives when the broker is back", 30)
            await until(lambda: running.link.is_connected, "the collector's link is back")
            assert "l'ont reçu" in html.unescape(await page.read("/"))
    finally:
        await lyon.stop()


async def test_playlists_reach_the_running_kiosks_and_a_screens_own_wins_over_its_sites(
    tmp_path: Path, fleet3: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    playlists = [
        {"site": "hq", "panels": [{"type": "mentions"}, {"type": "clock"}]},
        {"site": "hq", "screen": "hall-2", "panels": [{"type": "fans", "duration": 30}]},
    ]
    screens = ["hq/hall-1", "hq/hall-2", "lyon/hall-1"]
    running = await collector_for(
        collector(fleet3, tmp_path / "c", news(feeds), screens=screens, playlists=playlists)
    )
    hall1 = await boot(fleet3, tmp_path, "hq", "hall-1")
    hall2 = await boot(fleet3, tmp_path, "hq", "hall-2")
    lyon = await boot(fleet3, tmp_path, "lyon")
    try:

        def types(kiosk: Kiosk) -> list[str] | None:
            panels = kiosk.receiver.playlist()
            return None if panels is None else [p.type for p in panels]

        await until(lambda: types(hall1) == ["mentions", "clock"], "hq's playlist reached hall-1")
        await until(lambda: types(hall2) == ["fans"], "hall-2's own playlist reached it")
        await running.publisher.drained()
        assert types(lyon) is None  # no playlist for Lyon: the kiosk keeps its own [[panels]]
        assert hall2.receiver.playlist() is not None and hall2.receiver.playlist()[0].duration == 30  # type: ignore[index]

        # The collector restarts with a new config: the running kiosks follow without a restart.
        await running.stop()
        playlists = [
            {"site": "lyon", "panels": [{"type": "internal"}, {"type": "mentions", "limit": 3}]},
            {"site": "hq", "panels": [{"type": "trends"}]},
        ]
        await collector_for(
            collector(fleet3, tmp_path / "c", news(feeds), screens=screens, playlists=playlists)
        )
        await until(lambda: types(lyon) == ["internal", "mentions"], "lyon's new playlist reached it live")
        await until(lambda: types(hall2) == ["trends"], "hall-2 follows its site again")
        await until(lambda: types(hall1) == ["trends"], "hall-1 has hq's new playlist")
        # Kept in the kiosk's store: a restart (even with the broker away) starts with it.
        await lyon.stop()
        lyon = await boot(fleet3, tmp_path, "lyon")
        assert types(lyon) == ["internal", "mentions"]
    finally:
        for kiosk in (hall1, hall2, lyon):
            await kiosk.stop()


async def test_a_running_wall_run_kiosk_rotates_through_its_new_playlist_without_a_restart(
    tmp_path: Path, fleet3: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    first = [{"site": "hq", "panels": [{"type": "mentions"}]}]
    running = await collector_for(collector(fleet3, tmp_path / "c", news(feeds), playlists=first))
    await running.publisher.drained()
    kiosk = asyncio.ensure_future(asyncio.to_thread(run_hq_kiosk, fleet3, tmp_path, 25))
    heard = lambda: "hq/hall-1" in [s.name for s in running.watch.screens()]  # noqa: E731
    await until(heard, "the kiosk runs and sends its heartbeat", timeout=60)

    await running.stop()  # comms change the collector's config and restart it
    second = [{"site": "hq", "screen": "hall-1", "panels": [{"type": "clock"}, {"type": "fans"}]}]
    await collector_for(
        collector(fleet3, tmp_path / "c", news(feeds), screens=["hq/hall-1"], playlists=second)
    )
    done = await kiosk
    said = done.stderr
    assert "fleet: panels from the collector: mentions" in said
    assert "fleet: panels from the collector: clock, fans" in said
    assert said.index("clock, fans") > said.index("collector: mentions")
    assert "Traceback" not in said and "failed" not in said  # the windows took them


def test_a_playlist_for_a_screen_the_fleet_does_not_list_or_an_unknown_panel_is_refused(
    tmp_path: Path, fleet3: NatsFleet, feeds: Feeds
) -> None:
    state, sources = tmp_path / "c", news(feeds)
    wrong_screen = [{"site": "hq", "screen": "hall-9", "panels": [{"type": "clock"}]}]
    with pytest.raises(ConfigProblems) as refused:
        collector(fleet3, state, sources, screens=["hq/hall-1"], playlists=wrong_screen)
    assert (
        "collector.toml: fleet.playlists[0].screen: 'hall-9' of site 'hq' is not in fleet.screens: "
        'add "hq/hall-9" to fleet.screens, or name one of its screens: hq/hall-1'
    ) in refused.value.lines

    unknown_type = [{"site": "lyon", "panels": [{"type": "weather"}]}]
    with pytest.raises(ConfigProblems) as refused:
        collector(fleet3, state, sources, playlists=unknown_type)
    line = next(line for line in refused.value.lines if "weather" in line)
    assert line.startswith("collector.toml: fleet.playlists[0].panels[0].type:"), line
    assert "fans" in line  # what to write instead

    unknown_site = [{"site": "paris", "panels": [{"type": "clock"}]}]
    with pytest.raises(ConfigProblems) as refused:
        collector(fleet3, state, sources, playlists=unknown_site)
    assert any(
        line.startswith("collector.toml: fleet.playlists[0].site: 'paris' is not in fleet.sites")
        for line in refused.value.lines
    )


async def test_the_cap_of_posts_per_kind_applies_per_site_so_a_busy_site_cannot_push_another_out(
    tmp_path: Path, fleet3: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    sources: list[dict[str, Any]] = [
        {
            "name": "hq-buzz",
            "type": "rss",
            "url": feeds.serve("hq-buzz"),
            "kind": "mention",
            "sites": ["hq"],
            "max_items": 100,
        },
        {
            "name": "lyon-news",
            "type": "rss",
            "url": feeds.serve("lyon-news"),
            "kind": "mention",
            "sites": ["lyon"],
        },
    ]
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    for number in range(3):  # Lyon's posts are older than every one of hq's busy source
        feeds.items["lyon-news"].append(item(f"l{number}", start + timedelta(minutes=number)))
    for number in range(70):
        feeds.items["hq-buzz"].append(item(f"h{number}", start + timedelta(hours=1, minutes=number)))
    running = await collector_for(collector(fleet3, tmp_path / "c", sources))
    await poll_all(running)
    hq = await boot(fleet3, tmp_path, "hq")
    lyon = await boot(fleet3, tmp_path, "lyon")
    try:
        await until(lambda: len(hq.screen.ids("mention")) == 60, "hq shows its 60 newest posts")
        await until(lambda: sorted(lyon.screen.ids("mention")) == ["l0", "l1", "l2"], "lyon shows its posts")
        assert set(hq.screen.ids("mention")) == {f"h{n}" for n in range(10, 70)}
    finally:
        await hq.stop()
        await lyon.stop()


def item(item_id: str, at: datetime) -> dict[str, Any]:
    """A JSON Feed item published `at`."""
    return {"id": item_id, "content_text": f"Message {item_id}", "date_published": at.isoformat()}
