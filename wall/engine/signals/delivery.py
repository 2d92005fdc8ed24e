"""Alerts to comms through Apprise, in the background on the wall's loop, retried with backoff.

Each `[signals] notify` URL is a target of its own: one that is down, answers 500 or hangs is
retried (capped exponential backoff) without holding back the others, and never the wall: Apprise
sends from its own worker threads and the loop only awaits (with a time limit). The URLs are
secrets: they, and the parts of them a plugin may log on their own (a password, a webhook token),
are added to the process's masked values (`wall.core.secrets`), so neither our log lines nor
Apprise's print them. A target is named by its position and scheme only ("target 2 (mailto)").
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import SecretStr

from wall.core.secrets import remember as remember_secrets
from wall.engine.signals.alerts import Alert

log = logging.getLogger("wall.engine.signals.delivery")

_TOKEN_LIKE = re.compile(r"^(?=.*\d)[^/]{8,}$|^[^/]{20,}$")  # a digit and 8+ characters, or 20+


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard to try one target: attempts, the first wait and the longest one, per-attempt limit."""

    attempts: int = 8
    first_wait: float = 5.0
    max_wait: float = 600.0
    attempt_timeout: float = 30.0

    def wait(self, failures: int) -> float:
        """Seconds before the next attempt after `failures` failed ones (5, 10, 20... capped)."""
        return float(min(self.max_wait, self.first_wait * 2 ** max(failures - 1, 0)))


Outcome = Callable[[Alert, str, str], Awaitable[None]]  # (alert, target label, "sent" / "failed: ...")


def target_label(index: int, url: str) -> str:
    """How logs and the page name a target without showing its secret URL."""
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"target {index + 1} ({scheme})"


def url_secrets(url: str) -> list[str]:
    """The URL and the parts of it a plugin may print alone: its password, and its host, path
    segments and query values that look like tokens (a digit and 8+ characters, or 20+)."""
    found = [url]
    try:
        parts = urlsplit(url)
        password = parts.password
        host = parts.hostname or ""
    except ValueError:  # not parseable as a URL: the whole value is masked, nothing more is known
        return found
    if password:
        found += [password, unquote(password)]
    candidates = [host, *parts.path.split("/"), *parts.fragment.split("/")]
    candidates += [value for _, value in parse_qsl(parts.query)]
    found += [unquote(c) for c in candidates if c and _TOKEN_LIKE.match(unquote(c)) and "." not in c]
    return found


class Notifier:
    """Sends each alert to every target in the background; `outcome` hears how each delivery ended."""

    def __init__(
        self,
        urls: Sequence[SecretStr],
        *,
        policy: DeliveryPolicy = DeliveryPolicy(),
        outcome: Outcome | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # Apprise (50 modules, ~2 MB) is loaded only by a wall that has targets, at start, never by
        # the first alert on the running loop.
        import apprise

        self._apprise = apprise
        self._urls = [url.get_secret_value() for url in urls]
        remember_secrets(part for url in self._urls for part in url_secrets(url))
        self.policy = policy
        self._outcome = outcome
        self._sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def targets(self) -> list[str]:
        """The targets' labels, in the configured order."""
        return [target_label(index, url) for index, url in enumerate(self._urls)]

    def send(self, alert: Alert) -> None:
        """Start delivering `alert` to every target; returns at once (the loop is never held)."""
        for index, url in enumerate(self._urls):
            task = asyncio.ensure_future(self._deliver(alert, target_label(index, url), url))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def pending(self) -> int:
        """Deliveries still trying."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for every delivery in flight (tests, and a clean stop that may wait)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Give up the deliveries in flight (the alerts stay in the store, marked as they were)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, alert: Alert, label: str, url: str) -> None:
        failures = 0
        problem = ""
        while failures < self.policy.attempts:
            problem = await self._attempt(alert, url)
            if not problem:
                log.info("signals: %s %s sent to %s", alert.state, alert.episode, label)
                await self._report(alert, label, "sent")
                return
            failures += 1
            if failures == 1:  # the first failure in full, the repeats as one line at the end
                log.warning("signals: %s: %s; retrying with backoff", label, problem)
            if failures < self.policy.attempts:
                await self._sleep(self.policy.wait(failures))
        log.error("signals: %s: gave up after %d attempts: %s", label, failures, problem)
        await self._report(alert, label, f"failed: {problem}")

    async def _attempt(self, alert: Alert, url: str) -> str:
        """One try: "" when the target took the alert, else why not (never the URL)."""
        notifier = self._apprise.Apprise()
        if not notifier.add(url):
            return "not a URL Apprise knows: check its scheme and form"
        try:
            sent = await asyncio.wait_for(
                notifier.async_notify(body=alert.body(), title=alert.title()),
                self.policy.attempt_timeout,
            )
        except TimeoutError:
            return f"no answer within {self.policy.attempt_timeout:g} s"
        except Exception as exc:  # a plugin's own error: one more failed attempt, never the loop's
            return f"error {type(exc).__name__}"
        return "" if sent else "refused or unreachable"

    async def _report(self, alert: Alert, label: str, status: str) -> None:
        if self._outcome is not None:
            try:
                await self._outcome(alert, label, status)
            except Exception:  # a full disk must not stop the other deliveries
                log.exception("signals: cannot record the delivery to %s", label)
