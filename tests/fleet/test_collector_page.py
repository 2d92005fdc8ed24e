"""The collector's moderation page (`wall collect` with `[web] enabled`) is the fleet's one page:
a hide and a site's panic made with its HTTP forms reach the right kiosks over a real nats-server,
a kiosk of another site is untouched, and the panic survives a restart of the kiosk and of the
collector; an announcement for one site reaches that site only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fleet.conftest import Feeds, boot_kiosk, collector_config, kiosk_config, poll_all, until
from tests.fleet.page_client import collector_page, with_page
from tests.servers.nats import NatsFleet


async def test_a_hide_and_a_site_panic_on_the_collectors_page_reach_the_right_kiosks(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("news", "n1", "Bienvenue aux visiteurs")
    feeds.add("news", "n2", "Un message à retirer")
    config = with_page(collector_config(broker, tmp_path / "c", feeds))
    collector = await collector_for(config)
    await poll_all(collector)
    hq = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "p1")
    lyon = await boot_kiosk(kiosk_config(broker, "lyon", tmp_path / "lyon"), tmp_path / "p2")
    try:
        both = lambda: all(sorted(k.screen.ids("mention")) == ["n1", "n2"] for k in (hq, lyon))  # noqa: E731
        await until(both, "both sites show both posts")
        async with collector_page(collector, config) as page:
            main = await page.read("/")
            assert '<option value="lyon">' in main  # the panic's scope: the fleet or one site

            await page.post("/act", key="news:n2", action="hide")
            gone = lambda: all(k.screen.ids("mention") == ["n1"] for k in (hq, lyon))  # noqa: E731
            await until(gone, "the hidden post left every site's screens")

            await page.post("/panic", on="1", scope="lyon")
            await until(lambda: lyon.store.panic(), "lyon's screens went calm")
            await collector.publisher.drained()
            assert not hq.store.panic()
            shown = await page.read("/")
            assert "Écran de secours actif sur : lyon" in shown

            await page.post("/announcement", action="publish", text="Visite du siège à 15 h", scope="hq")
            await until(lambda: hq.screen.announcement is not None, "hq's announcement arrived")
            await collector.publisher.drained()
            assert hq.screen.announcement is not None and hq.screen.announcement.who == "Alice"
            assert lyon.screen.announcement is None
        await lyon.stop()
        lyon = await boot_kiosk(kiosk_config(broker, "lyon", tmp_path / "lyon"), tmp_path / "p2")
        assert lyon.store.panic()  # what the windows are built with: calm from the first frame
    finally:
        await hq.stop()
        await lyon.stop()

    # The collector restarts: each site keeps its own panic state (not the fleet's flag for all).
    await collector.stop()
    collector = await collector_for(config)
    await collector.publisher.drained()
    hq = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "p1")
    lyon = await boot_kiosk(kiosk_config(broker, "lyon", tmp_path / "lyon"), tmp_path / "p2")
    try:
        await until(lambda: bool(hq.receiver.state.applied and lyon.receiver.state.applied), "watching")
        await collector.publisher.drained()
        assert lyon.store.panic() and not hq.store.panic()
        assert hq.screen.ids("mention") == ["n1"]
    finally:
        await hq.stop()
        await lyon.stop()
