"""Alerts and the company's proxy: Apprise sends with its own HTTP client, which has no proxy
setting (only the process's HTTP(S)_PROXY variables, which the wall leaves alone so that its own
clients keep `[network] proxy` and the outbound policy). A wall configured with a proxy and alert
targets says so at start, naming the file, the fields and the fix, without any secret."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wall.engine.config import parse_config
from wall.engine.services import open_store
from wall.engine.signals.watch import SignalWatch

WEBHOOK_TOKEN = "hook-7f3a9c2e1b4d"
PROXY_PASSWORD = "proxy-Pass-2026"


async def on_this_thread(func: Callable[..., Any], *args: Any) -> Any:
    """The engine's store thread, played by the test's own thread."""
    return func(*args)


async def test_a_wall_behind_a_proxy_says_at_start_that_alerts_go_direct(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    environment = dict(os.environ)
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "network": {"proxy": "http://127.0.0.1:3128", "proxy_username": "wall"},
            "signals": {"enabled": True, "tone": False},
        },
        "/etc/lobby-wall/wall.toml",
        {
            "WALL_SIGNALS__NOTIFY": json.dumps(
                [f"json://127.0.0.1:9/{WEBHOOK_TOKEN}", "mailto://u:p4ss@127.0.0.1:2525?to=c@corp.example"]
            ),
            "WALL_NETWORK__PROXY_PASSWORD": PROXY_PASSWORD,
        },
    )
    store = open_store(config)
    with caplog.at_level(logging.WARNING, logger="wall.engine.signals.watch"):
        watch = SignalWatch(config, store, on_this_thread, clock=lambda: datetime.now(UTC))
    await watch.stop()
    store.close()

    [notice] = [r.getMessage() for r in caplog.records if "[network] proxy" in r.getMessage()]
    assert notice.startswith("/etc/lobby-wall/wall.toml: [signals] notify: ")
    assert "target 1 (json), target 2 (mailto) are sent directly" in notice
    assert "firewall" in notice
    for secret in (WEBHOOK_TOKEN, PROXY_PASSWORD, "p4ss"):
        assert secret not in caplog.text
    # The wall's own clients keep their settings: nothing was put in the process's environment.
    assert dict(os.environ) == environment
