"""Issue 14, at start: a real `wall run` on a stored store paints the stored posts in its first
frame, even with the clock first in the playlist (it waited 8 s on the clock, then fans, before)."""

from __future__ import annotations

import json
import subprocess
import sys
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


PROBE = r"""
import gc, json, sys
from wall.engine.config import load_config
from wall.shell.runtime import WallRuntime

runtime = WallRuntime(load_config(sys.argv[1], env={}), exit_after=3)
seen = {}

def on_first_frame():
    engine = runtime.engine
    seen["polling_at_first_frame"] = engine is not None and engine.poller.running()
    seen["collected_at_first_frame"] = gc.get_freeze_count() > 0

runtime.windows[0].first_frame.connect(on_first_frame)
runtime.run()
print(json.dumps(seen))
"""


def test_the_first_frame_is_painted_before_polling_and_the_start_up_collection_begin(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Issue 14: polling, the stored posts judged again on the store thread (seconds on a full store)
    and a full collection of the start-up objects (~40 ms) all ran before the first paint, which
    waited for them (on the GIL, or in line); now they start once it is on screen."""
    state = tmp_path / "state"
    state.mkdir()
    fill_store(state / "wall.sqlite3")
    config = write_config(tmp_path, state, feed_source(httpserver) + PANELS)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)],
        env=wall_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"polling_at_first_frame": False, "collected_at_first_frame": False}, result.stderr
    assert [request.path for request, _ in httpserver.log][:1] == ["/news"]  # and then it polls
