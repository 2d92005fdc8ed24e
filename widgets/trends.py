"""The trends panel: what the shown posts of the last 24 h talk about, and where they come from.

Three cards: the top hashtags, the top words, and each network's share of the posts (its mark, a
percentage in the wall's language, a bar). The numbers come from `wall.engine.trends` (pure); this module
only lays them out. Landscape screens put the cards side by side, portrait ones one above the other.

Which posts count: the public mentions the wall shows, filtered by the panel's `sources`. Internal
posts count only when the panel's `sources` names internal sources explicitly: the lobby shows
what the public says by default, and colleagues' messages join only when comms ask for it.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from wall.core.i18n import format_number, format_percent, tr
from wall.core.model import Post
from wall.engine.trends import NetworkShare, Term, Trends, compute_trends
from widgets.labels import ElidedLabel, plain_label, style_label
from widgets.marks import NetworkMark
from widgets.panel import Panel, PanelContext
from widgets.settings import PanelLook, TrendsLook
from widgets.theme import Role, Theme, mix

REFRESH_MS = 60_000  # posts leave the 24 h window as time passes, even when none arrive
MAX_NETWORK_ROWS = 6  # past that, the smallest networks share one "Others" row
NETWORK_NAMES = {
    "x": "X", "youtube": "YouTube", "linkedin": "LinkedIn", "rss": "Web", "bluesky": "Bluesky",
    "mastodon": "Mastodon", "facebook": "Facebook", "instagram": "Instagram", "matrix": "Matrix",
    "mattermost": "Mattermost", "teams": "Teams", "vivaengage": "Viva Engage", "discourse": "Discourse",
    "humhub": "HumHub", "slack": "Slack",
}  # fmt: skip


def network_name(network: str) -> str:
    """How a network is named on screen (`linkedin` -> `LinkedIn`)."""
    return NETWORK_NAMES.get(network, network[:1].upper() + network[1:])


class ShareBar(QWidget):
    """A thin horizontal bar: a track, filled from the left by `fraction` of its width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fraction = 0.0
        self._fill = QColor("#ffffff")
        self._track = QColor("#333333")

    def fraction(self) -> float:
        """How much of the bar is filled (0..1)."""
        return self._fraction

    def set_fraction(self, fraction: float, fill: QColor, track: QColor) -> None:
        """Fill `fraction` of the bar with `fill` over a `track` background."""
        self._fraction, self._fill, self._track = max(0.0, min(1.0, fraction)), fill, track
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Rounded track, rounded fill."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        radius = self.height() / 2
        track = QPainterPath()
        track.addRoundedRect(QRectF(self.rect()), radius, radius)
        painter.fillPath(track, self._track)
        if self._fraction > 0:
            width = max(float(self.height()), self.width() * self._fraction)
            fill = QPainterPath()
            fill.addRoundedRect(QRectF(0, 0, width, self.height()), radius, radius)
            painter.fillPath(fill, self._fill)


class TrendRow(QWidget):
    """One line of a card: an optional network mark, the term (elided on a word), its number, a bar."""

    def __init__(self, with_mark: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mark = NetworkMark()
        self.name_label = ElidedLabel()
        self.name_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.value_label = plain_label()
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bar = ShareBar()
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.mark, 0, Qt.AlignmentFlag.AlignVCenter)
        line.addWidget(self.name_label, 1, Qt.AlignmentFlag.AlignVCenter)
        line.addWidget(self.value_label, 0, Qt.AlignmentFlag.AlignVCenter)
        self._line = line
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(line)
        column.addWidget(self.bar)
        self._column = column
        self.mark.setHidden(not with_mark)  # once in the layout: shown without a parent, it is a window

    def set_row(self, name: str, value: str, fraction: float, theme: Theme, network: str = "") -> None:
        """Show `name` with `value` at its right and a bar filled by `fraction`."""
        self.name_label.set_full_text(name)
        self.value_label.setText(value)
        self.mark.set_network(network)
        self.bar.set_fraction(fraction, theme.accent, mix(theme.surface, theme.text, 0.1))

    def apply_theme(self, theme: Theme) -> None:
        """Fonts and sizes for a new window height."""
        style_label(self.name_label, theme.font(Role.BODY), theme.text)
        value_font = QFont(theme.font(Role.BODY))
        value_font.setWeight(QFont.Weight.DemiBold)
        style_label(self.value_label, value_font, theme.text)
        self.name_label.setFixedHeight(self.name_label.line_height() + 2)
        self.mark.set_side(theme.px(0.05))
        self.bar.setFixedHeight(theme.px(0.009))
        self._line.setSpacing(theme.px(0.016))
        self._column.setSpacing(theme.px(0.008))


