"""A kiosk's NATS user can neither publish content nor read another site's internal posts: the
server refuses, whatever the kiosk's code tries (its own credential, straight through nats-py)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from tests.fleet.conftest import Feeds, collector_config, poll_all
from tests.servers.nats import NatsFleet
from wall.engine.fleet import wire
from wall.engine.fleet.layout import inbox_prefix, kiosk_user

JS_TIMEOUT_S = 1.0  # a refused request gets no answer: the client gives up after this


async def connect_as(broker: NatsFleet, user: str, refused: list[str]) -> Client:
    async def error(exc: Exception) -> None:
        refused.append(str(exc))

    return await nats.connect(
        broker.servers,
        tls=ssl.create_default_context(cafile=str(broker.files.ca)),
        user=user,
        password=broker.credential(user),
        inbox_prefix=inbox_prefix(user),
        error_cb=error,
        allow_reconnect=False,
    )


async def test_a_kiosk_can_neither_publish_a_post_nor_read_another_sites_internal_posts(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("rse-hq", "secret-1", "Plan social confidentiel")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    await collector.publisher.drained()
    kv_hq = await collector.link.jetstream().key_value("wall-hq")
    published = (await kv_hq.get("posts.internal")).value
    assert published is not None and b"secret-1" in published

    refused: list[str] = []
    lyon = await connect_as(broker, kiosk_user("lyon", "hall-1"), refused)
    hq = await connect_as(broker, kiosk_user("hq", "hall-1"), refused)
    try:
        # Lyon's kiosk cannot open hq's bucket, read a value of it, nor subscribe to its subjects.
        js_lyon = lyon.jetstream(timeout=JS_TIMEOUT_S)
        with pytest.raises((nats.errors.TimeoutError, nats.errors.Error)):
            await (await js_lyon.key_value("wall-hq")).get("posts.internal")
        with pytest.raises((nats.errors.TimeoutError, nats.errors.Error)):
            await js_lyon.get_last_msg("KV_wall-hq", "$KV.wall-hq.posts.internal")
        seen: list[bytes] = []

        async def heard(msg: Any) -> None:
            seen.append(msg.data)

        await lyon.subscribe("$KV.wall-hq.>", cb=heard)
        await lyon.subscribe("_INBOX.kiosk-hq-hall-1.>", cb=heard)  # hq kiosk's deliveries
        await lyon.flush()

        # Neither kiosk can write a post, even into its own site's bucket.
        fake = wire.ShownPosts(()).encode()
        for client in (hq, lyon):
            with pytest.raises((nats.errors.TimeoutError, nats.errors.Error)):
                await client.jetstream(timeout=JS_TIMEOUT_S).publish("$KV.wall-hq.posts.internal", fake)
        await hq.publish("$KV.wall-hq.posts.internal", fake)  # plain publish: dropped by the server
        await hq.flush()

        # Meanwhile hq's kiosk reads its own bucket: the content is there and untouched.
        own = await (await hq.jetstream(timeout=5).key_value("wall-hq")).get("posts.internal")
        assert own.value == published
        shown = wire.ShownPosts.decode(wire.load(own.value or b""))
        assert [p.id for p in shown.posts] == ["secret-1"]
        await asyncio.sleep(0.2)  # let a wrongly allowed delivery arrive, if the server sent one
        assert seen == []
        assert any("permissions violation" in r.lower() for r in refused)
        assert (await kv_hq.get("posts.internal")).value == published
    finally:
        await lyon.close()
        await hq.close()
