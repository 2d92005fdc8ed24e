"""The fleet against real failures of real processes: the broker away for a while, the cluster's
leader node killed while posts flow, the collector killed and started again, and purged pictures.
(The broker's full minute away runs in `bench fleet`; here it is ~10 s.)"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats.js.errors
import pytest
from PIL import Image

from tests.fleet.conftest import (
    Feeds,
    Kiosk,
    boot_kiosk,
    collector_config,
    collector_env,
    collector_toml,
    kiosk_config,
    poll_all,
    start_collect,
    until,
)
from tests.servers.nats import NatsFleet, make_fleet
from wall.core.model import utcnow
from wall.engine.fleet.layout import PROOF_STREAM, picture_bucket, picture_name, state_bucket
from wall.engine.fleet.link import close, connect
from wall.engine.fleet.proof import ProofOutbox, ProofSender, ProofTracker, Showing, find_proof

ROOT = Path(__file__).resolve().parents[2]
OUTAGE_S = 10.0
SCREENS = ("hq/hall-1", "hq/hall-2", "lyon/hall-1")


def png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


async def boot_all(broker: NatsFleet, tmp_path: Path) -> list[Kiosk]:
    """One kiosk per screen of SCREENS, each with its own store and picture cache."""
    kiosks = []
    for name in SCREENS:
        site, screen = name.split("/")
        config = kiosk_config(broker, site, tmp_path / name, screen=screen)
        kiosks.append(await boot_kiosk(config, tmp_path / name / "pictures"))
    return kiosks


def proof_sender(kiosk: Kiosk, outbox: Path) -> ProofSender:
    """The kiosk's proof of play path (what `wall run` starts beside the receiver)."""
    assert kiosk.config.fleet is not None
    sender = ProofSender(kiosk.config.fleet, ProofOutbox(outbox), lambda: kiosk.receiver.link)
    sender.start()
    return sender


