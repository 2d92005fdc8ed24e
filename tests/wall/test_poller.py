"""The poller's recovery rules, over real HTTP with a stepped clock (no real waiting)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from sources.base import AuthError, HttpFetcher, RateLimited, TransientError
from sources.rss import RssSettings, RssSource
from wall.core.model import Batch, Health, SourceStatus
from wall.engine.poller import Poller, RetryPolicy

FEED = (Path(__file__).resolve().parents[1] / "fixtures" / "rss" / "rss2.xml").read_bytes()
NO_JITTER = RetryPolicy(jitter=0.0, max_backoff=600, permanent_retry=900)


class SteppedClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_backoff_doubles_is_capped_and_honours_retry_after() -> None:
    rng = random.Random(1)
    error = TransientError("down")
    delays = [NO_JITTER.after_failure(60, n, error, rng) for n in range(1, 7)]
    assert delays == [60, 120, 240, 480, 600, 600]
    assert NO_JITTER.after_failure(60, 1, RateLimited("slow", 300), rng) == 300
    assert NO_JITTER.after_failure(60, 1, AuthError("401"), rng) == 900
    jittered = {RetryPolicy().after_success(100, rng) for _ in range(50)}
    assert min(jittered) >= 90 and max(jittered) <= 110 and len(jittered) > 1


@pytest.mark.asyncio
async def test_failing_source_goes_stale_keeps_posts_and_recovers(httpserver: HTTPServer) -> None:
    clock = SteppedClock()
    received: list[Batch] = []
    statuses: list[SourceStatus] = []

    async def on_batch(source: object, batch: Batch) -> None:
        received.append(batch)

    async with httpx.AsyncClient() as client:
        source = RssSource(
            RssSettings(name="feed", type="rss", url=httpserver.url_for("/feed"), interval=60),
            HttpFetcher(client),
        )
        poller = Poller([source], on_batch, statuses.append, policy=NO_JITTER, clock=clock)

        httpserver.expect_oneshot_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
        delay = await poller.poll_once(source)
        assert statuses[-1].health is Health.OK and delay == 60 and received[-1].posts

        healths = []
        for _ in range(3):
            clock.advance(delay)
            httpserver.expect_oneshot_request("/feed").respond_with_data("boom", status=500)
            delay = await poller.poll_once(source)
            healths.append(statuses[-1].health)
        # three missed intervals: 60 s, then 120 s and 240 s of backoff after the last success
        assert healths == [Health.RETRYING, Health.RETRYING, Health.STALE]
        assert "HTTP 500" in statuses[-1].last_error and statuses[-1].consecutive_failures == 3
        assert len(received) == 1  # nothing replaced the last good posts

        clock.advance(delay)
        httpserver.expect_oneshot_request("/feed").respond_with_data(
            "x", status=429, headers={"Retry-After": "900"}
        )
        assert await poller.poll_once(source) == 900

        clock.advance(900)
        httpserver.expect_oneshot_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
        assert await poller.poll_once(source) == 60
        assert statuses[-1].health is Health.OK and statuses[-1].consecutive_failures == 0


@pytest.mark.asyncio
async def test_refused_connection_and_bad_token(httpserver: HTTPServer) -> None:
    clock = SteppedClock()
    statuses: list[SourceStatus] = []

    async def ignore(source: object, batch: Batch) -> None:
        return None

    async with httpx.AsyncClient() as client:
        dead = RssSource(
            RssSettings(name="dead", type="rss", url="http://127.0.0.1:9/feed", interval=60),
            HttpFetcher(client),
        )
        locked = RssSource(
            RssSettings(name="locked", type="rss", url=httpserver.url_for("/locked"), interval=60),
            HttpFetcher(client),
        )
        httpserver.expect_request("/locked").respond_with_data("no", status=401)
        poller = Poller([dead, locked], ignore, statuses.append, policy=NO_JITTER, clock=clock)
        await poller.poll_once(dead)
        dead_status = statuses[-1]
        assert dead_status.health is Health.RETRYING and "cannot reach" in dead_status.last_error
        assert await poller.poll_once(locked) == 900
        assert statuses[-1].health is Health.NEEDS_ATTENTION


@pytest.mark.asyncio
async def test_a_crashing_adapter_is_contained(httpserver: HTTPServer) -> None:
    statuses: list[SourceStatus] = []

    async def explode(source: object, batch: Batch) -> None:
        raise RuntimeError("bug in the sink")

    httpserver.expect_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
    async with httpx.AsyncClient() as client:
        source = RssSource(
            RssSettings(name="f", type="rss", url=httpserver.url_for("/feed")), HttpFetcher(client)
        )
        poller = Poller([source], explode, statuses.append, policy=NO_JITTER, clock=SteppedClock())
        await poller.poll_once(source)
    assert statuses[-1].health is Health.RETRYING
    assert "internal error: RuntimeError" in statuses[-1].last_error


@pytest.mark.asyncio
async def test_stale_state_survives_restart_via_initial_status(httpserver: HTTPServer) -> None:
    clock = SteppedClock()
    statuses: list[SourceStatus] = []

    async def ignore(source: object, batch: Batch) -> None:
        return None

    before = SourceStatus("f", "rss", Health.OK, last_success=clock.now - timedelta(hours=1))
    httpserver.expect_request("/feed").respond_with_data("down", status=503)
    async with httpx.AsyncClient() as client:
        source = RssSource(
            RssSettings(name="f", type="rss", url=httpserver.url_for("/feed"), interval=60),
            HttpFetcher(client),
        )
        poller = Poller([source], ignore, statuses.append, policy=NO_JITTER, clock=clock, initial=[before])
        await poller.poll_once(source)
    assert statuses[-1].health is Health.STALE  # an hour without success: at once stale


def test_a_nonsense_reset_time_cannot_stop_a_source_for_ever() -> None:
    error = RateLimited("429", 1_832_441_234_000.0)  # a reset time in milliseconds
    assert NO_JITTER.after_failure(60, 1, error, random.Random(0)) == RateLimited.MAX_WAIT
