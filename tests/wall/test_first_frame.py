"""Issue 14, at start: a real `wall run` on a stored store paints the stored posts in its first
frame, even with the clock first in the playlist (it waited 8 s on the clock, then fans, before)."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.hostile.test_startup import feed_source, fill_store, first_frame, painted, wall_env, write_config

PANELS = '[[panels]]\ntype = "clock"\n[[panels]]\ntype = "fans"\n[[panels]]\ntype = "mentions"\n'


def test_first_frame_of_a_restart_shows_the_stored_posts_not_the_clock(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    fill_store(state / "wall.sqlite3")
    config = write_config(tmp_path, state, feed_source(httpserver) + PANELS)
    result = first_frame(config, wall_env(tmp_path))
    painted(result)
    assert "first-frame-panel mentions" in result.stdout, result.stdout + result.stderr


def test_with_an_empty_store_the_clock_fills_the_first_frame(tmp_path: Path, httpserver: HTTPServer) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path, state, feed_source(httpserver) + PANELS)
    result = first_frame(config, wall_env(tmp_path))
    painted(result)
    assert "first-frame-panel clock" in result.stdout, result.stdout + result.stderr
