"""Shows the panels one at a time, each for its duration, with a short transition between them.

The transition (`[wall] transition`) is a crossfade or a slide, and both are cheap: pictures of the
outgoing and incoming screens are grabbed once, then blended with a decreasing opacity (crossfade)
or drawn side by side at moving offsets, the new screen coming in from the right (slide). Each
grab repaints a whole screen (about 10 ms at 1920x1080 in software), so they are taken ahead of
time, a strip per event-loop turn, shortly before the switch: the switch itself then costs a blit,
and no single frame pays for a full repaint. Panels with nothing to show are skipped; when no
panel has content the first one stays, showing its empty-state message, so the screen is never
blank. Fillers (`Panel.is_filler`: the clock, the config's fixed announcement) never open the show
while another panel has posts or counts, and are left as soon as content arrives (issue 14). A
panel may take the next turn early (`take_turn_early`: the rest of a burst of new posts), once the
panel on screen has been up `MIN_ON_SCREEN_MS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEasingCurve, QElapsedTimer, QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPainterPath, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QStackedLayout, QWidget

from widgets.motion import FRAME_MS, Tween
from widgets.panel import Panel

TRANSITIONS = ("crossfade", "slide")
FADE_MS = 600  # how long a transition lasts, crossfade or slide
PREPARE_AHEAD_MS = 900  # grab the pictures this long before the switch
PREPARE_STRIPS = 4  # each picture of a 1920x1080 screen is taken in this many horizontal strips…
PREPARE_STEP_MS = 20  # …one every this many ms, so no frame pays for a whole-screen repaint
UNCOVER_STEP_MS = 16  # after the fade, a strip of the live panel is uncovered every frame (60 Hz)
MIN_ON_SCREEN_MS = 5_000  # a panel cut short by another's early turn is still up this long (read a tile)
# A strip costs what its pixels cost (about 10 ms for a quarter of 1920x1080 in software): a bigger
# screen is cut in more strips (4K: 16), taken faster, so its pictures are ready as soon (issue 14).
STRIP_PIXELS = 1920 * 1080 // PREPARE_STRIPS
# In software a frame of a transition costs its pixels: a full-screen blend or slide plus the copy to
# the X server is 10-25 ms at 3840x2160 (`bench frames_4k`), so at 60 Hz frames were missed at
# random (up to 200 in 12 slides under load), which judders more than an even 30 Hz. Screens bigger
# than 1440p move at 30 frames a second (issue 14).
SIXTY_HZ_MAX_PIXELS = 2560 * 1440
SLOW_FRAME_MS = 33


def frame_ms_for(size: QSize) -> int:
    """Milliseconds between two frames of a transition over `size` pixels: 60 Hz up to 1440p, 30 above."""
    return FRAME_MS if size.width() * size.height() <= SIXTY_HZ_MAX_PIXELS else SLOW_FRAME_MS


def strips_for(size: QSize) -> int:
    """How many strips a picture of `size` is taken, and the panel uncovered, in: none has more
    pixels than a quarter of a 1920x1080 screen."""
    return max(PREPARE_STRIPS, -(-size.width() * size.height() // STRIP_PIXELS))


def strip_step_ms(strips: int) -> int:
    """Milliseconds between two strips: a picture in `strips` strips takes as long as one in 4 at 1080p."""
    return max(1, PREPARE_STEP_MS * PREPARE_STRIPS // strips)


class FadeOverlay(QWidget):
    """Pictures of the outgoing and incoming screens, blended while the outgoing one fades out, or
    side by side while the incoming one slides in from the right (`slide`).

    The overlay is opaque, so Qt does not repaint the panels beneath it on every animation frame:
    a frame costs two blits, however many cards and pictures the panels hold. At the end it
    uncovers the new panel a strip at a time, so the panel's first real paint is spread over
    several frames too; `uncovered` is emitted once it is gone and its pictures dropped.
    """

    uncovered = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._generation = 0
        self._strip = 1
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)  # shrinking it repaints nothing of it
        self._outgoing: QPixmap | None = None
        self._incoming: QPixmap | None = None
        self._progress = 0.0
        self._slide = False
        self._slide_rect: QRect | None = None  # what slides (None: everything); the rest crossfades
        self._slide_radius = 0.0  # the sliding part's rounded corners
        self.hide()

    def begin(
        self,
        outgoing: QPixmap,
        incoming: QPixmap,
        *,
        slide: bool = False,
        slide_rect: QRect | None = None,
        slide_radius: float = 0.0,
    ) -> None:
        """Cover the parent, showing `outgoing` fully. With `slide` and a `slide_rect` (in the
        parent's coordinates, its corners rounded by `slide_radius`), only that part slides, inside
        its own edges; the rest crossfades."""
        self._outgoing, self._incoming = outgoing, incoming
        self._progress = 0.0
        self._slide = slide
        self._slide_rect = slide_rect if slide else None
        self._slide_radius = slide_radius
        self._generation += 1
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()

    def set_progress(self, progress: float) -> None:
        """How far the transition is (0: the outgoing screen, 1: the incoming one)."""
        self._progress = progress
        self.update()

    def outgoing_x(self) -> int | None:
        """Where the outgoing picture (or its sliding part) is drawn (None once it is dropped)."""
        if self._outgoing is None:
            return None
        return self._sliding_area().x() - self._slide_offset() if self._slide else 0

    def incoming_x(self) -> int | None:
        """Where the incoming picture (or its sliding part) is drawn (None when not covering)."""
        if self._incoming is None:
            return None
        if not (self._slide and self._outgoing is not None):
            return 0
        area = self._sliding_area()
        return area.x() + area.width() - self._slide_offset()

    def _sliding_area(self) -> QRect:
        return self._slide_rect if self._slide_rect is not None else QRect(0, 0, self.width(), self.height())

    def _slide_offset(self) -> int:
        return round(self._progress * self._sliding_area().width())

    def end(self, *, progressive: bool = False) -> None:
        """Uncover the parent: at once, or a strip every UNCOVER_STEP_MS from the bottom."""
        self._outgoing = None
        self._generation += 1
        if progressive and self._incoming is not None and self.isVisible():
            self._uncover_step(self._generation)
        else:
            self._finish()

    def _uncover_step(self, generation: int) -> None:
        parent = self.parentWidget()
        if generation != self._generation:
            return  # a new crossfade began meanwhile
        if parent is None:
            self._finish()
            return
        if self.height() >= parent.height():  # the first step
            self._strip = max(1, -(-self.height() // strips_for(self.size())))
        height = self.height() - self._strip
        if height <= 0:
            self._finish()
            return
        # From the bottom up: the overlay keeps its top-left corner and its contents are static, so
        # a frame paints the uncovered strip of the panel only, not the rest of the overlay again
        # (moved down, it was blitted whole every frame: 8 MB a frame at 4K).
        self.setGeometry(0, 0, parent.width(), height)
        QTimer.singleShot(UNCOVER_STEP_MS, self, lambda: self._uncover_step(generation))

    def _finish(self) -> None:
        was_covering = self._incoming is not None
        self._outgoing = self._incoming = None
        self.hide()
        if was_covering:
            self.uncovered.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Crossfade: the incoming screen, then the outgoing one fading out. Slide: both side by
        side (with a `slide_rect`, that part slides and the rest crossfades)."""
        incoming, outgoing = self._incoming, self._outgoing
        if incoming is None:
            return
        painter = QPainter(self)
        if outgoing is None or not self._slide:
            painter.drawPixmap(0, 0, incoming)
            if outgoing is not None:
                painter.setOpacity(1.0 - self._progress)
                painter.drawPixmap(0, 0, outgoing)
            return
        area, offset = self._sliding_area(), self._slide_offset()
        if self._slide_rect is not None:  # around the sliding part: a crossfade
            # Everywhere, then the sliding part over it: both pictures are opaque. Blending under a
            # clip path (the screen less the rounded part) cost 15 ms a frame at 4K, unclipped 10.
            painter.drawPixmap(0, 0, incoming)
            painter.setOpacity(1.0 - self._progress)
            painter.drawPixmap(0, 0, outgoing)
            painter.setOpacity(1.0)
            sliding = QPainterPath()
            sliding.addRoundedRect(QRectF(area), self._slide_radius, self._slide_radius)
            painter.setClipPath(sliding)
        else:
            painter.setClipRect(area)
        painter.drawPixmap(QPoint(area.x() - offset, area.y()), outgoing, area)
        painter.drawPixmap(QPoint(area.x() + area.width() - offset, area.y()), incoming, area)


class PanelRotator(QWidget):
    """Holds the panels and shows one at a time; `advance()` moves on (the timer calls it)."""

    panel_changed = Signal(str)
    transition_finished = Signal()  # a transition ended and its pictures were dropped

    def __init__(
        self,
        panels: Sequence[Panel] = (),
        *,
        fade_ms: int = FADE_MS,
        transition: str = "crossfade",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if transition not in TRANSITIONS:
            raise ValueError(f"unknown transition {transition!r}: use one of {', '.join(TRANSITIONS)}")
        self._transition = transition
        self._panels: list[Panel] = []
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._index = -1
        self._overlay = FadeOverlay(self)
        easing = QEasingCurve.Type.InOutCubic if transition == "slide" else QEasingCurve.Type.InOutQuad
        self._motion = Tween(fade_ms, easing, parent=self)
        self._motion.progressed.connect(self._overlay.set_progress)
        self._motion.finished.connect(lambda: self._overlay.end(progressive=True))
        self._overlay.uncovered.connect(self.transition_finished)
        self._timer = QTimer(self)
        self._on_screen = QElapsedTimer()  # since the panel on screen came (for `duration_changed`)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.advance)
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setSingleShot(True)
        self._prepare_timer.timeout.connect(self._prepare_incoming)
        # (index of the incoming panel, its picture, the outgoing picture or None yet)
        self._prepared: _Preparation | None = None
        self._running = False
        self._playlist: tuple[int, ...] | None = None  # panel indexes shown, in this order (None: all)
        self._early: int | None = None  # the panel taking the next turn early (`take_turn_early`)
        for panel in panels:
            self.add_panel(panel)

    def add_panel(self, panel: Panel) -> None:
        """Append `panel` to the rotation."""
        self._adopt(panel)
        current = self.current_panel()
        if not self.isVisible():  # before the first frame: the show opens on content (issue 14)
            self._show(self._opening_index(), fade=False)
        elif current is None or (not current.has_content() and panel.has_content()):
            self._show(len(self._panels) - 1 if current is not None else 0, fade=False)

    def _adopt(self, panel: Panel) -> None:
        self._panels.append(panel)
        self._stack.addWidget(panel)
        panel.content_changed.connect(self._on_content_changed)
        panel.duration_changed.connect(lambda: self._on_duration_changed(panel))

    def set_panels(self, panels: Sequence[Panel]) -> None:
        """Rotate through `panels` instead, all of them in order (a fleet's playlist changed on the
        collector, issue 16): the old panels are dropped, and the new list opens on its first panel
        with content, crossfaded (or slid) from what was on screen."""
        fading = self.isVisible() and self._motion.duration_ms() > 0 and self.current_panel() is not None
        outgoing = self.grab() if fading else None
        self._motion.stop()
        self._overlay.end()
        self._prepared, self._early, self._playlist = None, None, None
        for old in self._panels:
            self._stack.removeWidget(old)
            old.deleteLater()  # its connections go with it
        self._panels, self._index = [], -1
        for panel in panels:
            self._adopt(panel)
        index = self._opening_index()
        if index >= 0:
            self._index = index
            self._stack.setCurrentIndex(index)
            if outgoing is not None:
                incoming = self._panels[index]
                incoming.resize(self.size())
                self._overlay.begin(outgoing, incoming.grab(), slide=self._transition == "slide")
                self._motion.start()
            self.panel_changed.emit(self._panels[index].panel_type())
        self._restart_timer()

    def panels(self) -> list[Panel]:
        """Every panel, in rotation order."""
        return list(self._panels)

    def set_playlist(self, indexes: Sequence[int] | None) -> None:
        """Rotate through these panels only, in this order (None: all of them, in order); a panel
        left out is left at once."""
        chosen = tuple(dict.fromkeys(i for i in indexes or () if 0 <= i < len(self._panels))) or None
        if chosen == self._playlist:
            return
        self._playlist = chosen
        if not self.isVisible():
            self._show(self._opening_index(), fade=False)
        elif self._index not in self.playlist():
            self._show(self._next_index(), fade=True)

    def playlist(self) -> list[int]:
        """The indexes of the panels in rotation, in rotation order."""
        return list(self._playlist) if self._playlist is not None else list(range(len(self._panels)))

    def current_panel(self) -> Panel | None:
        """The panel on screen."""
        return self._panels[self._index] if 0 <= self._index < len(self._panels) else None

    def start(self) -> None:
        """Start rotating (each panel stays for its own duration)."""
        self._running = True
        self._restart_timer()

    def stop(self) -> None:
        """Stop rotating; the current panel stays."""
        self._running = False
        self._early = None  # a panic or closed hours: what was urgent before is not after
        self._timer.stop()
        self._prepare_timer.stop()
        self._prepared = None

    def transition(self) -> str:
        """`crossfade` or `slide`."""
        return self._transition

    def set_ticker(self, ticker: Callable[[], float]) -> None:
        """The seconds clock transitions follow (tests move it by hand, then call `step_transition`)."""
        self._motion.set_ticker(ticker)

    def step_transition(self) -> None:
        """One frame of the transition under way (its timer calls it; tests with a ticker too)."""
        self._motion.step()

    def overlay(self) -> FadeOverlay:
        """The pictures drawn over the panels while a transition runs."""
        return self._overlay

    def is_fading(self) -> bool:
        """True while a transition (crossfade or slide) is under way, until the new panel is fully
        uncovered."""
        return self._motion.is_running() or self._overlay.isVisible()

    def take_turn_early(self, index: int) -> None:
        """Show panel `index` next, as soon as the panel on screen has been up `MIN_ON_SCREEN_MS`
        (issue 14: the rest of a burst of new posts the "Nouveau" card has no room for)."""
        if not self._running or index in (self._index, self._early) or index not in self.playlist():
            return
        self._early = index
        if self._timer.isActive():
            self._restart_timer(elapsed_ms=max(1, self._on_screen.elapsed()))

    def _upcoming(self) -> int:
        """The panel the next turn shows: one taking its turn early, else the next with content."""
        early = self._early
        if early is not None and early in self.playlist() and self._panels[early].has_content():
            return early
        return self._next_index()

    def advance(self) -> None:
        """Show the next panel that has content (or the first panel when none has any)."""
        index = self._upcoming()
        current = self.current_panel()
        if index == self._index and current is not None:
            current.shown_again()
        self._show(index, fade=True)

    def _next_index(self, *, fillers: bool = True, after: int | None = None) -> int:
        """The next panel with content after `after` (default: the one on screen); without
        `fillers`, the next with real content, or -1 when there is none."""
        order = self.playlist()
        if not order:
            return -1
        origin = self._index if after is None else after
        start = order.index(origin) if origin in order else -1
        for step in range(1, len(order) + 1):
            index = order[(start + step) % len(order)]
            panel = self._panels[index]
            if panel.has_content() and (fillers or not panel.is_filler()):
                return index
        return order[0] if fillers else -1

    def _opening_index(self) -> int:
        """The panel that opens the show: the first of the playlist with real content (posts,
        counts); a filler (the clock) only when none has any."""
        real = self._next_index(fillers=False, after=-1)
        return real if real >= 0 else self._next_index(after=-1)

    def _show(self, index: int, *, fade: bool) -> None:
        if index < 0:
            return
        if index == self._early:
            self._early = None  # its turn came
        if index != self._index:
            fading = (
                fade
                and self.isVisible()
                and self._motion.duration_ms() > 0
                and self.current_panel() is not None
            )
            prepared = self._take_prepared(index) if fading and not self.is_fading() else None
            outgoing: QPixmap | None
            incoming: QPixmap | None
            if prepared is not None:
                outgoing, incoming = prepared
            else:
                # includes a fade under way, so nothing jumps
                outgoing, incoming = (self.grab() if fading else None), None
            self._motion.stop()
            self._overlay.end()
            self._index = index
            self._stack.setCurrentIndex(index)
            if outgoing is not None:
                slide = self._transition == "slide"
                self._overlay.begin(outgoing, incoming or self._panels[index].grab(), slide=slide)
                self._motion.start()
            self.panel_changed.emit(self._panels[index].panel_type())
        self._restart_timer()

    def _restart_timer(self, elapsed_ms: int = 0) -> None:
        panel = self.current_panel()
        self._prepared = None
        self._prepare_timer.stop()
        if self._running and panel is not None:
            if not elapsed_ms:
                self._on_screen.start()
            duration = max(0, panel.duration_ms() - elapsed_ms)
            if self._early is not None:
                duration = min(duration, max(0, MIN_ON_SCREEN_MS - elapsed_ms))
            self._timer.start(duration)
            if self._motion.duration_ms() > 0 and len(self._panels) > 1:
                self._prepare_timer.start(max(0, duration - PREPARE_AHEAD_MS))

    def _on_duration_changed(self, panel: Panel) -> None:
        """The panel on screen wants another time (more or fewer pages): counted from when it came."""
        if panel is self.current_panel() and self._running and self._timer.isActive():
            self._restart_timer(elapsed_ms=max(1, self._on_screen.elapsed()))

    def _prepare_incoming(self) -> None:
        """Start taking the pictures of the next switch, a strip per event-loop turn."""
        index = self._upcoming()
        if index < 0 or index == self._index or not self.isVisible():
            return
        panel = self._panels[index]
        panel.resize(self.size())
        if (layout := panel.layout()) is not None:
            layout.activate()
        self._prepared = _Preparation(index, panel, self)
        QTimer.singleShot(0, self, self._prepare_step)

    def _prepare_step(self) -> None:
        preparation = self._prepared
        if preparation is None or preparation.done or self.is_fading():
            return
        preparation.step()
        if not preparation.done:
            QTimer.singleShot(preparation.step_ms, self, self._prepare_step)

    def _take_prepared(self, index: int) -> tuple[QPixmap, QPixmap] | None:
        prepared, self._prepared = self._prepared, None
        if prepared is None or prepared.index != index or not prepared.done:
            return None
        return prepared.outgoing, prepared.incoming

    def _on_content_changed(self) -> None:
        """Leave an empty panel as soon as another one has something to show."""
        if self._prepared is not None:
            self._prepared = None  # the pictures are out of date: take them again, if there is time
            remaining = self._timer.remainingTime()
            if self._timer.isActive() and remaining > PREPARE_AHEAD_MS // 2:
                self._prepare_timer.start(min(100, remaining - PREPARE_AHEAD_MS // 2))
        current = self.current_panel()
        if current is None:
            return
        if not self.isVisible():
            self._show(self._opening_index(), fade=False)  # the first frame shows content
        elif not current.has_content() and self._next_index() != self._index:
            self.advance()
        elif current.is_filler() and (real := self._next_index(fillers=False)) >= 0:
            self._show(real, fade=True)  # content came while the clock filled in: leave it now

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the fade overlay over the whole rotator, and the frame rate its pixels allow."""
        super().resizeEvent(event)
        self._prepared = None
        self._overlay.setGeometry(self.rect())
        self._motion.set_frame_ms(frame_ms_for(self.size()))

    def frame_ms(self) -> int:
        """Milliseconds between two frames of a transition on this screen."""
        return self._motion.frame_ms()


class _Preparation:
    """The two pictures of an upcoming transition, taken strip by strip (see `strips_for`)."""

    def __init__(self, index: int, incoming: QWidget, outgoing: QWidget) -> None:
        self.index = index
        size = outgoing.size()
        self.incoming = QPixmap(size)
        self.outgoing = QPixmap(size)
        count = strips_for(size)
        self.step_ms = strip_step_ms(count)
        height = max(1, -(-size.height() // count))
        strips = [QRect(0, top, size.width(), height) for top in range(0, size.height(), height)]
        self._steps = [(incoming, self.incoming, r) for r in strips] + [
            (outgoing, self.outgoing, r) for r in strips
        ]

    @property
    def done(self) -> bool:
        return not self._steps

    def step(self) -> None:
        """Render the next strip."""
        widget, target, rect = self._steps.pop(0)
        painter = QPainter(target)
        painter.drawPixmap(rect.topLeft(), widget.grab(rect))
        painter.end()
