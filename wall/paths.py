"""Where the wall finds its assets and keeps its state and cache."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ASSETS_DIR = Path(os.environ.get("WALL_ASSETS_DIR") or Path(__file__).resolve().parent.parent / "assets")
ASSET_SCHEME = "asset:"
SYSTEM_STATE_DIR = Path("/var/lib/lobby-wall")


def asset_path(url: str) -> Path | None:
    """The file behind an `asset:relative/path` URL, or None if it points outside `assets/`."""
    if not url.startswith(ASSET_SCHEME):
        return None
    candidate = (ASSETS_DIR / url[len(ASSET_SCHEME) :]).resolve()
    root = ASSETS_DIR.resolve()
    if root not in candidate.parents:
        return None
    return candidate


def state_dir(configured: str = "", env: Mapping[str, str] | None = None) -> Path:
    """The store's folder: config, else systemd's $STATE_DIRECTORY, else the XDG state dir."""
    env = os.environ if env is None else env
    if configured:
        return Path(configured)
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    if SYSTEM_STATE_DIR.is_dir() and os.access(SYSTEM_STATE_DIR, os.R_OK):
        # kiosk.service's StateDirectory: `wall status` typed in a shell reads the running wall's store.
        return SYSTEM_STATE_DIR
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME", "/tmp")) / ".local" / "state")
    return Path(base) / "lobby-wall"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The image cache's folder: systemd's $CACHE_DIRECTORY, else the XDG cache dir."""
    env = os.environ if env is None else env
    if env.get("CACHE_DIRECTORY"):
        return Path(env["CACHE_DIRECTORY"].split(":")[0])
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "/tmp")) / ".cache")
    return Path(base) / "lobby-wall"
