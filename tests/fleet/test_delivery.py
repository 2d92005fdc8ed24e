"""What the collector publishes reaches the right site's kiosks, into their stores and screens:
a site-limited internal post never reaches another site, a picture goes through the object store,
and a moderator's hide takes the post off every kiosk."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.fleet.conftest import (
    Feeds,
    boot_kiosk,
    collector_config,
    kiosk_config,
    poll_all,
    until,
)
from tests.servers.nats import make_fleet


def png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("nodes", [1, 3], ids=["one-node", "cluster-of-3"])
async def test_posts_reach_their_sites_only_with_pictures_and_hides(
    tmp_path: Path, feeds: Feeds, collector_for: Callable[..., Any], nodes: int
) -> None:
    broker = make_fleet(tmp_path, ["hq/hall-1", "lyon/hall-1"], nodes=nodes)
    broker.start()
    try:
        feeds.server.expect_request("/pic.png").respond_with_data(png("red"), content_type="image/png")
        feeds.add("news", "n1", "Notre stand au salon #brand", image=feeds.server.url_for("/pic.png"))
        feeds.add("rse-hq", "i1", "Réunion du comité de direction au 5e")
        hq = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "hq-pictures")
        lyon = await boot_kiosk(kiosk_config(broker, "lyon", tmp_path / "lyon"), tmp_path / "lyon-pictures")
        try:
            collector = await collector_for(collector_config(broker, tmp_path / "c", feeds, replicas=nodes))
            await poll_all(collector)

            await until(lambda: hq.screen.ids("internal") == ["i1"], "hq shows its internal post")
            await until(lambda: lyon.screen.ids("mention") == ["n1"], "lyon shows the public post")
            await until(lambda: hq.screen.ids("mention") == ["n1"], "hq shows the public post")
            # Lyon got everything hq got meanwhile, except hq's internal post: not on screen, not stored.
            await until(lambda: len(lyon.receiver.state.applied) >= 5, "lyon has the site's keys")
            assert lyon.screen.ids("internal") == []
            assert lyon.store.post("rse-hq:i1") is None
            assert hq.store.post("rse-hq:i1") is not None

            # The picture: loaded and re-encoded by the collector, fetched by the kiosk from NATS.
            url = feeds.server.url_for("/pic.png")
            for kiosk in (hq, lyon):
                assert kiosk.screen.requester is not None
                kiosk.screen.requester(url)
            await until(lambda: bool(hq.screen.images.get(url)), "hq got the picture")
            await until(lambda: bool(lyon.screen.images.get(url)), "lyon got the picture")
            shown = Image.open(io.BytesIO(hq.screen.images[url] or b""))
            pixel = shown.convert("RGB").getpixel((5, 5))
            assert isinstance(pixel, tuple) and shown.size == (64, 48)
            assert pixel[0] > 240 and pixel[1] < 16 and pixel[2] < 16  # red, re-encoded (JPEG: nearly exact)

            # A moderator hides the public post on the collector's page: it leaves every screen.
            assert await collector.engine.act("news:n1", "hide", "comms")
            await until(lambda: hq.screen.ids("mention") == [] and lyon.screen.ids("mention") == [], "hidden")
            assert hq.store.post("news:n1") is None and lyon.store.post("news:n1") is None
            assert hq.screen.ids("internal") == ["i1"]
        finally:
            await hq.stop()
            await lyon.stop()
    finally:
        broker.stop()
