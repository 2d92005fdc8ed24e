"""A 3840x2160 screen (issue 7): every panel keeps the lobby's type scale and shows all it shows in 1080p."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QLabel

from widgets.announcement import AnnouncementPanel
from widgets.cards import PostCard
from widgets.fans import BigNumberLabel
from widgets.labels import ElidedLabel, OneLineLabel
from widgets.theme import Role
from widgets.window import WallWindow

from .conftest import settle
from .test_reference_images import PANELS, WALLS, demo_hub

UHD = (3840, 2160)


def shown_labels(window: WallWindow) -> list[QLabel]:
    """Every label with text a person can see, in the order the widgets were made."""
    return [
        label
        for label in window.findChildren(QLabel)
        if label.isVisibleTo(window) and label.text() and label.width() > 1
    ]


def full_text(label: QLabel) -> str:
    return label.full_text() if isinstance(label, ElidedLabel | OneLineLabel) else label.text()


def clipped(label: QLabel) -> bool:
    """True when a plain label is too small for its text (Qt would cut it without `…`)."""
    if isinstance(label, ElidedLabel | OneLineLabel | BigNumberLabel):
        return False  # these fit their text themselves; compared with the 1080p render below
    margins = label.contentsMargins()
    room = label.contentsRect()
    if label.wordWrap():
        return label.heightForWidth(label.width()) > label.height() + 1
    hint = label.fontMetrics().boundingRect(label.text())
    return hint.width() > room.width() + margins.left() + margins.right() + 1


@pytest.mark.parametrize("panel", list(PANELS))
def test_a_4k_screen_keeps_the_type_scale_and_clips_nothing(
    open_window: Callable[..., WallWindow], panel: str
) -> None:
    windows = {}
    for size in ((1920, 1080), UHD):
        hub = demo_hub()
        window = open_window(hub, WALLS["fr"], [PANELS[panel]])
        window.resize(*size)
        settle(hub, window)
        window.grab()  # painting asks for pictures at their final sizes
        settle(hub, window)
        windows[size] = window
    big, small = windows[UHD], windows[(1920, 1080)]
    assert big.theme.height == 2160
    labels, reference = shown_labels(big), shown_labels(small)
    assert [full_text(label) for label in labels] == [full_text(label) for label in reference]

    for label, same in zip(labels, reference, strict=True):
        what = f"{type(label).__name__} {full_text(label)[:40]!r}"
        assert not clipped(label), f"{what} is clipped at 4K"
        # Nothing is cut at 4K that the 1080p screen (whose pictures are the reviewed references) shows.
        assert len(label.text()) >= len(same.text()) or label.text() == same.text(), what
        # Sizes scale with the screen: twice the pixels, the same share of its height.
        if isinstance(label, BigNumberLabel):
            # The theme asks for 12 %; a number too wide for its tile is shrunk, at 4K exactly as in 1080p.
            assert isinstance(same, BigNumberLabel)
            asked = QFontMetricsF(big.theme.font(Role.BIG_NUMBER)).capHeight()
            assert asked >= 0.12 * 2160 * 0.98, what
            share = QFontMetricsF(label.shown_font()).capHeight() / 2160
            assert share >= QFontMetricsF(same.shown_font()).capHeight() / 1080 - 0.002, what
        else:
            assert abs(label.font().pixelSize() - 2 * same.font().pixelSize()) <= 2, what
    for body in body_labels(big):  # the text of posts and of the announcement
        assert QFontMetricsF(body.font()).capHeight() >= 0.035 * 2160 * 0.98, full_text(body)[:40]


def body_labels(window: WallWindow) -> list[ElidedLabel]:
    """The labels showing a post's or an announcement's text."""
    cards = [card.text_label for card in window.findChildren(PostCard) if card.isVisibleTo(window)]
    messages = [panel.text_label for panel in window.findChildren(AnnouncementPanel)]
    return [label for label in cards + messages if label.isVisibleTo(window) and label.text()]
