"""At start the wall judges its stored posts again with today's rules, a page at a time: a stop
(a restart by systemd, a config change) does not wait for a full store, and the next start
finishes the job."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.support.posts import make_post
from tests.support.screen import RecordingScreen
from wall.core.model import Author, Batch
from wall.engine.config import parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from wall.engine.store import Store

STORED = 5_000  # a store whose cap was raised (`max_posts_per_source` goes up to 100,000)
EMPTY_FEED = '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title></channel></rss>'


async def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def fill(store: Store) -> None:
    """STORED mentions kept before `rappel` was blocked; one in three says it."""
    start = datetime.now(UTC) - timedelta(hours=12)
    posts = [
        make_post(
            str(n),
            text=f"{'Rappel produit' if n % 3 == 0 else 'Bravo'} {n}",
            source="news",
            author=Author(f"Fan {n % 400}"),
            created_at=start + timedelta(seconds=5 * n),
        )
        for n in range(STORED)
    ]
    for first in range(0, STORED, 1000):
        store.apply("news", Batch(posts=tuple(posts[first : first + 1000])))


def test_pages_cover_every_post_once_oldest_first_even_when_dates_tie(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    same = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    posts = [
        make_post(f"{n:04d}", source="news", created_at=same + timedelta(minutes=n // 100))
        for n in range(450)
    ]
    store.apply("news", Batch(posts=tuple(reversed(posts))))
    pages = list(store.pages_of("news", size=200))
    assert [len(page) for page in pages] == [200, 200, 50]
    assert [p.id for page in pages for p in page] == [p.id for p in posts]
    assert [p.id for p in store.posts_of("news")] == [p.id for p in posts]
    store.close()


async def test_a_stop_while_a_full_store_is_judged_again_does_not_wait_for_all_of_it(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(EMPTY_FEED, content_type="application/rss+xml")
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state"), "max_posts_per_source": 100_000},
            "moderation": {"blocked_words": ["rappel"]},
            "sources": [{"name": "news", "type": "rss", "url": httpserver.url_for("/feed")}],
        },
        env={},
    )
    store, client = open_store(config), make_client(config)
    fill(store)

    def judged() -> int:
        return len(store.verdicts("news"))

    engine = Engine(config, store, RecordingScreen(), client)
    engine.start()
    await until(lambda: judged() > 0)
    await engine.stop()
    # The stop came after the first page or two: it did not wait for the other thousands.
    assert judged() < STORED / 2

    screen = RecordingScreen()
    engine = Engine(config, store, screen, client)  # the next start judges everything again
    engine.start()

    def rappel_gone() -> bool:
        shown = [p.text for p in screen.posts["mention"]]
        return bool(shown) and not [text for text in shown if "Rappel" in text]

    await until(lambda: judged() == STORED and rappel_gone())
    await engine.stop()
    await client.aclose()
    store.close()
