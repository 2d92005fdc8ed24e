"""Synthetic weeks of posts for the weak-signal tests: a quiet daily rhythm, a spike, a slow rise,
a burst of hidden posts; deterministic (seeded), so a failure names the same hour every run."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from wall.core.model import Author, Post, PostKind
from wall.engine.moderation.rules import Verdict

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday, 00:00 UTC
DAYS = 7
SHOWN = Verdict(True)
HIDDEN = Verdict(False, "blocked word: arnaque")

Judged = tuple[Post, Verdict | None]


def office_rate(hour: int) -> float:
    """Mentions expected in one hour of the day: a few at night, more in office hours."""
    return 2.0 + 6.0 * max(0.0, math.sin(math.pi * (hour - 7) / 13)) if 7 <= hour <= 20 else 1.0


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: small means only)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def post(
    number: int, at: datetime, text: str = "", *, kind: PostKind = "mention", language: str = "fr"
) -> Post:
    """One mention at `at`."""
    return Post(
        id=str(number),
        source="feed",
        network="mastodon",
        kind=kind,
        author=Author(f"Personne {number % 37}", f"@p{number % 37}@social.example"),
        text=text or f"Message numéro {number} sur la Maison Lumière",
        created_at=at,
        url=f"https://social.example/@p{number % 37}/{number}",
        language=language,
    )


def week(
    rate: Callable[[int, int], float],
    *,
    seed: int = 17,
    extra: Callable[[int, int], list[Judged]] | None = None,
    start: datetime = START,
) -> list[Judged]:
    """A week of mentions: `rate(day, hour)` posts expected per hour, spread over the hour, each shown;
    `extra(day, hour)` adds posts of its own (a spike, hidden posts)."""
    rng = random.Random(seed)
    posts: list[Judged] = []
    number = 0
    for day in range(DAYS):
        for hour in range(24):
            begin = start + timedelta(days=day, hours=hour)
            for _ in range(poisson(rng, rate(day, hour))):
                number += 1
                at = begin + timedelta(seconds=rng.uniform(0, 3599))
                posts.append((post(number, at), SHOWN))
            for extra_post in extra(day, hour) if extra else []:
                posts.append(extra_post)
    return posts


def burst(
    day: int, hour: int, count: int, text: str, verdict: Verdict, first: int, start: datetime = START
) -> list[Judged]:
    """`count` posts with `text` spread over the first 40 minutes of `hour` on `day`."""
    begin = start + timedelta(days=day, hours=hour)
    return [
        (post(first + i, begin + timedelta(seconds=30 + i * 2400 / count), f"{text} ({i})"), verdict)
        for i in range(count)
    ]
