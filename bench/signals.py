"""`python -m bench signals`: what the weak-signal detector costs per poll, beside a poll (issue 17).

A week of history (40 mentions an hour, a third of them English so VADER scores them, five watch
words) fills the detector; then each "poll" brings `BATCH` new posts: the detector's cost is
`observe` of the batch plus one `evaluate` (what the engine does on its store thread after a batch).
A poll's cost is the engine's own `poll_once` of a loopback RSS feed of `BATCH` new items (HTTP,
parsing, moderation, SQLite) with `[signals]` off. Both are medians (and p95) over `ROUNDS` polls;
the seed (the detector filled from the store at start) is timed once. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import make_config
from tests.support.screen import RecordingScreen
from wall.core.model import Author, Post
from wall.engine.engine import Engine
from wall.engine.moderation.rules import Verdict
from wall.engine.services import make_client, open_store
from wall.engine.signals.detector import Detector
from wall.engine.signals.settings import SignalsSettings

BATCH = 20
ROUNDS = 60
PER_HOUR = 40
WORDS = ["grève", "rappel", "boycott", "accident", "arnaque"]
TEXTS = [
    ("fr", "Super accueil au magasin de Lille ce matin, merci à l'équipe"),
    ("fr", "Livraison en retard encore une fois, service client injoignable"),
    ("en", "Great service at the Lyon workshop, quick and friendly"),
    ("en", "Terrible experience, waited two hours and nobody helped"),
    ("fr", "Nouvelle boutique ouverte près de la gare, bravo"),
    ("en", "Anyone else hearing about a product recall?"),
]


def post(number: int, at: datetime, rng: random.Random) -> Post:
    language, text = rng.choice(TEXTS)
    return Post(
        id=str(number),
        source="bench",
        network="mastodon",
        kind="mention",
        author=Author(f"Person {number % 97}", f"@p{number % 97}@social.example"),
        text=f"{text} #{number}",
        created_at=at,
        url=f"https://social.example/@p{number % 97}/{number}",
        language=language,
    )


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
    }


def detector_cost(now: datetime) -> tuple[dict[str, float], int, float]:
    """Per poll: observe `BATCH` posts and evaluate, over a week of history."""
    rng = random.Random(17)
    detector = Detector(SignalsSettings(watch_words=WORDS))
    shown = Verdict(True)
    number = 0
    started = time.perf_counter()
    for hour in range(7 * 24, 0, -1):
        for _ in range(PER_HOUR):
            number += 1
            at = now - timedelta(hours=hour, seconds=rng.uniform(0, 3599))
            detector.observe(post(number, at, rng), shown)
    seed_seconds = time.perf_counter() - started
    history = detector.observed_count()
    samples = []
    for round_ in range(ROUNDS):
        at = now + timedelta(seconds=15 * round_)
        batch = [post(number + i, at, rng) for i in range(1, BATCH + 1)]
        number += BATCH
        started = time.perf_counter()
        for item in batch:
            detector.observe(item, shown)
        detector.evaluate(at)
        samples.append(time.perf_counter() - started)
    return percentiles(samples), history, seed_seconds


class _Feed(BaseHTTPRequestHandler):
    """A feed whose every answer has `BATCH` new items."""

    served = 0

    def do_GET(self) -> None:
        start = _Feed.served
        _Feed.served += BATCH
        when = format_datetime(datetime.now(UTC))
        items = "".join(
            f'<item><guid isPermaLink="false">{n}</guid><title>Message {n}</title>'
            f"<pubDate>{when}</pubDate></item>"
            for n in range(start, start + BATCH)
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


async def poll_cost() -> dict[str, float]:
    """The engine's `poll_once` of a loopback feed with `BATCH` new items, `[signals]` off."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/feed"
    config, _ = make_config(f'[[sources]]\nname = "bench"\ntype = "rss"\nurl = "{url}"\n')
    store = open_store(config)
    samples = []
    try:
        async with make_client(config) as client:
            engine = Engine(config, store, RecordingScreen(), client)
            await engine.poller.poll_once(engine.sources[0])  # the first request warms the client
            for _ in range(ROUNDS):
                started = time.perf_counter()
                await engine.poller.poll_once(engine.sources[0])
                samples.append(time.perf_counter() - started)
            await engine.stop()
    finally:
        store.close()
        server.shutdown()
    return percentiles(samples)


def main() -> None:
    """Measure and print one JSON object."""
    detector, history, seed_seconds = detector_cost(datetime.now(UTC))
    poll = asyncio.run(poll_cost())
    print(
        json.dumps(
            {
                "history_posts": history,
                "batch_posts": BATCH,
                "rounds": ROUNDS,
                "detector_per_poll": detector,
                "poll": poll,
                "detector_share_of_poll": round(detector["median_ms"] / poll["median_ms"], 4),
                "seed_week_ms": round(seed_seconds * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
