"""Alerts are for comms, never for the lobby: during an alert, every panel of the wall is rendered
offscreen and none of them (nor the header) shows any trace of it, while the posts themselves,
which are public, are shown as usual."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytest_httpserver import HTTPServer

from tests.signals.test_signals_page import feed
from wall.engine.config import parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from wall.shell.windows import build_windows
from widgets.hub import Hub

PAGE = "https://wall.corp.example/#signaux"
# What an alert says (title, figures, labels, the page's address): none of it may reach a screen.
TRACES = (
    "Alerte",
    "alerte",
    "mot surveillé",
    "Observé",
    "Référence",
    "seuil",
    "Fenêtre",
    "Signal",
    "crise",
    PAGE,
)


def readable_text(widget: QWidget) -> list[str]:
    """The text of every label under `widget` (what a person in the lobby can read)."""
    return [label.text() for label in widget.findChildren(QLabel) if label.text()]


async def test_every_panel_during_an_alert_shows_no_trace_of_it(
    tmp_path: Path, httpserver: HTTPServer, qapp: QApplication
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(), content_type="application/rss+xml")
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "sources": [{"name": "presse", "type": "rss", "url": httpserver.url_for("/feed")}],
            "panels": [
                *(
                    {"type": kind, "duration": 30}
                    for kind in ("fans", "mentions", "internal", "trends", "clock")
                ),
                {
                    "type": "announcement",
                    "duration": 30,
                    "title": "Bienvenue",
                    "text": "Portes ouvertes samedi",
                },
            ],
            "signals": {"enabled": True, "watch_words": ["rappel", "freins"], "page_url": PAGE},
        },
        env={},
    )
    store, hub = open_store(config), Hub()
    async with make_client(config) as client:
        engine = Engine(config, store, hub, client)
        engine.fill_screen_from_store()
        (window,) = build_windows(config, hub)
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        window.resize(1920, 1080)
        window.show()
        try:
            await engine.poller.poll_once(engine.sources[0])
            hub.flush()
            assert engine.signals is not None
            assert {k.alert.detail for k in engine.signals.journal.alerts()} == {"rappel", "freins"}

            seen: dict[str, list[str]] = {}
            for index, panel in enumerate(window.rotator.panels()):
                window.rotator.take_turn_early(index)
                panel.resize(window.rotator.size())
                panel.grab()  # painted offscreen, as the screen would show it
                seen[type(panel).__name__] = readable_text(panel) + readable_text(window.header)
        finally:
            hub.flush()
            window.close()
            await engine.stop()
    store.close()

    assert len(seen) == 6
    assert any("Rappel massif des freins" in text for text in seen["MentionsPanel"])  # the post is public
    leaks = {name: [t for t in texts if any(trace in t for trace in TRACES)] for name, texts in seen.items()}
    assert leaks == {name: [] for name in seen}
