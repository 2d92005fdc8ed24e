"""Quiet hours of content (issue 15; walls.io calls it "post shuffle"): pure, Qt-free.

When no new post has come for `replay_after`, a mentions panel with `replay = true` stops showing
the same cards for hours: each time it leaves the screen (or the rotator keeps it for another round)
it takes the next posts of its *replay pool* in turn. A new post ends the replay at once, and is
shown and featured as any new post is.

The pool (`Engine`, from the store) holds only what the screen may show today: approved or allowed
by the rules, not hidden, not by a blocked author, not awaiting approval, allowed by the source's
consent rules, and at most `replay_days` old. Internal posts are never replayed (an employee agreed
to be on screen when they posted, not again days later): the config refuses it.

"Best" (`best_first`), in this order:

1. posts with a picture (what people share and what reads from afar);
2. originals before replies (a reply out of its thread makes little sense on a wall);
3. newest first.

Engagement (likes, shares) would go between 2 and 3, but the sources do not give it today.
No post is replayed twice before every post of the pool has been (`ReplayTurns`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from wall.core.model import Post, PostKind, as_utc

REPLAY_KINDS: tuple[PostKind, ...] = ("mention",)  # never "internal": see the module's docstring
POOL_SIZE = 120  # posts handed to the screen for replaying: ten rounds of a 12-card panel


def best_first(posts: Iterable[Post]) -> list[Post]:
    """`posts` in replay order: pictures first, then originals before replies, then newest first."""
    return sorted(posts, key=lambda p: (not p.media, p.is_reply, -as_utc(p.created_at).timestamp(), p.key))


def newest_time(posts: Iterable[Post]) -> datetime | None:
    """When the newest of `posts` was written (None for no posts)."""
    return max((as_utc(p.created_at) for p in posts), default=None)


@dataclass(frozen=True, slots=True)
class ReplayCards:
    """What a panel shows: its posts, and whether a new post just ended a replay (it is then
    featured at once, as a new post is)."""

    posts: list[Post]
    new_post_ended_replay: bool = False


class ReplayTurns:
    """One panel's replay: the newest posts while posts come; past `after` of quiet, `count` posts of
    the pool at a time, in `best_first` order, none twice before all have played."""

    def __init__(self, after: timedelta, days: float) -> None:
        self.after = after
        self.days = days
        self._current: list[str] = []  # keys of the posts replayed now ([] when not replaying)
        self._played: set[str] = set()  # keys replayed (or on screen) since the round began
        self._newest: set[str] = set()  # keys of the newest posts when the replay started

    def replaying(self) -> bool:
        """True while the panel shows replayed posts instead of the newest."""
        return bool(self._current)

    def is_quiet(self, newest: Sequence[Post], now: datetime) -> bool:
        """True when the newest post is at least `after` old (no posts: nothing to replay)."""
        latest = newest_time(newest)
        return latest is not None and as_utc(now) - latest >= self.after

    def cards(self, newest: Sequence[Post], pool: Sequence[Post], count: int, now: datetime) -> ReplayCards:
        """The posts to show now: the replayed ones still allowed (a post hidden meanwhile leaves at
        once), or the newest `count` when not replaying. A post newer than the replay ends it."""
        if not self._current:
            return ReplayCards(list(newest[:count]))
        if not self.is_quiet(newest, now) or any(p.key not in self._newest for p in newest[:count]):
            self.stop()
            return ReplayCards(list(newest[:count]), new_post_ended_replay=True)
        allowed = {p.key: p for p in self._candidates(pool, now)}
        shown = [allowed[key] for key in self._current if key in allowed]
        return ReplayCards(shown or list(newest[:count]))

    def next_turn(self, newest: Sequence[Post], pool: Sequence[Post], count: int, now: datetime) -> None:
        """A turn boundary (the panel left the screen, or stays for another round): start or go on
        with the replay when quiet, stop it otherwise."""
        if not self.is_quiet(newest, now):
            self.stop()
            return
        candidates = self._candidates(pool, now)
        if not self._current:
            # The cards on screen had their time: the replay starts with other posts.
            self._newest = {p.key for p in newest[:count]}
            self._played = set(self._newest)
        chosen = [p.key for p in candidates if p.key not in self._played][:count]
        self._played.update(chosen)
        if len(chosen) < count:  # every post has played: a new round fills the cards left
            fillers = [p.key for p in candidates if p.key not in chosen][: count - len(chosen)]
            self._played = set(fillers)
            chosen += fillers
        self._current = chosen

    def stop(self) -> None:
        """Back to the newest posts; the next quiet hours start a new round."""
        self._current, self._played, self._newest = [], set(), set()

    def _candidates(self, pool: Sequence[Post], now: datetime) -> list[Post]:
        oldest = as_utc(now) - timedelta(days=self.days)
        return best_first(p for p in pool if as_utc(p.created_at) >= oldest)
