"""Where the wall finds its assets and keeps its state and cache."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ASSETS_DIR = Path(os.environ.get("WALL_ASSETS_DIR") or Path(__file__).resolve().parents[2] / "assets")
ASSET_SCHEME = "asset:"
SYSTEM_STATE_DIR = Path("/var/lib/lobby-wall")
SYSTEM_RUNTIME_DIR = Path("/run/lobby-wall")


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


def cache_file(cache_dir: Path, url: str) -> Path:
    """Where the prepared picture of `url` is cached (the engine's, the kiosk's and the page's)."""
    return cache_dir / hashlib.sha256(url.encode()).hexdigest()


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The image cache's folder: systemd's $CACHE_DIRECTORY, else the XDG cache dir."""
    env = os.environ if env is None else env
    if env.get("CACHE_DIRECTORY"):
        return Path(env["CACHE_DIRECTORY"].split(":")[0])
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "/tmp")) / ".cache")
    return Path(base) / "lobby-wall"


def runtime_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the running wall says how it is: systemd's $RUNTIME_DIRECTORY, else /run/lobby-wall,
    else the XDG runtime dir, else the temporary folder. In memory, apart from the state directory:
    it must still work when that directory is full or read-only."""
    env = os.environ if env is None else env
    if env.get("RUNTIME_DIRECTORY"):
        return Path(env["RUNTIME_DIRECTORY"].split(":")[0])
    if SYSTEM_RUNTIME_DIR.is_dir() and os.access(SYSTEM_RUNTIME_DIR, os.R_OK):
        return SYSTEM_RUNTIME_DIR  # kiosk.service's RuntimeDirectory, for `wall status` in a shell
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "lobby-wall"
    return Path(tempfile.gettempdir()) / f"lobby-wall-{os.getuid()}"


def runtime_record_path(store: Path, env: Mapping[str, str] | None = None) -> Path:
    """The running wall's record for the store at `store` (one per store: tests run several walls)."""
    key = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:12]
    return runtime_dir(env) / f"status-{key}.json"


def write_runtime_record(store: Path, record: Mapping[str, Any] | None) -> None:
    """Replace (None: remove) the running wall's record, atomically; raises OSError."""
    target = runtime_record_path(store)
    if record is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, default=str, ensure_ascii=False), encoding="utf-8")
    tmp.replace(target)


def read_runtime_record(store: Path) -> dict[str, Any] | None:
    """The running wall's record for `store`, or None when there is none readable."""
    try:
        value = json.loads(runtime_record_path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
