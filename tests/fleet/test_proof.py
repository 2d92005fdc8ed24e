"""Proof of play: a kiosk records what it showed; the records wait on the kiosk while the broker is
away and arrive once afterwards; `wall proof` on the collector says where and when a post was
shown, even after the post is gone from the collector's store; a real `wall run` kiosk sends them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.fleet.conftest import (
    Feeds,
    Kiosk,
    boot_kiosk,
    collector_config,
    collector_env,
    collector_toml,
    kiosk_config,
    poll_all,
    run_hq_kiosk,
    until,
)
from tests.servers.nats import NatsFleet
from wall.core.model import Batch, utcnow
from wall.engine.fleet.layout import PROOF_STREAM, proof_subject
from wall.engine.fleet.proof import ProofOutbox, ProofSender, ProofTracker, Showing, find_proof

ROOT = Path(__file__).resolve().parents[2]
POST_URL = "https://social.example/@brand/1"


def wall_proof(broker: NatsFleet, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`wall proof --config collector.toml ...` as comms would type it."""
    config = collector_toml(broker, tmp_path / "cli")
    command = [sys.executable, "-m", "wall.cli", "proof", "--config", str(config), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=collector_env(broker), cwd=ROOT, timeout=60
    )


@asynccontextmanager
async def showing_kiosk(broker: NatsFleet, tmp_path: Path) -> AsyncIterator[tuple[Kiosk, ProofSender]]:
    """The hq/hall-1 kiosk once it shows post n1, with its proof sender (outbox in its folder)."""
    kiosk = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "pictures")
    config = kiosk.config.fleet
    assert config is not None
    sender = ProofSender(config, ProofOutbox(tmp_path / "hq" / "proof.sqlite3"), lambda: kiosk.receiver.link)
    sender.start()
    try:
        await until(lambda: kiosk.screen.ids("mention") == ["n1"], "the kiosk shows the post")
        yield kiosk, sender
    finally:
        await sender.stop()
        await kiosk.stop()


