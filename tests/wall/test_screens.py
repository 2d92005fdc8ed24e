"""Three screens (Norauto ran three): a window per `[[screens]]` entry, placed by name or index, each
with its playlist, portrait included, put back on its output after the screens change.

Qt's offscreen platform is configured with three outputs; the wall runs as `wall run` does (the
runtime), in a child process that reports what it placed where.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENS = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-3-screens.json'}"

PROBE = r"""
import json, sys
from PySide6.QtCore import QTimer
from wall.engine.config import load_config
from wall.engine.logs import setup_logging
from wall.shell.runtime import WallRuntime

setup_logging("INFO")
runtime = WallRuntime(load_config(sys.argv[1], env={}), exit_after=5)
seen = {}

def where():
    return [
        {
            "screen": w.screen().name(),
            "geometry": [w.geometry().x(), w.geometry().y(), w.width(), w.height()],
            "playlist": [w.rotator.panels()[i].panel_type() for i in w.rotator.playlist()],
            "shift_frame": w.layout().contentsMargins().left() + w.layout().contentsMargins().right(),
            "visible": w.isVisible(),
        }
        for w in runtime.windows
    ]

def unplug():
    seen["placed"] = where()
    screens = runtime.app.screens()
    # What a window system does when LOBBY-2 goes away: its window lands on another output.
    runtime.windows[0].place_on(screens[0], fullscreen=True)
    seen["moved"] = where()
    runtime.app.screenRemoved.emit(screens[1])
    runtime.app.screenAdded.emit(screens[1])

QTimer.singleShot(1500, unplug)
QTimer.singleShot(4000, lambda: seen.update(recovered=where()))
runtime.run()
print(json.dumps(seen))
"""


def test_three_screens_each_placed_with_its_playlist_and_put_back_after_a_hot_plug(tmp_path: Path) -> None:
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        '[[sources]]\nname = "demo"\ntype = "demo"\n'
        '[[panels]]\ntype = "fans"\n[[panels]]\ntype = "mentions"\n[[panels]]\ntype = "internal"\n'
        '[[screens]]\noutput = "LOBBY-2"\npanels = [1]\n'
        "[[screens]]\noutput = 0\npanels = [0]\n"
        '[[screens]]\noutput = "TOTEM"\npanels = [2, 1]\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": SCREENS},
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    placed = seen["placed"]
    assert [w["screen"] for w in placed] == ["LOBBY-2", "LOBBY-1", "TOTEM"]
    assert [w["geometry"] for w in placed] == [
        [1920, 0, 1920, 1080],
        [0, 0, 1920, 1080],
        [3840, 0, 1080, 1920],  # portrait
    ]
    assert [w["playlist"] for w in placed] == [["mentions"], ["fans"], ["internal", "mentions"]]
    assert all(w["visible"] and w["shift_frame"] == 8 for w in placed)  # burn-in frame of 4 px
    assert seen["moved"][0]["screen"] == "LOBBY-1"
    assert [w["screen"] for w in seen["recovered"]] == ["LOBBY-2", "LOBBY-1", "TOTEM"]
    assert "screens changed (LOBBY-1, LOBBY-2, TOTEM): windows placed again" in result.stderr
