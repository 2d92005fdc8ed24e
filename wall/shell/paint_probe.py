"""An opt-in record of when posts and counters are first painted on screen (`bench latency`).

Off by default: `wall run --paint-log FILE` installs it. It watches the application's paint events
(a Python call per Qt event, which is why it is never on in production) and appends one JSON line
per post the first time a card showing it (in a posts panel, or the "Nouveau" card over any
panel, which lists up to three) is painted while on screen, and one for the first
counter tile: `{"t": <time.monotonic()>, "what": "post" | "count", "key": ..., "text": ...}`.
`time.monotonic()` is the system's monotonic clock, so another process on the machine can compare.

A paint event is the widget drawing itself into the window's backing store; the flush to the screen
follows in the same update. Panels that are not on screen are hidden (a stacked layout), and the
pictures the rotator takes of them ahead of a transition are painted while hidden: neither counts.
During a crossfade the incoming panel's picture shows up to a fade's length before its cards paint
themselves, so a post -> pixel figure from this log can be late by that much, never early.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TextIO

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from wall.core.model import Post
from widgets.cards import PostCard
from widgets.fans import FanTile
from widgets.notice import NewPostsNotice


class PaintProbe(QObject):
    """Appends a line to `path` when a post (or the first counter) is first painted on screen."""

    def __init__(self, app: QApplication, path: Path) -> None:
        super().__init__()
        self._app = app
        self._file: TextIO = path.open("a", encoding="utf-8")
        self._seen: set[str] = set()
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Note first paints; never consumes the event."""
        if event.type() != QEvent.Type.Paint:
            return False
        posts: list[Post] = []
        if isinstance(watched, PostCard) and watched.isVisible():
            posts = [post] if (post := watched.post()) is not None else []
        elif isinstance(watched, NewPostsNotice):  # the "Nouveau" card over any panel: each post it lists
            posts = watched.posts_shown()
        for post in posts:
            if post.key not in self._seen:
                self._seen.add(post.key)
                self._write({"what": "post", "key": post.key, "text": post.text[:200]})
        if isinstance(watched, FanTile) and watched.isVisible() and "count" not in self._seen:
            self._seen.add("count")
            self._write({"what": "count", "key": "", "text": ""})
        return False

    def _write(self, record: dict[str, object]) -> None:
        self._file.write(json.dumps({"t": time.monotonic(), **record}, ensure_ascii=False) + "\n")
        self._file.flush()  # read by another process while the wall runs

    def close(self) -> None:
        """Stop recording and close the file."""
        self._app.removeEventFilter(self)
        self._file.close()
