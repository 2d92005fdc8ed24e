"""Every network has a drawable mark of our own, and unknown networks get the generic one."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from widgets.marks import KNOWN_MARKS, MARKS_DIR, mark_image, mark_name


@pytest.mark.parametrize("network", KNOWN_MARKS)
def test_each_mark_is_a_valid_svg_that_draws_something(qapp: QApplication, network: str) -> None:
    assert QSvgRenderer(str(MARKS_DIR / f"{network}.svg")).isValid()
    image = mark_image(network, 48)
    centre, corner = image.pixelColor(24, 24), image.pixelColor(0, 0)
    assert centre.alpha() == 255  # the rounded square is filled…
    assert corner.alpha() < 255  # …and its corners are rounded


def test_network_names_are_matched_loosely(qapp: QApplication) -> None:
    assert mark_name("Mastodon") == "mastodon"
    assert mark_name("twitter") == "x"
    assert mark_name("rse-interne") == "generic"
    generic = mark_image("generic", 32).pixelColor(16, 4)
    assert mark_image("something-new", 32).pixelColor(16, 4) == generic != QColor(0, 0, 0, 0)
