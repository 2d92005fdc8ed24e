"""The detector inside the running wall: fed with each stored batch, read right after it and every
few minutes, each alert kept in the store, then sent to comms in the background.

Nothing here writes to the lobby's `Screen`: alerts are for comms only (issue 17). The detector's
work (and VADER's) runs on the store thread, with the store's other work, never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wall.core.model import Batch
from wall.engine.config import WallConfig
from wall.engine.moderation.rules import Verdict
from wall.engine.signals.alerts import Alert
from wall.engine.signals.crisis import CrisisState
from wall.engine.signals.delivery import Notifier
from wall.engine.signals.detector import Detector
from wall.engine.signals.history import page_url, stored_posts
from wall.engine.signals.journal import AlertJournal, KeptAlert
from wall.engine.signals.observations import ObservationLog, log_path
from wall.engine.store import Store

log = logging.getLogger("wall.engine.signals.watch")

CHECK_EVERY_SECONDS = 300.0  # without new posts, an episode still ends ("over") within 5 minutes

InDb = Callable[..., Awaitable[Any]]
ALERTS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class SignalsView:
    """What the page's "Signaux" section shows: a week of hourly volume, the kept alerts with how
    each delivery went, crisis mode, and the targets (by label only)."""

    hourly: list[tuple[datetime, int]]
    alerts: list[KeptAlert]
    crisis: CrisisState | None
    on_alert: str
    targets: list[str]


def warn_no_proxy(config: WallConfig, targets: list[str]) -> None:
    """Say at start that alerts do not go through `[network] proxy`: Apprise sends with its own
    HTTP client (requests, called plugin by plugin), which has no proxy setting but the process's
    HTTP(S)_PROXY variables, and setting those would reroute the wall's own clients too. Targets
    are named by label only; the proxy's URL and login are not repeated."""
    log.warning(
        "%s: [signals] notify: %s are sent directly, not through [network] proxy (Apprise has no "
        "proxy setting): let the wall reach them directly (a firewall rule), or use targets inside "
        "the company network (a mailto:// relay, an internal Mattermost or Matrix)",
        config.path or "the configuration",
        ", ".join(targets),
    )


class SignalWatch:
    """`[signals]` in the running wall (see the module doc); `on_alert` hears each new alert."""

    def __init__(
        self,
        config: WallConfig,
        store: Store,
        in_db: InDb,
        *,
        clock: Callable[[], datetime],
        notifier: Notifier | None = None,
        on_alert: Callable[[Alert], Awaitable[None]] | None = None,
    ) -> None:
        self.detector = Detector(config.signals, page_url=page_url(config))
        self.journal = AlertJournal(store)
        self._store = store
        self._in_db = in_db
        self._clock = clock
        self.notifier = notifier
        if notifier is None and config.signals.notify:
            self.notifier = Notifier(config.signals.notify, outcome=self._delivered)
            if config.network.proxy:
                warn_no_proxy(config, self.notifier.targets)
        self._on_alert = on_alert
        self._task: asyncio.Task[None] | None = None
        self._seeded = False
        self._log = ObservationLog(log_path(store.path, bool(store.in_memory_because)))

    def seed(self) -> None:
        """Fill the baselines, once (store thread): the episodes still open in the alert journal,
        the observations kept by earlier runs, then the stored posts, whose text an alert may quote
        (those the log lacked are added to it). Done on first use rather than at start: scoring the
        stored posts may take a good part of a second, and start-up is the GUI thread's."""
        if self._seeded:
            return
        self._seeded = True
        # The journal is where episodes are kept: a restart during one must not alert comms again.
        self.detector.resume(kept.alert for kept in self.journal.alerts())
        for kept in self._log.load():
            self.detector.add(kept)
        fresh = []
        for post, verdict in stored_posts(self._store, self.detector.kinds()):
            known = self.detector.knows(post.key)
            if (seen := self.detector.observe(post, verdict)) and not known:
                fresh.append(seen)
        self._log.save(fresh)

    def observe(self, source: str, batch: Batch, verdicts: Mapping[str, Verdict]) -> None:
        """Take in a stored batch (store thread): deletions, then new and edited posts."""
        self.seed()
        gone = [f"{source}:{post_id}" for post_id in batch.deleted]
        for key in gone:
            self.detector.forget(key)
        self._log.forget(gone)
        observed = [self.detector.observe(post, verdicts.get(post.key)) for post in batch.posts]
        self._log.save(o for o in observed if o is not None)

    async def check(self) -> list[Alert]:
        """Read the signals now; keep, send and announce what is due."""
        alerts: list[Alert] = await self._in_db(self._evaluate)
        for alert in alerts:
            log.warning("signals: %s", alert.title())
            if self.notifier is not None:
                self.notifier.send(alert)
            if self._on_alert is not None and alert.state == "alert":
                await self._on_alert(alert)
        return alerts

    async def view(self, crisis: CrisisState | None, on_alert: str) -> SignalsView:
        """The page's view of the signals now (read on the store thread)."""

        def read() -> SignalsView:
            self.seed()
            return SignalsView(
                hourly=self.detector.hourly(self._clock()),
                alerts=self.journal.alerts(ALERTS_SHOWN),
                crisis=crisis,
                on_alert=on_alert,
                targets=self.notifier.targets if self.notifier is not None else [],
            )

        found: SignalsView = await self._in_db(read)
        return found

    async def after_batch(self) -> None:
        """`check` after a stored batch: a failure here is logged, never the poll's."""
        try:
            await self.check()
        except Exception:  # a busy or full disk: the source polled fine; the next check tries again
            log.exception("signals: check after a batch failed")

    def start(self) -> None:
        """Read the signals every `CHECK_EVERY_SECONDS` too (an episode ends without new posts)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._regularly())

    async def stop(self) -> None:
        """Stop reading; deliveries in flight are given up (the alerts stay in the store)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.notifier is not None:
            await self.notifier.stop()
        await self._in_db(self._log.close)

    def _evaluate(self) -> list[Alert]:
        self.seed()
        now = self._clock()
        self._log.prune(self.detector.prune(now))
        alerts = self.detector.evaluate(now)
        targets = self.notifier.targets if self.notifier is not None else []
        for alert in alerts:
            self.journal.add(alert, targets)
        return alerts

    async def _delivered(self, alert: Alert, target: str, status: str) -> None:
        await self._in_db(self.journal.delivered, alert, target, status)

    async def _regularly(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_SECONDS)
            try:
                await self.check()
            except Exception:  # a busy or full disk: the wall goes on, the next check tries again
                log.exception("signals: check failed; next in %d s", CHECK_EVERY_SECONDS)
