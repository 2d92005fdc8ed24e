"""One supervised asyncio task per source: interval with jitter, capped backoff, rate limits.

Recovery rules (written down so facilities can predict the wall):
- success: next poll after `interval` ± 10 % jitter; the failure streak resets;
- transient error (network, 5xx, malformed or oversized answer): wait interval × 2^(failures-1),
  capped at `max_backoff`, with jitter;
- rate limited (429, Retry-After, quota): wait what the server asked, never less than the backoff;
- permanent error (401/403, 404, bad parameter): "needs attention", retried every 15 min so a fixed
  token or server is picked up without a restart;
- a source with no success for `stale_after` intervals is marked stale; its last posts stay on screen.
The first failure of a streak is logged in full; repeats are one line each; recovery is logged once.

Streaming sources (`StreamingSource.stream()`: Mastodon server-sent events, Matrix long-poll):
- the poll loop above runs for them too. Its first poll is the catch-up (backfill), and it goes on
  polling at `interval` while the stream runs, because counts (followers) are only ever polled: a
  source skips in `poll()` what its live stream already delivers (Mastodon skips the timelines);
- after a successful poll a second task opens the stream and hands every batch to `on_batch`
  exactly like a poll result (new and edited posts, deletions). Each batch marks the source OK; an
  empty batch is a heartbeat: never handed to `on_batch`, it only proves the connection alive
  (published at most every `HEARTBEAT_PUBLISH_SECONDS`, so a quiet stream does not write the
  status database every 15 s). A streamed batch never clears "needs attention": only a poll does;
- a stream that ends without yielding anything means streaming is unavailable (no token, a
  server without a streaming endpoint): logged once, the source is then only polled;
- a stream that fails (SourceError, a lost connection, a bug, or `on_batch` failing) is recorded
  like a failed poll (same health rules and logging) and waits the same backoff, counted over the
  stream's own failures in a row (the polls in between succeed); then one poll catches up what
  the stream missed and the stream reconnects (while polls fail, it waits for one to succeed).
  A stream that ends after yielding is reconnected the same way, after `interval`, without
  counting a failure.

Every batch, polled or streamed, goes through `admit` before `on_batch`: one place for what any
source may send and the store cannot keep (a date in the future, a count beyond SQLite's integers,
a lone surrogate that UTF-8 cannot encode), whichever adapter it came from.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sources.contract import PermanentError, RateLimited, Source, SourceError, StreamingSource
from wall.core.model import Author, Batch, Health, Media, Post, SourceStatus, as_utc, utcnow
from wall.core.secrets import mask
from wall.core.tasks import cancel_until_done as cancel_until_done  # re-exported: where it was

log = logging.getLogger("wall.engine.poller")

BatchSink = Callable[[Source, Batch], Awaitable[None]]
StatusSink = Callable[[SourceStatus], None]
Sleep = Callable[[float], Awaitable[None]]

HEARTBEAT_PUBLISH_SECONDS = 60.0  # a heartbeat refreshes the published status at most this often
# A post dated later than now + this is dated now: a server clock a little ahead keeps its order, a
# status dated 2099 does not stay first on the wall as "just now" for ever (issue 12).
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_COUNT = 2**63 - 1  # SQLite's largest integer: a larger count is nonsense, kept as unknown
# Posts admitted between two yields to the event loop, which is the GUI thread's: a flood's poll of
# 1,250 posts took 13 ms in one go there, a dropped frame (issue 14, bench stall); 100 take about 1 ms.
ADMIT_CHUNK = 100


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before the next poll."""

    jitter: float = 0.1
    max_backoff: float = 1800.0
    permanent_retry: float = 900.0
    first_poll_spread: float = 2.0  # sources start within this many seconds, not all at once

    def after_success(self, interval: float, rng: random.Random) -> float:
        """Delay after a good poll."""
        return interval * (1 + rng.uniform(-self.jitter, self.jitter))

    def after_failure(self, interval: float, failures: int, error: Exception, rng: random.Random) -> float:
        """Delay after the `failures`-th failure in a row."""
        if isinstance(error, PermanentError):
            return self.permanent_retry
        backoff: float = min(self.max_backoff, interval * 2.0 ** max(0, failures - 1))
        backoff *= 1 + rng.uniform(-self.jitter, self.jitter)
        if isinstance(error, RateLimited):
            return max(backoff, error.retry_after)
        return backoff


