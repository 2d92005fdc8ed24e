"""Built-in demo content: French and English posts, pictures (a carousel, video posters, a portrait
photo) and fan counts that tick up.

No network. The first poll returns a screenful of posts spread over the last hours; each later poll
adds one post (cycling through `assets/demo/posts.json` with fresh ids) and grows every counter.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from sources.base import HttpFetcher, SourceBase, SourceSettings
from wall.core.model import Author, Batch, Count, Media, Post, utcnow
from wall.core.paths import ASSET_SCHEME, ASSETS_DIR
from wall.core.text import clean_text

HISTORY_DAYS = 7
INITIAL_POSTS = 15


class DemoSettings(SourceSettings):
    """`type = "demo"`: the built-in content; `interval` may be short to keep the wall lively."""

    type: Literal["demo"] = "demo"
    interval: float = Field(20, ge=1, le=86400, description="Seconds between new demo posts")
    seed: int = Field(0, description="Random seed for the counters' growth")


class DemoSource(SourceBase):
    """Plays the demo script; satisfies the Source protocol."""

    network: ClassVar[str] = "demo"

    def __init__(
        self,
        settings: DemoSettings,
        http: HttpFetcher | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        script = json.loads((ASSETS_DIR / "demo" / "posts.json").read_text(encoding="utf-8"))
        self._posts: list[dict[str, Any]] = script["posts"]
        self._accounts: list[dict[str, Any]] = script["accounts"]
        self._values = {a["account"]: int(a["value"]) for a in self._accounts}
        self._next = 0
        self._random = random.Random(settings.seed)

    async def poll(self) -> Batch:
        """One more step of the script."""
        now = self.clock()
        if self._next == 0:
            posts = [
                self._post(i, now - timedelta(minutes=7 + 23 * (INITIAL_POSTS - 1 - i)))
                for i in range(INITIAL_POSTS)
            ]
            self._next = INITIAL_POSTS
        else:
            posts = [self._post(self._next, now)]
            self._next += 1
            for account in self._accounts:
                self._values[account["account"]] += self._random.randint(0, int(account["growth"]))
        counts = [self._count(a, self._values[a["account"]], now) for a in self._accounts]
        if self._next == INITIAL_POSTS:  # first poll: a week of history, for the trends and lines
            counts[:0] = self._past_week(now)
        return Batch(posts=tuple(posts), counts=tuple(counts))

    def _count(self, account: dict[str, Any], value: int, when: datetime) -> Count:
        return Count(
            source=self.settings.name,
            network=account["network"],
            account=account["account"],
            value=value,
            observed_at=when,
            label=account["label"],
            metric=account["metric"],
        )

    def _past_week(self, now: datetime) -> list[Count]:
        """Each counter a day ago, two days ago... back to a week, growing about 30 polls a day."""
        counts: list[Count] = []
        for account in self._accounts:
            value = self._values[account["account"]]
            for days in range(1, HISTORY_DAYS + 1):
                value -= round(int(account["growth"]) * 30 * self._random.uniform(0.6, 1.4))
                counts.append(self._count(account, value, now - timedelta(days=days)))
        return sorted(counts, key=lambda c: c.observed_at)

    def _post(self, number: int, when: datetime) -> Post:
        item = self._posts[number % len(self._posts)]
        media = tuple(_media(entry) for entry in item.get("media", ()))
        if item.get("image"):
            media = (Media(f"{ASSET_SCHEME}demo/images/{item['image']}", item.get("alt", "")), *media)
        avatar = f"{ASSET_SCHEME}demo/images/{item['avatar']}" if item.get("avatar") else ""
        return Post(
            id=f"demo-{number}",
            source=self.settings.name,
            network=item["network"],
            kind=item["kind"],
            author=Author(item["author"], item.get("handle", ""), avatar),
            text=clean_text(item["text"]),
            created_at=when,
            media=media,
            language="en" if item["text"].isascii() else "fr",
        )

    def state(self) -> dict[str, Any]:
        """Where the script is, and the counters' values."""
        return {"next": self._next, "values": dict(self._values)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume the script after a restart."""
        self._next = int(state.get("next", 0))
        for account, value in dict(state.get("values", {})).items():
            if account in self._values:
                self._values[account] = int(value)


def _media(entry: Mapping[str, str]) -> Media:
    """One picture of a demo post (`file`, `alt`, `kind`); a video is its poster alone, as the feed
    adapters build one (the demo plays nothing)."""
    url = f"{ASSET_SCHEME}demo/images/{entry['file']}"
    kind = entry.get("kind", "image")
    return Media(url, entry.get("alt", ""), kind, url if kind != "image" else "")
