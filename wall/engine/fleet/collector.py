"""`wall collect`: the fleet's one headless collector. It runs the same engine as `wall run`
(sources, poller, consent, moderation, store, pictures) and writes to a `FleetPublisher` instead of
a Qt hub; this module and what it imports never load Qt (tests/fleet/test_collect.py proves it)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from nats.aio.client import Client

from wall.engine.config import WallConfig
from wall.engine.engine import Engine
from wall.engine.fleet.health import FleetWatch
from wall.engine.fleet.link import close, connect_until_up
from wall.engine.fleet.publisher import FleetPublisher
from wall.engine.fleet.targets import SiteTargets
from wall.engine.services import make_client, open_store

log = logging.getLogger("wall.engine.fleet.collector")


@dataclass(slots=True)
class Collector:
    """The running parts of a collector (tests drive it in-process through `start_collector`)."""

    engine: Engine
    publisher: FleetPublisher
    link: Client
    client: httpx.AsyncClient
    watch: FleetWatch
    targets: SiteTargets
    stopped: bool = False

    async def stop(self) -> None:
        """Stop polling and publishing, close the link, the HTTP client and the store (once)."""
        if self.stopped:
            return
        self.stopped = True
        await self.watch.stop()
        await self.engine.stop()
        await self.publisher.stop()
        await close(self.link)
        await self.client.aclose()
        self.engine.store.close()


async def start_collector(config: WallConfig) -> Collector:
    """Open the store, connect to the fleet, create the sites' buckets, publish what the store holds
    at once (kiosks that boot get it even before the first poll), then poll."""
    assert config.fleet is not None
    store = open_store(config)
    link = await connect_until_up(config.fleet, name="collector")
    publisher = FleetPublisher(config, link, store)
    await publisher.start()
    client = make_client(config)
    engine = Engine(config, store, publisher, client, post_groups=publisher.post_groups())
    engine.fill_screen_from_store()
    targets = SiteTargets(store, publisher)
    targets.restore()  # each site's own panic and announcement, over the fleet's
    watch = FleetWatch(config.fleet, link, store)
    await watch.start()
    engine.start()
    log.info(
        "collector: publishing to %s for sites %s",
        ", ".join(config.fleet.servers),
        ", ".join(config.fleet.sites),
    )
    return Collector(engine, publisher, link, client, watch, targets)


async def collect(
    config: WallConfig, page: Callable[[Collector], Awaitable[Callable[[], Awaitable[None]]]] | None = None
) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status. `page` starts the moderation page on
    the running collector and returns how to stop it (`wall collect` with `[web] enabled`: the
    page lives above the engine, so the CLI hands it in)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    collector = await start_collector(config)
    stop_page = await page(collector) if page is not None else None
    try:
        await stop.wait()
    finally:
        if stop_page is not None:
            await stop_page()
        await collector.stop()
    return 0
