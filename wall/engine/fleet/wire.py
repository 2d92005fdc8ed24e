"""What travels in the fleet's KV values: JSON with a format version, built from the model's own
`to_dict`/`from_dict` (one encoding of a post, whether stored in SQLite or sent to a kiosk)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from wall.core.model import Count, Post, SourceStatus
from wall.engine.fleet.layout import FORMAT_VERSION
from wall.engine.moderation.decisions import PublishedAnnouncement
from wall.engine.panel_settings import PanelSettings


class WireError(ValueError):
    """A value a kiosk cannot read (another format version, or not JSON)."""


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps({"v": FORMAT_VERSION, **body}, ensure_ascii=False, sort_keys=True).encode()


def load(data: bytes) -> dict[str, Any]:
    """The body of a value, or WireError."""
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("v") != FORMAT_VERSION:
        raise WireError(f"format {body.get('v') if isinstance(body, dict) else '?'} is not {FORMAT_VERSION}")
    return body


@dataclass(frozen=True, slots=True)
class ShownPosts:
    """The posts of one kind a site's screens show, in order; `pinned` keys come first on screen."""

    posts: tuple[Post, ...]
    pinned: frozenset[str] = frozenset()

    def encode(self) -> bytes:
        """The KV value."""
        return _dump({"posts": [p.to_dict() for p in self.posts], "pinned": sorted(self.pinned)})

    @classmethod
    def decode(cls, body: dict[str, Any]) -> ShownPosts:
        """From a loaded value."""
        return cls(tuple(Post.from_dict(p) for p in body["posts"]), frozenset(body.get("pinned", ())))


def encode_counts(latest: Sequence[Count], history: dict[str, list[Count]]) -> bytes:
    """The counters and their daily history, as the screens draw them."""
    return _dump(
        {
            "latest": [c.to_dict() for c in latest],
            "history": {key: [c.to_dict() for c in counts] for key, counts in history.items()},
        }
    )


def decode_counts(body: dict[str, Any]) -> tuple[list[Count], dict[str, list[Count]]]:
    """From a loaded value."""
    history = {key: [Count.from_dict(c) for c in counts] for key, counts in body["history"].items()}
    return [Count.from_dict(c) for c in body["latest"]], history


def encode_statuses(statuses: Iterable[SourceStatus]) -> bytes:
    """The health of the sources a site's screens show."""
    return _dump({"statuses": [s.to_dict() for s in statuses]})


def decode_statuses(body: dict[str, Any]) -> list[SourceStatus]:
    """From a loaded value."""
    return [SourceStatus.from_dict(s) for s in body["statuses"]]


def encode_announcement(announcement: PublishedAnnouncement | None) -> bytes:
    """The announcement published from the page (None: the configured one)."""
    return _dump({"announcement": announcement.to_dict() if announcement else None})


def decode_announcement(body: dict[str, Any]) -> PublishedAnnouncement | None:
    """From a loaded value."""
    value = body["announcement"]
    return PublishedAnnouncement.from_dict(value) if isinstance(value, dict) else None


def encode_panic(on: bool, who: str) -> bytes:
    """The panic flag of a site (fleet-wide panic is written to every site)."""
    return _dump({"on": on, "who": who})


def encode_follow_site() -> bytes:
    """A screen's own key with nothing of its own: the screen follows its site's value."""
    return _dump({"follow": "site"})


def follows_site(body: dict[str, Any]) -> bool:
    """True for a screen's own value that defers to its site's (`encode_follow_site`)."""
    return body.get("follow") == "site"


def encode_playlist(panels: Sequence[PanelSettings] | None) -> bytes:
    """The panels the screens rotate through, as `[[panels]]` entries (None: the kiosk's own)."""
    listed = [_panel_entry(p) for p in panels] if panels is not None else None
    return _dump({"panels": listed})


def _panel_entry(panel: PanelSettings) -> dict[str, Any]:
    """A panel as its TOML entry would write it: durations with their unit ("90s"), which is what
    `[[panels]]` reads back (pydantic's JSON form, "PT1M30S", is not)."""
    entry = panel.model_dump(exclude_defaults=True)
    return {
        name: f"{value.total_seconds():g}s" if isinstance(value, timedelta) else value
        for name, value in entry.items()
    }


def decode_playlist(body: dict[str, Any]) -> list[PanelSettings] | None:
    """From a loaded value: checked as the `[[panels]]` of a wall.toml (pydantic's ValueError if not)."""
    panels = body["panels"]
    return None if panels is None else [PanelSettings.model_validate(p) for p in panels]
