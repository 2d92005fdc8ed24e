"""A kiosk keeps its screen while the broker is away, and catches up when it is back: nothing lost,
nothing twice; a kiosk that was off during a decision, and boots while the broker is unreachable,
shows its stored content at once and the decision once the broker answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fleet.conftest import Feeds, boot_kiosk, collector_config, kiosk_config, poll_all, until
from tests.servers.nats import NatsFleet


async def test_the_broker_stopped_and_started_again_the_kiosk_keeps_its_content_and_gets_what_it_missed(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("news", "n1", "Premier post")
    feeds.add("news", "n2", "Deuxième post")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    kiosk = await boot_kiosk(kiosk_config(broker, "lyon", tmp_path / "lyon"), tmp_path / "pictures")
    try:
        await until(lambda: kiosk.screen.ids("mention") == ["n2", "n1"], "the kiosk shows both posts")

        broker.stop()
        await until(lambda: not kiosk.receiver.state.connected, "the kiosk knows the link is down")
        # Published meanwhile: a new post, and a hide on one the kiosk shows.
        feeds.add("news", "n3", "Publié pendant la coupure")
        await poll_all(collector)
        assert await collector.engine.act("news:n1", "hide", "comms")
        assert kiosk.screen.ids("mention") == ["n2", "n1"]  # the screen keeps what it had
        assert kiosk.store.post("news:n1") is not None

        broker.start()
        await until(lambda: kiosk.screen.ids("mention") == ["n3", "n2"], "the kiosk caught up", timeout=30)
        assert kiosk.store.post("news:n1") is None
        await collector.publisher.drained()
        applied = kiosk.receiver.state.applied
        assert [item for item, times in Counter(applied).items() if times > 1] == []  # nothing twice
        assert kiosk.store.post_count() == 2
    finally:
        await kiosk.stop()


async def test_a_kiosk_off_during_a_decision_boots_from_its_store_and_then_sees_the_decision(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("news", "n1", "Un post à masquer")
    feeds.add("news", "n2", "Un post qui reste")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    config = kiosk_config(broker, "hq", tmp_path / "hq")
    kiosk = await boot_kiosk(config, tmp_path / "pictures")
    await until(lambda: kiosk.screen.ids("mention") == ["n2", "n1"], "the kiosk shows both posts")
    applied_before = list(kiosk.receiver.state.applied)
    await kiosk.stop()  # the kiosk is switched off

    assert await collector.engine.act("news:n1", "hide", "comms")
    await collector.publisher.drained()
    broker.stop()  # and the broker is unreachable when the kiosk boots again

    kiosk = await boot_kiosk(config, tmp_path / "pictures")
    try:
        assert kiosk.screen.ids("mention") == ["n2", "n1"]  # from its store, at once
        broker.start()
        await until(lambda: kiosk.screen.ids("mention") == ["n2"], "the hide reached the kiosk", timeout=30)
        assert kiosk.store.post("news:n1") is None
        # Only the changed key was applied after the reboot: the others' revisions were already stored.
        assert "posts.mention" in [key for key, _ in kiosk.receiver.state.applied]
        assert set(kiosk.receiver.state.applied).isdisjoint(applied_before)
    finally:
        await kiosk.stop()


async def test_the_kiosks_consumer_lost_on_the_server_it_follows_again_and_gets_the_next_decision_once(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    # What a kiosk sees when the node holding its consumer dies while its own link stays up.
    feeds.add("news", "n1", "Un post à masquer")
    feeds.add("news", "n2", "Un post qui reste")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    kiosk = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "pictures")
    try:
        await until(lambda: kiosk.screen.ids("mention") == ["n2", "n1"], "the kiosk shows both posts")
        js = collector.link.jetstream()
        mine = [
            c.name
            for c in await js.consumers_info("KV_wall-hq")
            if (c.config.deliver_subject or "").startswith("_INBOX.kiosk-hq-hall-1.")
        ]
        assert len(mine) == 1
        assert await js.delete_consumer("KV_wall-hq", mine[0])

        assert await collector.engine.act("news:n1", "hide", "comms")
        await until(lambda: kiosk.screen.ids("mention") == ["n2"], "the hide reached the kiosk")
        assert kiosk.receiver.state.connected  # the link never dropped: the watch noticed by itself
        assert [item for item, n in Counter(kiosk.receiver.state.applied).items() if n > 1] == []
    finally:
        await kiosk.stop()
