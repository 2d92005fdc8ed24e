"""What crosses the pipe between `bench.split`'s engine and display processes: JSON lines.

One line per `wall.engine.engine.Screen` call, engine -> display, stamped with the sender's
`time.monotonic()` (`t`, the system's clock: the display tells how long a line took); pictures as
base64. Display -> engine: `want_image` (a card asks for a picture) and `painted` (the first frame).
The windows' settings travel once, first (`looks`), as plain data: the display has no `WallConfig`.

Stdlib and `wall.core.model` only: the display process imports no pydantic, httpx or asyncio.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from wall.core.model import Count, Post, SourceStatus

# Modules each child asserts it never loaded (sys.modules, top-level package names).
ENGINE_FORBIDDEN = ("PySide6", "shiboken6", "qasync", "widgets")
DISPLAY_FORBIDDEN = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "httpx",
    "httpcore",
    "asyncio",
    "qasync",
    "PIL",
)
MEMORY_MARKER = "bench.split: memory "  # the log line a child writes on SIGUSR1, then its JSON


def forbidden_loaded(forbidden: Sequence[str], modules: Mapping[str, object]) -> list[str]:
    """The loaded modules (of `modules`, e.g. sys.modules) whose top-level package is forbidden;
    an entry of None is an import made to fail on purpose (`wall/__init__.py`: `httpx._main`)."""
    return sorted(
        name for name, module in modules.items() if module is not None and name.split(".")[0] in forbidden
    )


def line(op: str, **fields: object) -> bytes:
    """One message, stamped with the send time, as a JSON line."""
    return (json.dumps({"op": op, "t": time.monotonic(), **fields}, ensure_ascii=False) + "\n").encode()


def posts_out(posts: Sequence[Post]) -> list[dict[str, Any]]:
    """Posts as JSON-ready dicts (`Post.to_dict`, what the store and `wall fetch --json` use)."""
    return [post.to_dict() for post in posts]


def posts_in(items: Sequence[dict[str, Any]]) -> list[Post]:
    """The inverse of `posts_out`."""
    return [Post.from_dict(item) for item in items]


def counts_out(latest: Sequence[Count], history: dict[str, list[Count]]) -> dict[str, Any]:
    """Counters and their history as JSON-ready data."""
    return {
        "latest": [count.to_dict() for count in latest],
        "history": {key: [count.to_dict() for count in counts] for key, counts in history.items()},
    }


def counts_in(data: dict[str, Any]) -> tuple[list[Count], dict[str, list[Count]]]:
    """The inverse of `counts_out`."""
    history = {key: [Count.from_dict(c) for c in counts] for key, counts in data["history"].items()}
    return [Count.from_dict(c) for c in data["latest"]], history


def statuses_out(statuses: Iterable[SourceStatus]) -> list[dict[str, Any]]:
    """Source statuses as JSON-ready dicts."""
    return [status.to_dict() for status in statuses]


def image_out(data: bytes | None) -> str | None:
    """A prepared picture's bytes as base64 text (None: it failed)."""
    return None if data is None else base64.b64encode(data).decode("ascii")


def image_in(text: str | None) -> bytes | None:
    """The inverse of `image_out`."""
    return None if text is None else base64.b64decode(text)


# --- the windows' settings, as plain data (widgets.settings' protocols) --------------------------


@dataclass(frozen=True)
class PlainBranding:
    """`[wall.branding]` as `widgets.settings.BrandingLook` reads it."""

    name: str
    logo: str
    theme: str
    accent: str
    font: str
    background_colour: str
    background_image: str


@dataclass(frozen=True)
class PlainWall:
    """`[wall]` as `widgets.settings.WallLook` reads it."""

    language: str
    timezone: str
    branding: PlainBranding
    transition: str


@dataclass(frozen=True)
class PlainPanel:
    """One `[[panels]]` entry with every key `wall.engine.panel_settings.PanelSettings` has (a key
    added there and not here fails the engine's `looks` line: the display would miss it)."""

    type: str
    duration: float
    title: str
    limit: int
    text: str
    image: str
    qr: str
    featured_seconds: float
    replay: bool
    replay_after: timedelta
    replay_days: float
    sources: tuple[str, ...] = ()
    milestones: tuple[int, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlainScreen:
    """One `[[screens]]` entry: the output and its playlist (indexes into the panels)."""

    output: int | str
    panels: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class Looks:
    """What the display builds its windows from."""

    wall: PlainWall
    panels: tuple[PlainPanel, ...]
    screens: tuple[PlainScreen, ...]


def looks_in(data: dict[str, Any]) -> Looks:
    """The `looks` line's settings as plain dataclasses."""
    wall = data["wall"]
    panels = tuple(
        PlainPanel(
            **{
                **panel,
                "replay_after": timedelta(seconds=panel["replay_after"]),
                "sources": tuple(panel["sources"]),
                "milestones": tuple(panel["milestones"]),
                "exclude": tuple(panel["exclude"]),
            }
        )
        for panel in data["panels"]
    )
    screens = tuple(PlainScreen(s["output"], tuple(s["panels"])) for s in data["screens"])
    return Looks(
        PlainWall(wall["language"], wall["timezone"], PlainBranding(**wall["branding"]), wall["transition"]),
        panels,
        screens,
    )
