"""Turning a panel from what it shows to what it shows next, while it stays on screen: the fans
panel's next page of counters, the posts panel's next featured post (issue 7, item 6).

It looks like the transitions between panels (`[wall] transition`, `widgets.rotator`): a crossfade,
or a slide, which may be limited to one part of the panel (the featured card) while the rest
crossfades. It costs like them too, so no frame misses its 16 ms on a software-rendered screen:

1. the panel as it is now is drawn into a picture, a strip per event-loop turn;
2. that picture covers the panel (an opaque overlay: Qt stops repainting what is beneath), and the
   change is made underneath;
3. the panel as it is now is drawn again, a strip per turn;
4. the overlay blends or slides the two pictures, then uncovers the panel a strip per frame, so its
   first real paint is spread over several frames as well.

A turn asked for while the panel is hidden, or while one is under way, is made at once.

A card turn is a small change seen from metres away: its crossfade moves at 30 frames a second
(each frame changes the opacity by 1/18, too little to be seen as a step), half the wakeups and CPU
of 60 (issue 14: an idle wall costs almost nothing). A slide moves at the screen's rate
(`frame_ms_for`: 60 Hz up to 1440p): a card crossing 1,000 px in 0.6 s moves 55-80 px a frame at
30 Hz, which is seen to judder.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEasingCurve, QEvent, QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPixmap, QRegion
from PySide6.QtWidgets import QWidget

from widgets.motion import Tween
from widgets.panel import Panel
from widgets.rotator import FADE_MS, SLOW_FRAME_MS, FadeOverlay, frame_ms_for, strip_step_ms, strips_for

# A picture the change shows at a size not kept is decoded and scaled off the GUI thread (a phone
# photo: about 15 + 3 ms, more on a busy two-core PC); the panel stays covered by its picture of
# before meanwhile, so nobody sees the wait. Past this, the turn goes on and the picture follows.
PICTURES_WAIT_MS = 400
PICTURES_POLL_MS = 10


class PanelTurn(QObject):
    """Turns `panel` with its window's transition; `finished` once the new state is fully uncovered."""

    finished = Signal()

    def __init__(self, panel: Panel, transition: str, duration_ms: int = FADE_MS) -> None:
        super().__init__(panel)
        self._panel = panel
        self._slide = transition == "slide"
        self._overlay = FadeOverlay(panel)
        easing = QEasingCurve.Type.InOutCubic if self._slide else QEasingCurve.Type.InOutQuad
        self._motion = Tween(duration_ms, easing, parent=self)
        self._motion.progressed.connect(self._overlay.set_progress)
        self._motion.finished.connect(lambda: self._overlay.end(progressive=True))
        self._overlay.uncovered.connect(self.finished)
        self._change: Callable[[], None] | None = None  # made once the first picture is taken
        self._slide_rect: Callable[[], QRect | None] | None = None
        self._before: _Picture | None = None
        self._after: _Picture | None = None
        self._generation = 0

    def overlay(self) -> FadeOverlay:
        """The pictures drawn over the panel while it turns."""
        return self._overlay

    def frame_ms(self) -> int:
        """Milliseconds between two frames of a turn of this panel at its size (see the module)."""
        return frame_ms_for(self._panel.size()) if self._slide else SLOW_FRAME_MS

    def set_ticker(self, ticker: Callable[[], float]) -> None:
        """The seconds clock the motion follows (tests move it by hand, then call `step`)."""
        self._motion.set_ticker(ticker)

    def step(self) -> None:
        """One frame of the motion (its timer calls it; tests with a ticker too)."""
        self._motion.step()

    def is_turning(self) -> bool:
        """True from `turn()` until the new state is fully uncovered."""
        return (
            self._change is not None
            or self._after is not None
            or self._motion.is_running()
            or (self._overlay.isVisible())
        )

    def is_moving(self) -> bool:
        """True while the two pictures blend or slide (both are taken), then while the new state
        is uncovered: the frames people see move."""
        taking = self._change is not None or self._before is not None or self._after is not None
        return self._motion.is_running() or (self._overlay.isVisible() and not taking)

    def turn(self, change: Callable[[], None], slide_rect: Callable[[], QRect | None] | None = None) -> None:
        """Make `change` to the panel with a transition; `slide_rect` tells, once the change is
        made, which part slides (None: the whole panel). Hidden, or while turning, it is at once."""
        if self.is_turning() or not self._panel.isVisible() or self._motion.duration_ms() == 0:
            self.finish()
            change()
            return
        self._generation += 1
        self._change, self._slide_rect = change, slide_rect
        self._motion.set_frame_ms(self.frame_ms())
        self._before = _Picture(self._panel)
        QTimer.singleShot(0, self, lambda g=self._generation: self._take_before(g))

    def finish(self) -> None:
        """End any turn under way at once: its change is made, the overlay goes."""
        change, self._change = self._change, None
        self._generation += 1
        self._before = self._after = None
        self._motion.stop()
        self._overlay.end()
        if change is not None:
            change()

    def _take_before(self, generation: int) -> None:
        picture = self._before
        if generation != self._generation or picture is None:
            return
        picture.step()
        if not picture.done:
            QTimer.singleShot(picture.step_ms, self, lambda: self._take_before(generation))
            return
        change, self._change = self._change, None
        self._overlay.begin(picture.pixmap, picture.pixmap)  # covers: the change is made unseen
        if change is not None:
            change()
        self._wait_for_pictures(generation, PICTURES_WAIT_MS)

    def _wait_for_pictures(self, generation: int, left_ms: int) -> None:
        """Under the cover, until the pictures the change asked for are made (or `left_ms` is
        spent): the turn then shows them at once, and the wall need not keep every post's picture
        at the large card's size in case it is featured again (issue 14: 4-5 MB in `bench soak`)."""
        if generation != self._generation:
            return
        for _ in range(3):  # lay the changed panel out now, not at its next paint
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        if left_ms > 0 and self._panel.context.pixmaps.is_busy():
            wait = PICTURES_POLL_MS
            QTimer.singleShot(wait, self, lambda: self._wait_for_pictures(generation, left_ms - wait))
            return
        self._after = _Picture(self._panel)
        QTimer.singleShot(self._after.step_ms, self, lambda: self._take_after(generation))

    def _take_after(self, generation: int) -> None:
        after, before = self._after, self._before
        if generation != self._generation or after is None or before is None:
            return
        after.step()
        if not after.done:
            QTimer.singleShot(after.step_ms, self, lambda: self._take_after(generation))
            return
        self._before = self._after = None
        rect = self._slide_rect() if self._slide_rect is not None else None
        radius = self._panel.theme.radius
        self._overlay.begin(
            before.pixmap, after.pixmap, slide=self._slide, slide_rect=rect, slide_radius=radius
        )
        self._motion.start()


class _Picture:
    """The panel as it would be painted (its background and its visible page, not the overlays
    drawn over it), taken a strip at a time."""

    def __init__(self, panel: Panel) -> None:
        self._panel = panel
        size = panel.size()
        self.pixmap = QPixmap(size)
        self.pixmap.fill(Qt.GlobalColor.transparent)  # as `grab()` does: text is antialiased the same way
        strips = strips_for(size)
        self.step_ms = strip_step_ms(strips)
        height = max(1, -(-size.height() // strips))
        self._strips = [QRect(0, top, size.width(), height) for top in range(0, size.height(), height)]

    @property
    def done(self) -> bool:
        return not self._strips

    def step(self) -> None:
        """Draw the next strip."""
        strip = self._strips.pop(0)
        panel = self._panel
        painter = QPainter(self.pixmap)
        painter.setClipRect(strip)
        panel.theme.paint_panel(painter, QRect(QPoint(0, 0), panel.size()), panel.background())
        painter.end()
        page = panel.visible_page()
        if page is not None:
            inside = QRect(strip.translated(-page.x(), -page.y()))
            page.render(self.pixmap, page.pos() + inside.topLeft(), QRegion(inside), _CHILDREN)


_CHILDREN = QWidget.RenderFlag.DrawChildren
