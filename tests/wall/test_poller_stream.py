"""The poller's rules for streaming sources, with a scripted fake source (no network).

The HTTP side of streaming is tested over real connections in tests/sources/test_mastodon_stream.py;
here the source is a stand-in whose stream the test feeds batch by batch, so each rule of
wall/engine/poller.py (catch-up first, heartbeats, fallback, backoff, catch-up poll, reconnect) is checked
alone. The poller's waits are recorded and shortened a thousandfold; a wait of `HELD` seconds or more
lasts until the poller stops, which keeps the poll loop quiet where a test needs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from sources.base import AuthError, ConfigError, Source, SourceSettings, StreamingSource, TransientError
from tests.support.clock import SteppedClock
from tests.support.posts import make_post
from wall.core.model import Batch, Health, Post, SourceStatus
from wall.engine.poller import Poller, RetryPolicy

HELD = 100_000.0
SCALE = 0.001
POLICY = RetryPolicy(jitter=0.0, max_backoff=600, permanent_retry=60, first_poll_spread=0)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # when the posts were written and the clock starts
END = None  # pushed to the fake stream: it ends normally


def post(post_id: str) -> Post:
    """A post of the fake source, written when the test starts."""
    return make_post(post_id, source="live", network="fake", text=f"post {post_id}", created_at=START)


class FakeStreamingSource:
    """Polls give `poll_results` (then `poll_default`); the stream gives what the test pushes."""

    network: ClassVar[str] = "fake"

    def __init__(self, *, interval: float = 15, slow_down: float = 0.0, streams: bool = True) -> None:
        self.settings = SourceSettings(name="live", type="fake", interval=interval)
        self.slow_down = slow_down  # a huge value keeps the poll loop asleep after its first poll
        self.streams = streams
        self.poll_results: deque[Batch | Exception] = deque()
        self.poll_default: Batch | Exception = Batch()
        self.log: list[str] = []  # "poll", "stream", "closed" in the order they happened
        self.stream_unavailable = ""
        self._feed: asyncio.Queue[Batch | BaseException | None] = asyncio.Queue()
        self._waiting = asyncio.Event()  # the stream waits for its next item

    async def poll(self) -> Batch:
        self.log.append("poll")
        result = self.poll_results.popleft() if self.poll_results else self.poll_default
        if isinstance(result, Exception):
            raise result
        return result

    async def stream(self) -> AsyncGenerator[Batch, None]:
        self.log.append("stream")
        if not self.streams:
            self.stream_unavailable = "no token"
            return
        try:
            while True:
                self._waiting.set()
                item = await self._feed.get()
                self._waiting.clear()
                if item is END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.log.append("closed")

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        return None

    def count(self, what: str) -> int:
        return self.log.count(what)

    async def push(self, item: Batch | BaseException | None, *, processed: bool = True) -> None:
        """Hand `item` to the open stream; for a batch, wait until the poller has dealt with it."""
        await asyncio.wait_for(self._waiting.wait(), 2)
        self._waiting.clear()
        await self._feed.put(item)
        if isinstance(item, Batch) and processed:
            await asyncio.wait_for(self._waiting.wait(), 2)


class Harness:
    """A poller over one fake source, recording what reaches the wall."""

    def __init__(self, source: FakeStreamingSource, **options: Any) -> None:
        self.source = source
        self.batches: list[Batch] = []
        self.statuses: list[SourceStatus] = []
        self.delays: list[float] = []
        self.sink_error: Exception | None = None
        options.setdefault("policy", POLICY)
        self.poller = Poller([source], self.on_batch, self.statuses.append, sleep=self.sleep, **options)

    async def on_batch(self, source: Source, batch: Batch) -> None:
        if self.sink_error is not None:
            error, self.sink_error = self.sink_error, None
            raise error
        self.batches.append(batch)

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(3600 if seconds >= HELD else seconds * SCALE)

    async def __aenter__(self) -> Harness:
        self.poller.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.poller.stop()


async def until(check: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def quiet(**values: Any) -> FakeStreamingSource:
    """A source whose poll loop sleeps after its first poll: every later poll is a catch-up poll."""
    return FakeStreamingSource(slow_down=HELD, **values)


def test_the_fake_is_a_streaming_source() -> None:
    assert isinstance(FakeStreamingSource(), StreamingSource)


async def test_catch_up_poll_comes_first_then_streamed_changes_reach_the_wall() -> None:
    source = quiet()
    async with Harness(source) as wall:
        await source.push(Batch(posts=(post("1"),)))
        await source.push(Batch(posts=(post("1"),), deleted=("0",)))
        assert source.log == ["poll", "stream"]
        assert wall.batches[0] == Batch()  # the catch-up poll's batch
        assert [b.posts[0].id for b in wall.batches[1:]] == ["1", "1"] and wall.batches[2].deleted == ("0",)
        assert wall.statuses[-1].health is Health.OK
    assert source.log[-1] == "closed"  # stopping the poller closed the stream


async def test_heartbeat_is_no_change_but_keeps_a_quiet_stream_fresh() -> None:
    clock = SteppedClock(START)
    source = quiet(interval=300)
    async with Harness(source, clock=clock) as wall:
        await until(lambda: source.count("stream") == 1)
        started = clock.now
        published = len(wall.statuses)

        clock.advance(10)
        await source.push(Batch())
        assert len(wall.batches) == 1  # only the catch-up poll's: a heartbeat is not stored
        assert len(wall.statuses) == published  # alive, said 10 s ago already: nothing written

        clock.advance(3 * 300)  # three intervals without a poll: would be stale without heartbeats
        await source.push(Batch())
        assert len(wall.batches) == 1
        latest = wall.statuses[-1]
        assert latest.health is Health.OK and latest.last_success == started + timedelta(seconds=910)


async def test_stream_that_yields_nothing_means_polling_only_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wall.engine.poller")
    source = FakeStreamingSource(interval=15, streams=False)
    async with Harness(source) as wall:
        await until(lambda: source.count("poll") >= 5)
        assert source.count("stream") == 1
        assert len(wall.batches) >= 5 and 15 in wall.delays  # polled at its interval
    lines = [r.getMessage() for r in caplog.records if "streaming not available" in r.getMessage()]
    assert lines == ["live: streaming not available (no token); polling every 15 s"]


async def test_counts_keep_their_interval_while_the_stream_runs() -> None:
    source = FakeStreamingSource(interval=15)
    async with Harness(source) as wall:
        await until(lambda: source.count("poll") >= 4)
        await source.push(Batch(posts=(post("7"),)))
        assert source.log.count("stream") == 1 and "closed" not in source.log  # still connected
        assert wall.delays.count(15) >= 3


async def test_failed_stream_backs_off_catches_up_with_one_poll_and_reconnects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wall.engine.poller")
    source = quiet(interval=15)
    source.poll_results.extend([Batch(), Batch(posts=(post("missed"),))])
    async with Harness(source) as wall:
        await source.push(Batch(posts=(post("1"),)))
        await source.push(TransientError("connection lost reading http://stream.example/api"))
        await until(lambda: source.count("stream") == 2)
        assert source.log == ["poll", "stream", "closed", "poll", "stream"]
        failed = next(s for s in wall.statuses if s.health is not Health.OK)
        assert failed.health is Health.RETRYING and failed.last_error.startswith("connection lost")
        assert wall.delays[-1] == 15  # the backoff of a first failure: one interval
        assert [p.id for b in wall.batches for p in b.posts] == ["1", "missed"]
        assert wall.statuses[-1].health is Health.OK  # the catch-up poll worked

        # Fails again before yielding anything: the stream's streak goes on, the wait doubles.
        await source.push(TransientError("cannot reach http://stream.example/api"))
        await until(lambda: source.count("stream") == 3)
        assert wall.delays[-1] == 30
        await source.push(TransientError("cannot reach http://stream.example/api"))
        await until(lambda: source.count("stream") == 4)
        assert wall.delays[-1] == 60
        # A stream that worked again starts a new streak.
        await source.push(Batch())
        await source.push(TransientError("connection lost"))
        await until(lambda: source.count("stream") == 5)
        assert wall.delays[-1] == 15
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    repeats = [r.getMessage() for r in caplog.records if "still failing" in r.getMessage()]
    assert warnings == [
        "live: connection lost reading http://stream.example/api (retrying in 15 s)",
        "live: connection lost (retrying in 15 s)",
    ]
    assert repeats == [
        "live: still failing (2 in a row): cannot reach http://stream.example/api; reconnecting in 30 s",
        "live: still failing (3 in a row): cannot reach http://stream.example/api; reconnecting in 60 s",
    ]


async def test_stream_waits_for_a_successful_poll_before_reconnecting() -> None:
    source = FakeStreamingSource(interval=15)
    async with Harness(source) as wall:
        await until(lambda: source.count("stream") == 1)
        source.poll_default = TransientError("HTTP 503")
        await source.push(TransientError("connection lost"))
        await until(lambda: source.count("poll") >= 4)
        assert source.count("stream") == 1  # polls fail: no reconnect meanwhile
        source.poll_default = Batch()
        await until(lambda: source.count("stream") == 2)
        assert wall.statuses[-1].health is Health.OK


async def test_refused_stream_needs_attention_then_a_poll_clears_it() -> None:
    source = quiet(interval=15)
    async with Harness(source) as wall:
        await source.push(AuthError("access refused by http://stream.example (HTTP 401): check the token"))
        await until(lambda: source.count("stream") == 2)
        healths = [s.health for s in wall.statuses]
        assert Health.NEEDS_ATTENTION in healths and healths[-1] is Health.OK
        assert 60 in wall.delays  # permanent errors wait `permanent_retry`


async def test_heartbeats_do_not_hide_what_a_poll_said_needs_attention() -> None:
    clock = SteppedClock(START)
    source = FakeStreamingSource(interval=15)
    source.poll_results.append(Batch())
    source.poll_default = ConfigError("mastodon account 'ghost' not found: check `accounts`")
    policy = RetryPolicy(jitter=0, permanent_retry=HELD, first_poll_spread=0)
    async with Harness(source, clock=clock, policy=policy) as wall:
        await until(lambda: source.count("poll") == 2)
        assert wall.statuses[-1].health is Health.NEEDS_ATTENTION
        clock.advance(120)
        await source.push(Batch())
        assert wall.statuses[-1].health is Health.NEEDS_ATTENTION
        assert wall.statuses[-1].last_success == clock.now and "ghost" in wall.statuses[-1].last_error


async def test_store_failing_on_a_streamed_batch_is_a_failure_and_the_stream_restarts() -> None:
    source = quiet(interval=15)
    async with Harness(source) as wall:
        await until(lambda: source.count("stream") == 1)
        wall.sink_error = RuntimeError("database is locked")
        await source.push(Batch(posts=(post("2"),)), processed=False)
        await until(lambda: source.count("stream") == 2)
        assert source.log == ["poll", "stream", "closed", "poll", "stream"]
        failed = next(s for s in wall.statuses if s.health is not Health.OK)
        assert failed.last_error == "internal error: RuntimeError: database is locked"


async def test_stream_that_ends_after_yielding_reconnects_without_a_failure() -> None:
    source = quiet(interval=15)
    async with Harness(source) as wall:
        await source.push(Batch(posts=(post("3"),)))
        await source.push(END)
        await until(lambda: source.count("stream") == 2)
        assert source.log == ["poll", "stream", "closed", "poll", "stream"]
        assert all(s.health is Health.OK for s in wall.statuses)
        assert wall.delays[-1] == 15  # one interval before the catch-up poll


async def test_a_streaming_source_is_only_polled_when_streaming_is_off() -> None:
    source = FakeStreamingSource(interval=15)
    async with Harness(source, streaming=False):
        await until(lambda: source.count("poll") >= 3)
    assert source.count("stream") == 0
