"""The hub batches changes for the widgets and asks for pictures again after a failure."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from widgets.hub import Hub


def test_a_failed_image_is_asked_for_again_later(qtbot: QtBot) -> None:
    hub = Hub(image_retry_ms=200)
    asked: list[str] = []
    hub.set_image_requester(asked.append)
    assert hub.image("https://img.example/a.jpg") is None
    hub.add_image("https://img.example/a.jpg", None)  # the network was down
    assert hub.image("https://img.example/a.jpg") is None
    assert asked == ["https://img.example/a.jpg"]  # not hammered at once
    qtbot.waitUntil(lambda: hub.image("https://img.example/a.jpg") is None and len(asked) == 2, timeout=3000)


def test_many_updates_make_one_signal(qtbot: QtBot) -> None:
    hub = Hub(coalesce_ms=50)
    emitted: list[int] = []
    hub.posts_changed.connect(lambda: emitted.append(1))
    for _ in range(100):
        hub.set_posts("mention", [])
    qtbot.waitUntil(lambda: emitted == [1], timeout=2000)
    qtbot.wait(120)
    assert emitted == [1]
