"""`render_panel` draws a whole screen offscreen (used by `wall snapshot` and the demo)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from tests.support.clock import ago
from tests.support.posts import make_post
from wall.engine.config import PanelSettings, WallSection, load_config
from wall.shell.snapshots import fill_hub_for_snapshot
from widgets.gallery import MAX_PICTURES, pictures_of
from widgets.hub import Hub
from widgets.snapshot import render_panel, save_png

from .conftest import clock, make_count
from .test_window import distinct_colours


def test_render_panel_returns_a_full_hd_picture_of_the_panel(qapp: QApplication, hub: Hub) -> None:
    hub.set_posts("mention", [make_post(str(i), created_at=ago(minutes=i + 1)) for i in range(5)])
    image = render_panel(hub, WallSection(), PanelSettings(type="mentions"), QSize(1920, 1080), clock=clock)
    assert image.size() == QSize(1920, 1080)
    assert distinct_colours(image) > 10


def test_render_panel_of_an_empty_panel_is_not_blank(qapp: QApplication, hub: Hub) -> None:
    image = render_panel(hub, WallSection(), PanelSettings(type="internal"), QSize(1280, 720), clock=clock)
    assert image.size() == QSize(1280, 720)
    assert distinct_colours(image, step=8) > 3


def test_save_png_writes_a_readable_file(qapp: QApplication, hub: Hub, tmp_path: Path) -> None:
    hub.set_counts([make_count()])
    image = render_panel(hub, WallSection(), PanelSettings(type="fans"), QSize(800, 450), clock=clock)
    target = tmp_path / "fans.png"
    save_png(image, target)
    assert QImage(str(target)).size() == QSize(800, 450)
    with pytest.raises(OSError, match="missing"):
        save_png(image, tmp_path / "missing" / "fans.png")


def test_the_demo_pictures_load_every_picture_of_a_carousel_and_a_video_poster(
    qapp: QApplication, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo`'s PNG files showed a carousel's first picture alone: only `media[0]` was loaded."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = tmp_path / "wall.toml"
    config.write_text(f'[storage]\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    fill_hub_for_snapshot(load_config(config, env={}), hub, use_demo=True)
    mentions = hub.posts("mention")
    carousel = next(p for p in mentions if len(p.media) == MAX_PICTURES)
    assert all(hub.image(picture.url) for picture in pictures_of(carousel))
    posters = [picture for p in mentions for picture in pictures_of(p) if picture.video]
    assert posters and all(hub.image(poster.url) for poster in posters)
