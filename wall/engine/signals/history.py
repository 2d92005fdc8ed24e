"""The stored posts replayed through the detector (`wall signals`), and what an alert links to.

Comms tune `[signals]` before switching alerts on: `wall signals --since 7d` prints the alerts the
detector would have raised on the posts the wall kept, with today's settings.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from wall.core.model import Post
from wall.engine.config import WallConfig
from wall.engine.moderation.rules import Verdict
from wall.engine.signals.alerts import Alert
from wall.engine.signals.detector import replay
from wall.engine.signals.tone import ToneScorer
from wall.engine.store import Store

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhm])\s*$")
_UNIT = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_span(text: str) -> timedelta:
    """`7d`, `12h` or `90m` as a timedelta; ValueError naming the fix otherwise."""
    match = _SPAN.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"--since: {text!r} is not a span: write it as 7d, 12h or 90m")
    return float(match.group(1)) * _UNIT[match.group(2)]


def page_url(config: WallConfig) -> str:
    """The moderation page's address for the links in alerts: `[signals] page_url`, else the page's
    own address when it is served, else ""."""
    if config.signals.page_url:
        return config.signals.page_url
    web = config.web
    if not web.enabled:
        return ""
    scheme = "https" if web.cert else "http"
    host = web.allowed_names()[0] if web.allowed_names() else web.host
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme}://{host}:{web.port}/#signaux"


def stored_posts(store: Store, kinds: tuple[str, ...]) -> list[tuple[Post, Verdict | None]]:
    """Every stored post of `kinds` with its moderation verdict, oldest first."""
    posts: list[tuple[Post, Verdict | None]] = []
    for source in store.sources():
        verdicts = store.verdicts(source)
        posts += [(post, verdicts.get(post.key)) for post in store.posts_of(source) if post.kind in kinds]
    return posts


def replay_store(
    store: Store, config: WallConfig, *, since: datetime, until: datetime, scorer: ToneScorer | None = None
) -> list[Alert]:
    """The alerts `[signals]` would have raised between `since` and `until` on the stored posts."""
    kinds = ("mention", "internal") if config.signals.include_internal else ("mention",)
    return replay(
        stored_posts(store, kinds),
        config.signals,
        since=since,
        until=until,
        page_url=page_url(config),
        scorer=scorer,
    )


def alert_line(alert: Alert) -> str:
    """One line for a terminal: when, what, the figures."""
    figures = (
        f"observé {alert.figure(alert.observed)}, référence {alert.figure(alert.baseline)}, "
        f"seuil {alert.figure(alert.threshold)}"
    )
    return f"{alert.at:%Y-%m-%d %H:%M} UTC  {alert.title()}  ({figures})"
