"""A fleet kiosk's look at its screens for proof of play (`wall.engine.fleet.proof`).

Once a second, and whenever a panel changes, it lists the posts a passer-by can read: the cards of
the posts panel up and the "Nouveau" card, on windows that are shown, exposed (a non-empty visible
region: Qt has painted them) and neither asleep nor in panic. Reading a few widgets' state costs
microseconds, unlike `paint_probe`'s application-wide paint filter, so it is always on in a fleet.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from wall.core.model import utcnow
from wall.engine.fleet.proof import ProofSender, ProofTracker, Showing
from widgets.posts import PostsPanel
from widgets.window import WallWindow

LOOK_EVERY_MS = 1000


class ProofWatch(QObject):
    """Feeds what is on screen to a `ProofTracker` and the records that end to a `ProofSender`."""

    def __init__(
        self, windows: Callable[[], list[WallWindow]], tracker: ProofTracker, sender: ProofSender
    ) -> None:
        super().__init__()
        self._windows = windows
        self._tracker = tracker
        self._sender = sender
        self._connected: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(LOOK_EVERY_MS)
        self._timer.timeout.connect(self.look)
        self._timer.start()

    def look(self) -> None:
        """Note what is readable now."""
        showing: list[Showing] = []
        for display, window in enumerate(self._windows()):
            if id(window) not in self._connected:  # a reload builds new windows
                self._connected.add(id(window))
                window.rotator.panel_changed.connect(self.look)
            if not window.isVisible() or window.sleeping() or window.panic_active():
                continue
            panel = window.current_panel()
            if isinstance(panel, PostsPanel) and not panel.visibleRegion().isEmpty():
                showing += [Showing(post, panel.panel_type(), display) for post in panel.shown_posts()]
            if window.notice.isVisible():
                showing += [Showing(post, "notice", display) for post in window.notice.posts_shown()]
        self._sender.add(self._tracker.observe(utcnow(), showing))

    def stop(self) -> None:
        """End every stretch now (the records go to the outbox at the sender's stop)."""
        self._timer.stop()
        self._sender.add(self._tracker.flush(utcnow()))