@dataclass(frozen=True, slots=True)
class _StreamEnd:
    """How one run of a source's stream ended."""

    yielded: bool
    error: SourceError | None = None
    cause: BaseException | None = None


class Poller:
    """Runs every source under supervision and reports batches and statuses."""

    def __init__(
        self,
        sources: Sequence[Source],
        on_batch: BatchSink,
        on_status: StatusSink,
        *,
        policy: RetryPolicy | None = None,
        stale_after: int = 3,
        poll_timeout: float = 120.0,
        clock: Callable[[], datetime] = utcnow,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        initial: Sequence[SourceStatus] = (),
        streaming: bool = True,
    ) -> None:
        self.sources = list(sources)
        self.on_batch = on_batch
        self.on_status = on_status
        self.policy = policy or RetryPolicy()
        self.stale_after = stale_after
        self.poll_timeout = poll_timeout
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.streaming = streaming
        known = {s.source: s for s in initial}
        self._status: dict[str, SourceStatus] = {}
        for source in self.sources:
            name = source.settings.name
            previous = known.get(name)
            self._status[name] = SourceStatus(
                source=name,
                network=source.network,
                health=Health.STARTING,
                last_success=previous.last_success if previous else None,
                interval=source.settings.interval,
            )
        self._tasks: list[asyncio.Task[None]] = []
        self._poll_locks: dict[str, asyncio.Lock] = {}  # a catch-up poll never overlaps a periodic one
        self._stopping = False  # set by `stop`: the tasks end at their next turn
        self._polled: dict[str, asyncio.Event] = {}  # set by a successful poll: the stream may (re)connect

    def statuses(self) -> list[SourceStatus]:
        """Current health of every source."""
        return list(self._status.values())

    def running(self) -> bool:
        """True between `start()` and `stop()`."""
        return bool(self._tasks)

    def start(self) -> None:
        """Start one task per source on the running loop."""
        self._stopping = False
        for source in self.sources:
            task = asyncio.create_task(self._supervise(source), name=f"poll:{source.settings.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        """Cancel every task (streams included: their connections close) and wait for them to end.

        One cancel is not always enough: on Python 3.11 `asyncio.wait_for` swallows a cancel that
        comes between the end of the poll it awaits and its return (fixed in 3.12), and the task
        would poll on for ever. So the tasks also stop at their next turn, and are cancelled again
        every second until they end."""
        self._stopping = True
        await cancel_until_done(self._tasks)
        self._tasks.clear()

    async def _supervise(self, source: Source) -> None:
        first_delay = self.rng.uniform(0, self.policy.first_poll_spread)
        await self.sleep(first_delay)
        streamer: asyncio.Task[None] | None = None
        if self.streaming and isinstance(source, StreamingSource):
            streamer = asyncio.create_task(
                self._supervise_stream(source), name=f"stream:{source.settings.name}"
            )
        try:
            while not self._stopping:
                try:
                    delay = await self.poll_once(source)
                except asyncio.CancelledError:
                    raise
                except Exception:  # supervision point: a bug here must not end this source's polling
                    log.exception(
                        "%s: poller error; next try in %.0f s", source.settings.name, self.policy.max_backoff
                    )
                    delay = self.policy.max_backoff
                if self._stopping:  # a cancel was lost (see `stop`)
                    break
                await self.sleep(delay)
        finally:
            if streamer is not None:
                await cancel_until_done([streamer])

    async def poll_once(self, source: Source) -> float:
        """Poll `source` once, report the outcome, and return the delay before the next poll."""
        name = source.settings.name
        async with self._poll_locks.setdefault(name, asyncio.Lock()):
            delay, ok = await self._poll(source)
        if ok:
            self._polled_event(name).set()
        return delay

    async def _poll(self, source: Source) -> tuple[float, bool]:
        name = source.settings.name
        interval = source.settings.interval
        try:
            batch = await asyncio.wait_for(source.poll(), timeout=self.poll_timeout)
            await self.on_batch(source, await admit_in_turns(batch, self.clock()))
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            # Expected of a slow or trickling server: the line says it, a traceback would only alarm.
            error = SourceError(f"no answer within {self.poll_timeout:.0f} s")
            return self._failed(source, self._status[name], error, None), False
        except SourceError as exc:
            return self._failed(source, self._status[name], exc, None), False
        except Exception as exc:  # supervision point: a bug in one adapter must not stop the wall
            error = SourceError(f"internal error: {type(exc).__name__}: {exc}")
            return self._failed(source, self._status[name], error, exc), False
        now = self.clock()
        status = self._status[name]  # a stream may have published meanwhile
        if status.consecutive_failures:
            log.info("%s: recovered after %d failures", name, status.consecutive_failures)
        # A source near its API's usage limit (Facebook's X-App-Usage) asks for an extra wait.
        delay = self.policy.after_success(interval, self.rng) + source.slow_down
        self._publish(
            replace(
                status,
                health=Health.OK,
                last_success=now,
                consecutive_failures=0,
                next_poll=now + timedelta(seconds=delay),
            )
        )
        return delay, True

    def _polled_event(self, name: str) -> asyncio.Event:
        return self._polled.setdefault(name, asyncio.Event())

    # -- streaming ----------------------------------------------------------------------------------

    async def _supervise_stream(self, source: StreamingSource) -> None:
        """Keep `source.stream()` connected; see the module docstring for the rules."""
        try:
            await self._keep_streaming(source)
        except asyncio.CancelledError:
            raise
        except Exception:  # supervision point: a bug here leaves the source polled, never stopped
            log.exception("%s: stream supervision failed; polling only from now on", source.settings.name)

    async def _keep_streaming(self, source: StreamingSource) -> None:
        name = source.settings.name
        polled = self._polled_event(name)
        streak = 0  # the stream's own failures in a row (polls succeed in between)
        while not self._stopping:
            await polled.wait()  # the catch-up poll is done (and a source that cannot poll does not stream)
            try:
                end = await self._stream_once(source)
            except asyncio.CancelledError:
                raise
            if end.error is None and not end.yielded:
                reason = source.stream_unavailable or "the stream ended at once"
                log.info(
                    "%s: streaming not available (%s); polling every %.0f s",
                    name,
                    reason,
                    source.settings.interval,
                )
                return
            if end.error is None:
                streak = 0
                delay = self.policy.after_success(source.settings.interval, self.rng)
                log.info("%s: stream ended; reconnecting in %.0f s after a catch-up poll", name, delay)
            else:
                streak = 1 if end.yielded else streak + 1
                delay = self._failed(source, self._status[name], end.error, end.cause, streak=streak)
            polled.clear()
            await self.sleep(delay)
            await self.poll_once(source)  # catch up what the stream missed, then reconnect

    async def _stream_once(self, source: StreamingSource) -> _StreamEnd:
        """Run the stream until it ends; every batch goes to `on_batch` like a poll's."""
        yielded = False
        batches: AsyncGenerator[Batch, None] | None = None
        try:
            batches = source.stream()
            async for batch in batches:
                yielded = True
                await self._streamed(source, batch)
        except asyncio.CancelledError:
            raise
        except SourceError as exc:
            return _StreamEnd(yielded, exc)
        except Exception as exc:  # supervision point: an adapter or sink bug must not stop the wall
            return _StreamEnd(yielded, SourceError(f"internal error: {type(exc).__name__}: {exc}"), exc)
        finally:
            await _close(batches, source.settings.name)
        return _StreamEnd(yielded)

    async def _streamed(self, source: StreamingSource, batch: Batch) -> None:
        name = source.settings.name
        if batch:
            await self.on_batch(source, await admit_in_turns(batch, self.clock()))
        now = self.clock()
        status = self._status[name]
        if not batch and status.health is Health.OK and status.last_success is not None:
            published_ago = (now - status.last_success).total_seconds()
            if published_ago < min(HEARTBEAT_PUBLISH_SECONDS, source.settings.interval / 2):
                return  # a heartbeat: alive, and said so recently enough
        if status.health is Health.NEEDS_ATTENTION:
            self._publish(replace(status, last_success=now))  # a person must still fix what a poll said
            return
        if status.consecutive_failures:
            log.info("%s: recovered after %d failures", name, status.consecutive_failures)
        self._publish(replace(status, health=Health.OK, last_success=now, consecutive_failures=0))

    # -- outcome ------------------------------------------------------------------------------------

    def _failed(
        self,
        source: Source,
        status: SourceStatus,
        error: SourceError,
        cause: BaseException | None,
        *,
        streak: int | None = None,
    ) -> float:
        """Record a failure; `streak` counts a stream's failures in a row for the backoff and the log."""
        name = source.settings.name
        interval = source.settings.interval
        failures = status.consecutive_failures + 1
        in_a_row = failures if streak is None else streak
        now = self.clock()
        delay = self.policy.after_failure(interval, in_a_row, error, self.rng)
        if in_a_row == 1:
            log.warning("%s: %s (retrying in %.0f s)", name, error, delay, exc_info=cause)
        else:
            step = "next try" if streak is None else "reconnecting"
            log.info("%s: still failing (%d in a row): %s; %s in %.0f s", name, in_a_row, error, step, delay)
        if isinstance(error, PermanentError):
            health = Health.NEEDS_ATTENTION
        elif self._is_stale(status, failures, interval, now):
            health = Health.STALE
        else:
            health = Health.RETRYING
        self._publish(
            replace(
                status,
                health=health,
                last_error=mask(str(error)),  # an error body may echo a key: see wall.core.secrets
                last_error_at=now,
                consecutive_failures=failures,
                next_poll=now + timedelta(seconds=delay),
            )
        )
        return delay

    def _is_stale(self, status: SourceStatus, failures: int, interval: float, now: datetime) -> bool:
        if status.last_success is None:
            return failures >= self.stale_after
        return (now - status.last_success).total_seconds() >= self.stale_after * interval

    def _publish(self, status: SourceStatus) -> None:
        self._status[status.source] = status
        self.on_status(status)


async def _close(batches: AsyncGenerator[Batch, None] | None, name: str) -> None:
    """Close a stream's generator, so its connection closes now, even when the poller is stopping."""
    if batches is None:
        return
    try:
        await batches.aclose()
    except Exception:  # the stream is over either way
        log.debug("%s: error while closing the stream", name, exc_info=True)


def admit(batch: Batch, now: datetime) -> Batch:
    """`batch` as the store can keep it: dates later than `now` + MAX_CLOCK_SKEW brought back to
    `now`, counts beyond SQLite's integers unknown, lone surrogates replaced (UTF-8 cannot store them)."""
    latest = as_utc(now) + MAX_CLOCK_SKEW
    posts = tuple(_admit_post(post, as_utc(now), latest) for post in batch.posts)
    counts = tuple(
        replace(
            c,
            account=_utf8(c.account),
            label=_utf8(c.label),
            value=None if c.value is not None and not 0 <= c.value <= MAX_COUNT else c.value,
        )
        for c in batch.counts
    )
    return replace(batch, posts=posts, deleted=tuple(map(_utf8, batch.deleted)), counts=counts)


async def admit_in_turns(batch: Batch, now: datetime) -> Batch:
    """`admit(batch, now)`, ADMIT_CHUNK posts per event-loop turn, so a big batch lets frames through."""
    if len(batch.posts) <= ADMIT_CHUNK:
        return admit(batch, now)
    posts: list[Post] = []
    for start in range(0, len(batch.posts), ADMIT_CHUNK):
        posts += admit(Batch(posts=batch.posts[start : start + ADMIT_CHUNK]), now).posts
        await asyncio.sleep(0)
    return replace(admit(replace(batch, posts=()), now), posts=tuple(posts))


def _admit_post(post: Post, now: datetime, latest: datetime) -> Post:
    created_at = now if as_utc(post.created_at) > latest else post.created_at
    edited_at = post.edited_at
    if edited_at is not None and as_utc(edited_at) > latest:
        edited_at = now
    return replace(
        post,
        id=_utf8(post.id),
        author=_author(post.author),
        text=_utf8(post.text),
        created_at=created_at,
        url=_utf8(post.url),
        media=tuple(
            Media(_utf8(m.url), _utf8(m.alt), _utf8(m.kind), _utf8(m.preview_url)) for m in post.media
        ),
        spoiler_text=_utf8(post.spoiler_text),
        language=None if post.language is None else _utf8(post.language),
        edited_at=edited_at,
        boosted_by=None if post.boosted_by is None else _author(post.boosted_by),
        tags=tuple(map(_utf8, post.tags)),
    )


def _author(author: Author) -> Author:
    return Author(_utf8(author.name), _utf8(author.handle), _utf8(author.avatar_url))


def _utf8(text: str) -> str:
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")
