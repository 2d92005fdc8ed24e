"""The page's announcement reaches every site with who published it; panic reaches only the sites
it targets, and is kept in the kiosk's store (a reboot keeps the calm screen)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fleet.conftest import Feeds, boot_kiosk, collector_config, kiosk_config, until
from tests.servers.nats import NatsFleet
from wall.engine.moderation.decisions import PublishedAnnouncement


async def test_an_announcement_reaches_every_site_and_panic_only_its_site(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    hq = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "p1")
    lyon = await boot_kiosk(kiosk_config(broker, "lyon", tmp_path / "lyon"), tmp_path / "p2")
    try:
        await collector.engine.publish_announcement(
            PublishedAnnouncement("Exercice incendie", "à 15 h"), "comms"
        )
        arrived = lambda: all(k.screen.announcement is not None for k in (hq, lyon))  # noqa: E731
        await until(arrived, "the announcement arrived everywhere")
        for kiosk in (hq, lyon):
            assert kiosk.screen.announcement is not None
            assert (kiosk.screen.announcement.title, kiosk.screen.announcement.who) == (
                "Exercice incendie",
                "comms",
            )

        collector.publisher.set_panic(True, "comms", ["lyon"])
        await until(lambda: lyon.store.panic(), "lyon's screens went calm")
        await collector.publisher.drained()
        assert not hq.store.panic()
    finally:
        await hq.stop()
        await lyon.stop()
