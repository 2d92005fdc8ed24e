"""The paint probe `bench latency` reads (`wall run --paint-log`): posts on screen, once each, and
nothing a person cannot see."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.support.posts import make_post
from tests.widgets.conftest import clock, settle
from wall.engine.config import PanelSettings, WallSection
from wall.shell.paint_probe import PaintProbe
from widgets.hub import Hub
from widgets.window import WallWindow


def test_a_post_on_screen_is_logged_once_and_one_on_a_hidden_panel_is_not(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    hub = Hub()
    hub.set_posts("mention", [make_post("1", text="Superbe accueil à Lille")])
    hub.set_posts("internal", [make_post("2", text="Réunion à 10 h", kind="internal")])
    log = tmp_path / "paints.jsonl"
    probe = PaintProbe(qapp, log)
    try:
        panels = [PanelSettings(type="mentions"), PanelSettings(type="internal")]
        window = WallWindow(hub, WallSection(), panels, clock=clock)
        qtbot.addWidget(window)
        window.rotator.stop()  # the mentions panel stays up; the internal one waits, hidden
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        window.resize(1920, 1080)
        window.show()
        settle(hub, window)
        window.repaint()  # painted again: still one line for the post
        settle(hub, window)
    finally:
        probe.close()
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [(line["what"], line["key"], line["text"]) for line in lines] == [
        ("post", "masto:1", "Superbe accueil à Lille")
    ]