async def test_proof_waits_on_the_kiosk_while_the_broker_is_away_arrives_once_and_outlives_the_post(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("news", "n1", "Notre stand au salon")
    feeds.items["news"][0]["url"] = POST_URL
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    async with showing_kiosk(broker, tmp_path) as (kiosk, sender):
        post = kiosk.screen.posts["mention"][0]
        tracker = ProofTracker("hq", "hall-1")
        start = utcnow()
        assert tracker.observe(start, [Showing(post, "mentions")]) == []

        broker.stop()
        await until(lambda: not kiosk.receiver.state.connected, "the kiosk knows the link is down")
        ended = tracker.observe(start + timedelta(seconds=12), [])
        sender.add(ended)
        await until(lambda: sender.outbox.count() == 1, "the record is kept on the kiosk")
        assert sender.published == 0

        broker.start()
        await until(lambda: sender.published == 1 and sender.outbox.count() == 0, "sent after", timeout=30)
        # The acknowledgement was lost (say): the kiosk sends the same record again.
        sender.outbox.add(ended)
        await sender.send_waiting()
        assert sender.published == 2
        js = collector.link.jetstream()
        assert (await js.stream_info(PROOF_STREAM)).state.messages == 1  # the stream kept it once

        # The post leaves the collector's store (deleted at its source): the proof stays.
        collector.engine.store.apply("news", Batch(deleted=("n1",)))
        assert collector.engine.store.post("news:n1") is None
        answer = await find_proof(js, "news:n1")
        assert [(r.site, r.screen, r.panel, r.seconds, r.started_at) for r in answer.records] == [
            ("hq", "hall-1", "mentions", 12.0, start)
        ]
        assert [r.post_key for r in (await find_proof(js, POST_URL)).records] == ["news:n1"]
        assert (await find_proof(js, "news:n2")).records == []

    text = wall_proof(broker, tmp_path, "news:n1")
    assert text.returncode == 0, text.stderr
    assert "hq/hall-1" in text.stdout and "mentions" in text.stdout and "12 s" in text.stdout
    assert f"{start:%Y-%m-%d %H:%M:%S} UTC" in text.stdout
    as_json = wall_proof(broker, tmp_path, POST_URL, "--json")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["shown"] is True and body["screens"] == ["hq/hall-1"] and body["seconds"] == 12.0
    missing = wall_proof(broker, tmp_path, "news:n2")
    assert missing.returncode == 1
    assert "news:n2: not shown on any screen in the last 30 days" in missing.stdout
    assert broker.credential("collector") not in text.stdout + text.stderr + as_json.stdout
    broker.stop()
    down = wall_proof(broker, tmp_path, "news:n1")  # the broker away: an answer, not a hang
    assert down.returncode == 3
    assert "collector.toml: fleet.servers: cannot reach tls://127.0.0.1:" in down.stderr
    assert broker.credential("collector") not in down.stdout + down.stderr


async def test_a_real_kiosk_records_what_it_painted_and_the_collector_answers(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("news", "n1", "Bienvenue dans le hall")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    await collector.publisher.drained()
    done = run_hq_kiosk(broker, tmp_path, 5)
    answer = await find_proof(collector.link.jetstream(), "news:n1")
    assert answer.records, done.stderr
    assert {(r.site, r.screen, r.panel) for r in answer.records} == {("hq", "hall-1", "mentions")}
    # On screen from about its first second to the last: most of the run, never more than all of it.
    assert 0 < sum(r.seconds for r in answer.records) <= 5


async def test_a_kiosk_cannot_claim_another_screens_proof(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("news", "n1", "Un post")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    kiosk = await boot_kiosk(kiosk_config(broker, "hq", tmp_path / "hq"), tmp_path / "pictures")
    try:
        await until(lambda: kiosk.screen.ids("mention") == ["n1"], "the kiosk shows the post")
        link = kiosk.receiver.link
        assert link is not None
        post = kiosk.screen.posts["mention"][0]
        start = utcnow()
        forged = ProofTracker("lyon", "hall-1")  # hq's kiosk pretends to be lyon's
        forged.observe(start, [Showing(post, "mentions")])
        (record,) = forged.flush(start + timedelta(seconds=30))
        # Published on hq's own subject (the only one its permissions allow), claiming lyon.
        data = json.dumps(record.to_dict()).encode()
        await link.jetstream().publish(proof_subject("hq", "hall-1", post.key), data)
        assert (await find_proof(collector.link.jetstream(), "news:n1")).records == []
    finally:
        await kiosk.stop()


async def test_a_post_that_stays_on_screen_is_answered_shown_after_its_first_minute(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    # The README's two lobbies: one post per site and nothing else, so the posts panel stays up and
    # the post never leaves the screen; comms ask "is it shown?" while it is.
    feeds.add("news", "n1", "Bienvenue à hq")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    async with showing_kiosk(broker, tmp_path) as (kiosk, sender):
        on_screen = [Showing(kiosk.screen.posts["mention"][0], "mentions")]
        tracker = ProofTracker("hq", "hall-1")
        start = utcnow()
        for second in range(61):  # the kiosk looks once a second; the post stays
            sender.add(tracker.observe(start + timedelta(seconds=second), on_screen))
        await until(lambda: sender.published == 1, "the first minute is sent while the post stays")
        answer = await find_proof(collector.link.jetstream(), "news:n1")
        assert [(r.screen, r.started_at, r.seconds) for r in answer.records] == [("hall-1", start, 60.0)]

        # Then every 5 minutes (not every minute): one more record at 6 min, none before.
        later = [tracker.observe(start + timedelta(seconds=s), on_screen) for s in range(61, 360)]
        assert not any(later)
        assert [r.seconds for r in tracker.observe(start + timedelta(seconds=360), on_screen)] == [300.0]