async def test_the_broker_away_every_kiosk_keeps_its_screen_and_gets_everything_published_meanwhile(
    tmp_path: Path, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    broker = make_fleet(tmp_path, SCREENS)
    broker.start()
    kiosks: list[Kiosk] = []
    senders: list[ProofSender] = []
    try:
        feeds.add("news", "n1", "Avant la coupure")
        collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
        await poll_all(collector)
        kiosks = await boot_all(broker, tmp_path)
        senders = [proof_sender(k, tmp_path / f"proof-{i}.sqlite3") for i, k in enumerate(kiosks)]
        for kiosk in kiosks:
            await until(lambda k=kiosk: k.screen.ids("mention") == ["n1"], "every kiosk shows n1")  # type: ignore[misc]

        broker.stop()
        for kiosk in kiosks:
            await until(lambda k=kiosk: not k.receiver.state.connected, "the link is down")  # type: ignore[misc]
        feeds.add("news", "n2", "Publié pendant la coupure")
        feeds.add("rse-hq", "i1", "Interne, publié pendant la coupure")
        await poll_all(collector)
        assert await collector.engine.act("news:n1", "hide", "comms")
        collector.publisher.set_panic(True, "comms", ["lyon"])
        start = utcnow()
        for index, kiosk in enumerate(kiosks):  # each kiosk keeps showing n1 and records it
            tracker = ProofTracker(*SCREENS[index].split("/"))
            tracker.observe(start, [Showing(kiosk.screen.posts["mention"][0], "mentions")])
            senders[index].add(tracker.flush(start + timedelta(seconds=OUTAGE_S)))
        await asyncio.sleep(OUTAGE_S)  # the outage itself: what the screens do meanwhile is the test
        assert [k.screen.ids("mention") for k in kiosks] == [["n1"]] * 3
        assert not any(k.store.panic() for k in kiosks)
        assert [s.outbox.count() for s in senders] == [1, 1, 1]  # kept on each kiosk

        broker.start()
        hq1, hq2, lyon = kiosks
        for kiosk in kiosks:
            await until(lambda k=kiosk: k.screen.ids("mention") == ["n2"], "caught up", timeout=30)  # type: ignore[misc]
        await until(lambda: hq1.screen.ids("internal") == hq2.screen.ids("internal") == ["i1"], "hq's post")
        await until(lambda: lyon.store.panic(), "lyon's panic")
        assert not hq1.store.panic() and lyon.screen.ids("internal") == []
        for kiosk in kiosks:
            assert [item for item, n in Counter(kiosk.receiver.state.applied).items() if n > 1] == []
        await until(lambda: all(s.published == 1 for s in senders), "every proof record sent")
        answer = await find_proof(collector.link.jetstream(), "news:n1")
        assert sorted(f"{r.site}/{r.screen}" for r in answer.records) == sorted(SCREENS)
    finally:
        for sender in senders:
            await sender.stop()
        for kiosk in kiosks:
            await kiosk.stop()
        broker.stop()


async def test_the_leader_node_killed_while_posts_flow_loses_nothing(
    tmp_path: Path, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    broker = make_fleet(tmp_path, SCREENS, nodes=3)
    broker.start()
    kiosks: list[Kiosk] = []
    sender: ProofSender | None = None
    try:
        collector = await collector_for(collector_config(broker, tmp_path / "c", feeds, replicas=3))
        kiosks = await boot_all(broker, tmp_path)
        sender = proof_sender(kiosks[0], tmp_path / "proof.sqlite3")
        tracker = ProofTracker("hq", "hall-1")
        js = collector.link.jetstream()
        leader = (await js.stream_info(f"KV_{state_bucket('hq')}")).cluster
        assert leader is not None and leader.leader is not None
        node = next(n for n in broker.nodes if n.name == leader.leader)
        ids = [f"n{i:02d}" for i in range(1, 16)]
        feeds.add("news", ids[0], "Post n01")
        await poll_all(collector)
        await until(lambda: kiosks[0].screen.ids("mention") == ["n01"], "the flow starts")
        first = kiosks[0].screen.posts["mention"][0]
        start = utcnow()
        for index, post_id in enumerate(ids):
            if index:
                feeds.add("news", post_id, f"Post {post_id}")
                await poll_all(collector)
            # The kiosk shows each post for a second, and records it (the proof stream is R3 too).
            showing = Showing(dataclasses.replace(first, id=post_id, text=f"Post {post_id}"), "mentions")
            sender.add(tracker.observe(start + timedelta(seconds=index), [showing]))
            await asyncio.sleep(0.2)  # the pace of the flow
            if index == 4:
                assert node.process is not None
                node.process.send_signal(signal.SIGKILL)  # the leader dies, no goodbye
                node.process.wait()
                node.process = None
        sender.add(tracker.flush(start + timedelta(seconds=len(ids))))
        await asyncio.wait_for(collector.publisher.drained(), 40)  # retried until the new leader takes it
        newest_first = list(reversed(ids))
        for kiosk in kiosks:
            # A bound for a hang, not a speed (`python -m bench.fleet --leader-kills 5` measures it).
            await until(lambda k=kiosk: k.screen.ids("mention") == newest_first, "every post", timeout=90)  # type: ignore[misc]
            # Nothing twice: a watch that followed again after the kill skipped what it had applied.
            assert [item for item, n in Counter(kiosk.receiver.state.applied).items() if n > 1] == []
        await until(lambda: sender is not None and sender.outbox.count() == 0, "proof sent", timeout=30)
        records = (await find_proof(js, "news:n15")).records
        assert [(r.screen, r.seconds) for r in records] == [("hall-1", 1.0)]
        assert (await js.stream_info(PROOF_STREAM)).state.messages == len(ids)  # all there, none twice
    finally:
        if sender is not None:
            await sender.stop()
        for kiosk in kiosks:
            await kiosk.stop()
        broker.stop()


def start_wall_collect(broker: NatsFleet, tmp_path: Path, feed: str, log: Path) -> subprocess.Popen[bytes]:
    """`wall collect` as systemd runs it, logging to `log`."""
    config = collector_toml(broker, tmp_path, feed=feed, source="interval = 15\n")
    return start_collect(config, collector_env(broker), log)


async def test_the_collector_killed_kiosks_keep_their_content_and_it_resumes_without_uploading_again(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds
) -> None:
    # A path of its own: the collector's picture cache outlives a test (the URL is the cache key).
    feeds.server.expect_request("/collector-killed.png").respond_with_data(
        png("blue"), content_type="image/png"
    )
    picture = feeds.server.url_for("/collector-killed.png")
    feeds.add("news", "n1", "Avec une photo", image=picture)
    feed = feeds.serve("news")
    log = tmp_path / "collector.log"
    collector = start_wall_collect(broker, tmp_path, feed, log)
    kiosk = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "pictures")
    fleet = collector_config(broker, tmp_path / "unused", feeds).fleet
    assert fleet is not None
    link = await connect(fleet, name="test")
    js = link.jetstream()
    try:
        await until(lambda: kiosk.screen.ids("mention") == ["n1"], "the kiosk shows n1")
        assert kiosk.screen.requester is not None
        kiosk.screen.requester(picture)
        await until(lambda: bool(kiosk.screen.images.get(picture)), "the kiosk got the picture")
        objects = await js.object_store(picture_bucket("hq"))
        assert (await objects.get_info(picture_name(picture))).size
        streams = (f"OBJ_{picture_bucket('hq')}", f"KV_{state_bucket('hq')}")
        before = {name: (await js.stream_info(name)).state.last_seq for name in streams}

        downloads = sum(1 for request, _ in feeds.server.log if request.path == "/collector-killed.png")
        collector.send_signal(signal.SIGKILL)  # the collector dies
        collector.wait()
        applied = len(kiosk.receiver.state.applied)
        await asyncio.sleep(1.0)  # a while without a collector: the kiosk's screen stays
        assert kiosk.screen.ids("mention") == ["n1"] and kiosk.receiver.state.connected

        collector = start_wall_collect(broker, tmp_path, feed, log)
        feeds.add("news", "n2", "Après le redémarrage")  # the restarted collector polls at start
        await until(lambda: kiosk.screen.ids("mention") == ["n2", "n1"], "the new collector publishes")
        after = {name: (await js.stream_info(name)).state.last_seq for name in streams}
        assert after[streams[0]] == before[streams[0]]  # the picture was not uploaded again
        # Only the new post (and the sources' health: polled again) is applied, not every key again.
        assert {key for key, _ in kiosk.receiver.state.applied[applied:]} - {"statuses"} == {"posts.mention"}
        assert downloads == 1  # nor downloaded again from its source
        assert sum(1 for request, _ in feeds.server.log if request.path == "/collector-killed.png") == 1
    finally:
        await close(link)
        await kiosk.stop()
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(timeout=30) == 0, log.read_text()


async def test_pictures_purged_on_the_collector_leave_every_sites_object_store(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.server.expect_request("/purged.png").respond_with_data(png("green"), content_type="image/png")
    picture = feeds.server.url_for("/purged.png")
    # An internal post: kept `retention_days` (internal default), and shown on hq only.
    feeds.add("rse-hq", "i1", "Photo à effacer un jour", image=picture)
    feeds.items["rse-hq"][0]["date_published"] = utcnow().isoformat()
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    js = collector.link.jetstream()
    name = picture_name(picture)
    objects = await js.object_store(picture_bucket("hq"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while True:  # the collector downloads the picture, then publishes it
        try:
            assert (await objects.get_info(name)).size
            break
        except nats.js.errors.ObjectNotFoundError:
            assert loop.time() < deadline, "the picture never reached hq's object store"
            await asyncio.sleep(0.05)

    collector.engine.clock = lambda: utcnow() + timedelta(days=400)  # past any retention_days
    purged = await collector.engine.purge()
    assert purged.posts == 1
    await collector.publisher.drained()
    with pytest.raises(nats.js.errors.ObjectNotFoundError):
        await objects.get_info(name)
    with pytest.raises(nats.js.errors.ObjectNotFoundError):  # nor can a kiosk fetch it any more
        await objects.get(name)