class TrendCard(QWidget):
    """A titled card of rows; a muted line says when there is nothing to list."""

    def __init__(self, title: str, with_marks: bool, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self._with_marks = with_marks
        self.title_label = plain_label(title)
        self.none_label = plain_label()
        self.footer_label = plain_label()
        self.footer_label.hide()
        self.rows: list[TrendRow] = []
        self._column = QVBoxLayout(self)
        self._column.addWidget(self.title_label)
        self._rows_box = QVBoxLayout()
        self._column.addLayout(self._rows_box)
        self._column.addWidget(self.none_label)
        self._column.addStretch(1)
        self._column.addWidget(self.footer_label)
        self.apply_theme(theme)

    def shown_rows(self) -> list[TrendRow]:
        """The rows on screen, in order."""
        return [row for row in self.rows if not row.isHidden()]

    def set_rows(self, rows: list[tuple[str, str, float, str]], none_text: str) -> None:
        """Show (name, value, bar fraction, network) rows; `none_text` when there are none."""
        while len(self.rows) < len(rows):
            row = TrendRow(self._with_marks)
            row.apply_theme(self.theme)
            self._rows_box.addWidget(row)
            self.rows.append(row)
        for row, (name, value, fraction, network) in zip(self.rows, rows, strict=False):
            row.set_row(name, value, fraction, self.theme, network)
            row.show()
        for row in self.rows[len(rows) :]:
            row.hide()
        self.none_label.setText(none_text)
        self.none_label.setVisible(not rows)

    def set_footer(self, text: str) -> None:
        """A muted line at the bottom of the card (empty: none)."""
        self.footer_label.setText(text)
        self.footer_label.setVisible(bool(text))

    def apply_theme(self, theme: Theme) -> None:
        """Fonts and spacing for a new window height."""
        self.theme = theme
        muted = theme.muted_on(theme.surface)
        style_label(self.title_label, theme.font(Role.TILE_LABEL), muted)
        style_label(self.none_label, theme.font(Role.BODY), muted)
        style_label(self.footer_label, theme.font(Role.META), muted)
        pad = theme.px(0.035)
        self._column.setContentsMargins(pad, pad, pad, pad)
        self._column.setSpacing(theme.px(0.03))
        self._rows_box.setSpacing(theme.px(0.026))
        for row in self.rows:
            row.apply_theme(theme)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """A rounded tile with a thin brand-coloured line at the top, like the fans tiles."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shape = QPainterPath()
        shape.addRoundedRect(QRectF(self.rect()), self.theme.radius, self.theme.radius)
        painter.fillPath(shape, self.theme.surface)
        painter.setClipPath(shape)
        painter.fillRect(0, 0, self.width(), self.theme.px(0.008), self.theme.accent)


class TrendsPanel(Panel):
    """Top hashtags, top words and networks' shares of the posts shown over the last 24 h."""

    def __init__(
        self, context: PanelContext, settings: PanelLook, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, settings, theme, parent)
        language = context.language
        self.exclude = tuple(settings.exclude) if isinstance(settings, TrendsLook) else ()
        self._trends = Trends()
        self.hashtags_card = TrendCard(tr("trends.hashtags", language), False, theme)
        self.words_card = TrendCard(tr("trends.words", language), False, theme)
        self.networks_card = TrendCard(tr("trends.networks", language), True, theme)
        self._row = QBoxLayout(QBoxLayout.Direction.LeftToRight, self.content)
        for card in self.cards():
            self._row.addWidget(card, 1)
        self.apply_theme(theme)
        context.hub.posts_changed.connect(self.refresh)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def cards(self) -> list[TrendCard]:
        """Hashtags, words and networks, in that order."""
        return [self.hashtags_card, self.words_card, self.networks_card]

    def trends(self) -> Trends:
        """The numbers on screen."""
        return self._trends

    def counted_posts(self) -> list[Post]:
        """The shown posts trends are computed from (see the module docstring)."""
        hub = self.context.hub
        posts = self.filter_sources(hub.posts("mention"), lambda post: post.source)
        if self.settings.sources:
            posts += self.filter_sources(hub.posts("internal"), lambda post: post.source)
        return posts

    def has_content(self) -> bool:
        """True when at least one post of the last 24 h is counted."""
        return bool(self._trends)

    def refresh(self) -> None:
        """Count again; the cards change only when the numbers do."""
        trends = compute_trends(
            self.counted_posts(), self.context.clock(), exclude=self.exclude, top=self.settings.limit
        )
        if trends == self._trends:
            return
        self._trends = trends
        language = self.context.language
        none = tr("trends.none", language)
        self.hashtags_card.set_rows(self._term_rows(trends.hashtags), none)
        self.words_card.set_rows(self._term_rows(trends.words), none)
        self.networks_card.set_rows(self._network_rows(trends.networks), none)
        key = "trends.total_one" if trends.total == 1 else "trends.total_other"
        self.networks_card.set_footer(tr(key, language, count=format_number(trends.total, language)))
        self._share_space()
        self.show_content(bool(trends))

    def _term_rows(self, terms: tuple[Term, ...]) -> list[tuple[str, str, float, str]]:
        top = max((term.posts for term in terms), default=1)
        language = self.context.language
        return [(t.text, format_number(t.posts, language), t.posts / top, "") for t in terms]

    def _network_rows(self, shares: tuple[NetworkShare, ...]) -> list[tuple[str, str, float, str]]:
        language = self.context.language
        shown = list(shares)
        others: list[NetworkShare] = []
        if len(shown) > MAX_NETWORK_ROWS:
            shown, others = shown[: MAX_NETWORK_ROWS - 1], shown[MAX_NETWORK_ROWS - 1 :]
        rows = [
            (network_name(s.network), format_percent(s.percent / 100, language), s.share, s.network)
            for s in shown
        ]
        if others:
            percent = sum(s.percent for s in others)
            share = sum(s.share for s in others)
            rows.append((tr("trends.others", language), format_percent(percent / 100, language), share, ""))
        return rows

    def labels(self) -> list[QLabel]:
        """Every label of the cards, shown or not (tests compare their full and shown texts)."""
        return self.content.findChildren(QLabel)

    def is_portrait(self) -> bool:
        """True when the cards are stacked (a screen taller than wide)."""
        return self._row.direction() == QBoxLayout.Direction.TopToBottom

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Cards side by side in landscape, stacked in portrait."""
        portrait = event.size().height() > event.size().width()
        if portrait != self.is_portrait():
            self._row.setDirection(
                QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight
            )
            self._share_space()
        super().resizeEvent(event)

    def _share_space(self) -> None:
        """Side by side, the cards are equal; stacked, each is as tall as its rows ask."""
        for index, card in enumerate(self.cards()):
            rows = max(1, len(card.shown_rows())) + (1 if card.footer_label.isVisibleTo(card) else 0)
            self._row.setStretch(index, rows + 2 if self.is_portrait() else 1)

    def apply_theme(self, theme: Theme) -> None:
        """Margins and cards for a new window height."""
        super().apply_theme(theme)
        self._row.setContentsMargins(theme.gap, theme.gap, theme.gap, theme.gap)
        self._row.setSpacing(theme.gap)
        for card in self.cards():
            card.apply_theme(theme)
