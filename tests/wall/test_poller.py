"""The poller's recovery rules, over real HTTP with a stepped clock (no real waiting)."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.base import AuthError, HttpFetcher, RateLimited, Source, TransientError
from sources.mastodon import MastodonSettings, MastodonSource
from sources.rss import RssSettings, RssSource
from tests.support.clock import SteppedClock
from wall.core.model import Batch, Health, SourceStatus
from wall.engine.poller import ADMIT_CHUNK, Poller, RetryPolicy
from wall.engine.services import purge
from wall.engine.store import Store

FEED = (Path(__file__).resolve().parents[1] / "fixtures" / "rss" / "rss2.xml").read_bytes()
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # when each test's stepped clock starts
NO_JITTER = RetryPolicy(jitter=0.0, max_backoff=600, permanent_retry=900)


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
    clock = SteppedClock(START)
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
    clock = SteppedClock(START)
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
        poller = Poller([source], explode, statuses.append, policy=NO_JITTER, clock=SteppedClock(START))
        await poller.poll_once(source)
    assert statuses[-1].health is Health.RETRYING
    assert "internal error: RuntimeError" in statuses[-1].last_error


@pytest.mark.asyncio
async def test_stale_state_survives_restart_via_initial_status(httpserver: HTTPServer) -> None:
    clock = SteppedClock(START)
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
    assert NO_JITTER.after_failure(60, 1, error, random.Random(0)) == RateLimited.MAX_WAIT_SECONDS


def status(status_id: str, created_at: str) -> dict[str, object]:
    """A public Mastodon status as the API documents it."""
    return {
        "id": status_id,
        "created_at": created_at,
        "visibility": "public",
        "content": f"<p>Post {status_id} #brand</p>",
        "url": f"https://m.example/@lea/{status_id}",
        "account": {"id": "1", "username": "lea", "acct": "lea", "display_name": "Léa"},
        "media_attachments": [],
        "tags": [{"name": "brand"}],
    }


async def test_a_status_dated_2099_does_not_stay_first_as_just_now(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    clock = SteppedClock(START)
    pages = {"": [status("2", "2099-01-01T00:00:00.000Z")]}
    httpserver.expect_request("/api/v1/timelines/tag/brand").respond_with_handler(
        lambda request: Response(
            json.dumps(pages[request.args.get("min_id", "")]), content_type="application/json"
        )
    )
    store = Store(tmp_path / "wall.sqlite3")

    async def on_batch(source: Source, batch: Batch) -> None:
        store.apply(source.settings.name, batch, now=clock())

    async with httpx.AsyncClient() as client:
        settings = MastodonSettings(
            name="m",
            type="mastodon",
            base_url=httpserver.url_for("").rstrip("/"),
            hashtags=["brand"],
            stream=False,
        )
        source = MastodonSource(settings, HttpFetcher(client), clock=clock)
        poller = Poller([source], on_batch, lambda status: None, clock=clock, policy=NO_JITTER)
        await poller.poll_once(source)
        first_seen = clock()
        clock.advance(3600)
        pages["2"] = [status("3", clock().isoformat())]
        await poller.poll_once(source)
    shown = store.recent_posts("mention")
    assert [post.id for post in shown] == ["3", "2"]  # the newer post is on top
    assert shown[1].created_at == first_seen  # "1 h ago", not 2099
    store.close()


async def test_an_undated_item_seen_while_the_clock_was_ahead_is_dated_back_when_it_is_right(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    clock = SteppedClock(START)
    right = clock()
    clock.now = right + timedelta(days=365)  # the kiosk booted with a wrong clock
    feed = {"items": "<item><guid isPermaLink='false'>undated</guid><title>Sans date</title></item>"}
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(
            f'<rss version="2.0"><channel><title>F</title>{feed["items"]}</channel></rss>',
            content_type="application/rss+xml",
        )
    )
    store = Store(tmp_path / "wall.sqlite3")

    async def on_batch(source: Source, batch: Batch) -> None:
        store.apply(source.settings.name, batch, now=clock())

    async with httpx.AsyncClient() as client:
        settings = RssSettings(name="feed", type="rss", url=httpserver.url_for("/feed"))
        source = RssSource(settings, HttpFetcher(client, conditional=False), clock=clock)
        poller = Poller([source], on_batch, lambda status: None, clock=clock, policy=NO_JITTER)
        await poller.poll_once(source)
        assert store.recent_posts("mention")[0].created_at == clock()  # a year ahead: nothing said otherwise

        clock.now = right  # NTP fixed the clock; the wall starts (or its hourly purge runs)
        purged = purge(store, {}, clock())
        assert purged.kinds == {"mention"}
        assert store.recent_posts("mention")[0].created_at == right

        clock.advance(1800)
        dated = f"<pubDate>{format_datetime(clock() - timedelta(minutes=5), usegmt=True)}</pubDate>"
        feed["items"] += f"<item><guid isPermaLink='false'>news</guid><title>Nouveau</title>{dated}</item>"
        await poller.poll_once(source)
    assert [post.id for post in store.recent_posts("mention")] == ["news", "undated"]
    store.close()


async def test_a_poll_of_a_thousand_posts_hands_the_loop_back_while_they_are_admitted(
    httpserver: HTTPServer,
) -> None:
    """The loop is the GUI thread's: a flood's poll admitted in one go held it 13 ms, a dropped frame
    (issue 14, bench stall). Every post is still admitted, in order."""
    clock = SteppedClock(START)
    newest = 1000
    ids = [str(n) for n in range(newest, 0, -1)]

    def page(request: Request) -> Response:
        after = int(request.args.get("min_id", "0"))
        future = "2099-01-01T00:00:00.000Z"
        chunk = [status(str(n), future) for n in range(min(after + 40, newest), after, -1)]
        return Response(json.dumps(chunk), content_type="application/json")

    httpserver.expect_request("/api/v1/timelines/tag/brand").respond_with_handler(page)
    turns = [0]
    returned_at: list[int] = []
    received: list[tuple[int, Batch]] = []

    class Timed(MastodonSource):
        async def poll(self) -> Batch:
            batch = await super().poll()
            returned_at.append(turns[0])
            return batch

    async def on_batch(source: Source, batch: Batch) -> None:
        received.append((turns[0], batch))

    async def other_work() -> None:  # stands for the frames the GUI thread paints meanwhile
        while True:
            turns[0] += 1
            await asyncio.sleep(0)

    async with httpx.AsyncClient() as client:
        settings = MastodonSettings(
            name="m", type="mastodon", base_url=httpserver.url_for("").rstrip("/"), hashtags=["brand"]
        )
        source = Timed(settings.model_copy(update={"stream": False, "max_pages": 30}), HttpFetcher(client))
        source.restore({"cursors": {"brand": "0"}})
        poller = Poller([source], on_batch, lambda status: None, clock=clock, policy=NO_JITTER)
        beside = asyncio.create_task(other_work())
        await poller.poll_once(source)
        beside.cancel()
    (turn, batch) = received[0]
    assert [post.id for post in batch.posts] == ids
    assert {post.created_at for post in batch.posts} == {clock()}  # dated 2099: every chunk admitted
    assert turn - returned_at[0] >= len(ids) // ADMIT_CHUNK - 1  # other work ran between the chunks


async def test_stop_ends_the_polling_even_when_the_cancel_came_as_a_poll_ended(
    httpserver: HTTPServer,
) -> None:
    """A collector's stop hung for ever in the fleet's tests, its poller polling on: on Python 3.11,
    `asyncio.wait_for` swallows a cancel that comes between the end of the awaited poll and the
    poller's return to it (fixed in 3.12), so a single cancel may not stop a source's task."""
    httpserver.expect_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
    stops: list[asyncio.Future[None]] = []

    class StoppedAsItEnds(RssSource):
        async def poll(self) -> Batch:
            batch = await super().poll()
            if not stops:  # the stop starts in the very turn this poll ends
                loop = asyncio.get_running_loop()
                loop.call_soon(lambda: stops.append(asyncio.ensure_future(poller.stop())))
            return batch

    async def ignore(_source: object, _batch: Batch) -> None:
        return None

    async with httpx.AsyncClient() as client:
        settings = RssSettings(name="f", type="rss", url=httpserver.url_for("/feed"), interval=60)
        poller = Poller(
            [StoppedAsItEnds(settings, HttpFetcher(client))],
            ignore,
            lambda status: None,
            policy=RetryPolicy(jitter=0.0, first_poll_spread=0.0),
        )
        poller.start()
        while not stops:
            await asyncio.sleep(0.05)
        await asyncio.wait_for(stops[0], 10)
    assert not poller.running()
