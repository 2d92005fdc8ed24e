"""Test-wide setup: Qt runs offscreen on a 1920x1080 virtual screen, in French, with no user config."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={ROOT / 'assets/qt/offscreen-1920x1080.json'}"
os.environ.setdefault("QT_API", "pyside6")
os.environ.pop("WALL_CONFIG", None)
for key in [k for k in os.environ if k.startswith("WALL_") and not k.startswith("WALL_SYNAPSE_")]:
    del os.environ[key]
