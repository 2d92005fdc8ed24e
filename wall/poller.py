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
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sources.base import PermanentError, RateLimited, Source, SourceError
from wall.model import Batch, Health, SourceStatus, utcnow

log = logging.getLogger("wall.poller")

BatchSink = Callable[[Source, Batch], Awaitable[None]]
StatusSink = Callable[[SourceStatus], None]
Sleep = Callable[[float], Awaitable[None]]


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

    def statuses(self) -> list[SourceStatus]:
        """Current health of every source."""
        return list(self._status.values())

    def start(self) -> None:
        """Start one task per source on the running loop."""
        for source in self.sources:
            task = asyncio.create_task(self._supervise(source), name=f"poll:{source.settings.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        """Cancel every task and wait for them to end."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _supervise(self, source: Source) -> None:
        first_delay = self.rng.uniform(0, self.policy.first_poll_spread)
        await self.sleep(first_delay)
        while True:
            try:
                delay = await self.poll_once(source)
            except asyncio.CancelledError:
                raise
            except Exception:  # supervision point: a bug here must not end this source's polling
                log.exception(
                    "%s: poller error; next try in %.0f s", source.settings.name, self.policy.max_backoff
                )
                delay = self.policy.max_backoff
            await self.sleep(delay)

    async def poll_once(self, source: Source) -> float:
        """Poll `source` once, report the outcome, and return the delay before the next poll."""
        name = source.settings.name
        interval = source.settings.interval
        status = self._status[name]
        try:
            batch = await asyncio.wait_for(source.poll(), timeout=self.poll_timeout)
            await self.on_batch(source, batch)
        except asyncio.CancelledError:
            raise
        except TimeoutError as exc:
            return self._failed(
                source, status, SourceError(f"no answer within {self.poll_timeout:.0f} s"), exc
            )
        except SourceError as exc:
            return self._failed(source, status, exc, None)
        except Exception as exc:  # supervision point: a bug in one adapter must not stop the wall
            return self._failed(
                source, status, SourceError(f"internal error: {type(exc).__name__}: {exc}"), exc
            )
        now = self.clock()
        if status.consecutive_failures:
            log.info("%s: recovered after %d failures", name, status.consecutive_failures)
        # A source near its API's usage limit (Facebook's X-App-Usage) asks for an extra wait.
        delay = self.policy.after_success(interval, self.rng) + float(getattr(source, "slow_down", 0.0))
        self._publish(
            replace(
                status,
                health=Health.OK,
                last_success=now,
                consecutive_failures=0,
                next_poll=now + timedelta(seconds=delay),
            )
        )
        return delay

    def _failed(
        self, source: Source, status: SourceStatus, error: SourceError, cause: BaseException | None
    ) -> float:
        name = source.settings.name
        interval = source.settings.interval
        failures = status.consecutive_failures + 1
        now = self.clock()
        delay = self.policy.after_failure(interval, failures, error, self.rng)
        if failures == 1:
            log.warning("%s: %s (retrying in %.0f s)", name, error, delay, exc_info=cause)
        else:
            log.info("%s: still failing (%d in a row): %s; next try in %.0f s", name, failures, error, delay)
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
                last_error=str(error),
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
