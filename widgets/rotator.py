"""Shows the panels one at a time, each for its duration, with a short crossfade between them.

The crossfade is cheap: a picture of the outgoing screen is grabbed once and painted over the
incoming panel with a decreasing opacity. Panels with nothing to show are skipped; when no panel has
content the first one stays, showing its empty-state message, so the screen is never blank.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEasingCurve, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QStackedLayout, QWidget

from widgets.panel import Panel

FADE_MS = 600


class FadeOverlay(QWidget):
    """Pictures of the outgoing and incoming screens, blended while the outgoing one fades out.

    The overlay is opaque, so Qt does not repaint the panels beneath it on every animation frame:
    a frame costs two blits, however many cards and pictures the panels hold.
    """

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._outgoing: QPixmap | None = None
        self._incoming: QPixmap | None = None
        self._opacity = 0.0
        self.hide()

    def begin(self, outgoing: QPixmap, incoming: QPixmap) -> None:
        """Cover the parent, showing `outgoing` fully."""
        self._outgoing, self._incoming = outgoing, incoming
        self._opacity = 1.0
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()

    def set_opacity(self, opacity: float) -> None:
        """How much of the outgoing screen still shows (1 → 0)."""
        self._opacity = opacity
        self.update()

    def end(self) -> None:
        """Drop the pictures and uncover the parent."""
        self._outgoing = self._incoming = None
        self.hide()

    def paintEvent(self, event: QPaintEvent) -> None:
        """The incoming screen, then the outgoing one at the current opacity."""
        if self._outgoing is None or self._incoming is None:
            return
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._incoming)
        painter.setOpacity(self._opacity)
        painter.drawPixmap(0, 0, self._outgoing)


class PanelRotator(QWidget):
    """Holds the panels and shows one at a time; `advance()` moves on (the timer calls it)."""

    panel_changed = Signal(str)

    def __init__(
        self, panels: Sequence[Panel] = (), *, fade_ms: int = FADE_MS, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._panels: list[Panel] = []
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._index = -1
        self._overlay = FadeOverlay(self)
        self._fade = QVariantAnimation(self)
        self._fade.setStartValue(1.0)
        self._fade.setEndValue(0.0)
        self._fade.setDuration(fade_ms)
        self._fade.setEasingCurve(QEasingCurve.Type.InOutQuad)
        self._fade.valueChanged.connect(lambda value: self._overlay.set_opacity(float(value)))
        self._fade.finished.connect(self._overlay.end)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.advance)
        self._running = False
        for panel in panels:
            self.add_panel(panel)

    def add_panel(self, panel: Panel) -> None:
        """Append `panel` to the rotation."""
        self._panels.append(panel)
        self._stack.addWidget(panel)
        panel.content_changed.connect(self._on_content_changed)
        current = self.current_panel()
        if current is None or (not current.has_content() and panel.has_content()):
            self._show(len(self._panels) - 1 if current is not None else 0, fade=False)

    def panels(self) -> list[Panel]:
        """Every panel, in rotation order."""
        return list(self._panels)

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
        self._timer.stop()

    def is_fading(self) -> bool:
        """True while a crossfade is under way."""
        return self._fade.state() == QVariantAnimation.State.Running

    def advance(self) -> None:
        """Show the next panel that has content (or the first panel when none has any)."""
        self._show(self._next_index(), fade=True)

    def _next_index(self) -> int:
        count = len(self._panels)
        for step in range(1, count + 1):
            index = (self._index + step) % count
            if self._panels[index].has_content():
                return index
        return 0 if count else -1

    def _show(self, index: int, *, fade: bool) -> None:
        if index < 0:
            return
        if index != self._index:
            fading = (
                fade and self.isVisible() and self._fade.duration() > 0 and self.current_panel() is not None
            )
            outgoing = self.grab() if fading else None  # includes a fade under way, so nothing jumps
            self._fade.stop()
            self._overlay.end()
            self._index = index
            self._stack.setCurrentIndex(index)
            if outgoing is not None:
                self._overlay.begin(outgoing, self._panels[index].grab())
                self._fade.start()
            self.panel_changed.emit(self._panels[index].panel_type())
        self._restart_timer()

    def _restart_timer(self) -> None:
        panel = self.current_panel()
        if self._running and panel is not None:
            self._timer.start(panel.duration_ms())

    def _on_content_changed(self) -> None:
        """Leave an empty panel as soon as another one has something to show."""
        current = self.current_panel()
        if current is not None and not current.has_content() and self._next_index() != self._index:
            self.advance()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the fade overlay over the whole rotator."""
        super().resizeEvent(event)
        self._overlay.setGeometry(self.rect())
