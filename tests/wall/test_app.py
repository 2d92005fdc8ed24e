"""The wall as facilities run it: starts, tells systemd, survives kills, shows the last content."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication
from pytest_httpserver import HTTPServer

from wall.engine.config import load_config
from wall.engine.services import open_store
from wall.shell.snapshots import fill_hub_for_snapshot
from widgets.hub import Hub

ROOT = Path(__file__).resolve().parents[2]
FEED = (ROOT / "tests" / "fixtures" / "rss" / "rss2.xml").read_bytes()
SCREEN = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"


def write_config(tmp_path: Path, url: str, interval: int = 15) -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{url}"\ninterval = {interval}\n'
        '[[panels]]\ntype = "mentions"\nduration = 5\n',
        encoding="utf-8",
    )
    return path


def start_wall(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    full_env.update({"QT_QPA_PLATFORM": SCREEN, **(env or {})})
    return subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=ROOT,
    )


def wait_for(predicate: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def stored_texts(config: Path) -> list[str]:
    store = open_store(load_config(config, env={}))
    try:
        return [p.text for p in store.recent_posts("mention")]
    finally:
        store.close()


def test_tells_systemd_it_is_ready_and_stops_cleanly_on_sigterm(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
    notify_path = str(tmp_path / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(30)
    wall = start_wall(
        write_config(tmp_path, httpserver.url_for("/feed")),
        env={"NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "2000000"},
    )
    try:
        messages = []
        while "READY=1" not in messages:
            messages.append(notify.recv(4096).decode())
        assert "WATCHDOG=1" in notify.recv(4096).decode()  # pinged from the GUI thread, every second
        wall.send_signal(signal.SIGTERM)
        _, stderr = wall.communicate(timeout=30)
    finally:
        wall.kill()
        notify.close()
    assert wall.returncode == 0
    assert "Traceback" not in stderr and "first frame after" in stderr


def test_kill_9_then_restart_without_network_shows_the_same_posts(
    tmp_path: Path, httpserver: HTTPServer, qapp: QApplication
) -> None:
    httpserver.expect_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
    config = write_config(tmp_path, httpserver.url_for("/feed"))
    wall = start_wall(config)
    try:
        assert wait_for(lambda: len(stored_texts(config)) > 0), "the feed was never stored"
        before = stored_texts(config)
        wall.send_signal(signal.SIGKILL)
        wall.wait(timeout=10)
    finally:
        wall.kill()
    # The network is gone: the feed's server answers nothing useful any more.
    httpserver.clear()
    httpserver.expect_request("/feed").respond_with_data("down", status=503)
    assert stored_texts(config) == before
    # What a restart paints first: the stored posts, before any network call.
    hub = Hub()
    fill_hub_for_snapshot(load_config(config, env={}), hub, use_demo=False)
    assert [p.text for p in hub.posts("mention")] == before
    snapshot = tmp_path / "after-restart.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wall.cli",
            "snapshot",
            "--config",
            str(config),
            "--panel",
            "mentions",
            "--out",
            str(snapshot),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": SCREEN},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    image = Image.open(snapshot)
    assert image.size == (1920, 1080) and len(image.getcolors(1_000_000) or []) > 50  # not blank


def test_kiosk_unit_passes_systemd_verification() -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(ROOT / "kiosk.service")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_demo_without_display_writes_one_png_per_panel(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "demo", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines() if line.endswith(".png")]
    assert [p.name for p in paths] == [
        "1-fans.png", "2-mentions.png", "3-internal.png", "4-trends.png", "5-announcement.png", "6-clock.png",
    ]  # fmt: skip
    for path in paths:
        assert Image.open(path).size == (1920, 1080)


def test_a_config_typo_after_a_good_start_runs_on_the_last_good_copy(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
    state = tmp_path / "xdg-state"
    config = tmp_path / "wall.toml"
    good = f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{httpserver.url_for("/feed")}"\ninterval = 15\n'
    config.write_text(good, encoding="utf-8")
    env = {"XDG_STATE_HOME": str(state)}
    first = start_wall(config, "--exit-after", "2", env=env)
    assert first.wait(timeout=60) == 0
    config.write_text(good.replace("interval = 15", "interval = 5"), encoding="utf-8")  # comms' typo
    second = start_wall(config, "--exit-after", "4", env=env)
    try:
        assert wait_for(lambda: "running on the last good copy" in wall_status(config, env), timeout=30)
        status = wall_status(config, env)
        assert "sources[0].interval: 5 is below the minimum of 15 seconds" in status
        _, stderr = second.communicate(timeout=60)
    finally:
        second.kill()
    assert second.returncode == 0
    assert "refused; running on the last good copy" in stderr and "Traceback" not in stderr


def wall_status(config: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "status", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=ROOT,
    )
    return result.stdout


def test_config_changes_apply_while_running_and_a_broken_one_is_refused(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        '<item><guid isPermaLink="false">a</guid><title>Bravo Lyon</title>'
        "<pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate></item>"
        '<item><guid isPermaLink="false">c</guid><title>Des tomates à l\'accueil</title>'
        "<pubDate>Mon, 23 Nov 2026 08:01:00 GMT</pubDate></item></channel></rss>"
    )
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="application/rss+xml")
    config = write_config(tmp_path, httpserver.url_for("/feed"))
    wall = start_wall(config, env={"XDG_STATE_HOME": str(tmp_path / "xdg")})
    try:
        assert wait_for(lambda: sorted(stored_ids(config)) == ["a", "c"]), stored_ids(config)
        # Comms save a typo: refused, the wall keeps running and `wall status` says why.
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("interval = 15", "interval = 5"), encoding="utf-8")
        assert wait_for(lambda: "refused" in status_text(config, tmp_path))
        assert wall.poll() is None
        # Then a valid change, applied without a restart (file watch; SIGHUP does the same).
        config.write_text(text + '[moderation]\nblocked_words = ["tomates"]\n', encoding="utf-8")
        wall.send_signal(signal.SIGHUP)
        assert wait_for(lambda: stored_ids(config) == ["a"], timeout=10)
        assert "refused" not in status_text(config, tmp_path)
        wall.send_signal(signal.SIGTERM)
        _, stderr = wall.communicate(timeout=30)
    finally:
        wall.kill()
    assert wall.returncode == 0
    assert "config refused, the wall keeps the running one" in stderr and "config reloaded" in stderr


def stored_ids(config: Path) -> list[str]:
    store = open_store(load_config(config, env={}))
    try:
        return [p.id for p in store.recent_posts("mention")]
    finally:
        store.close()


def status_text(config: Path, tmp_path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "status", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg")},
    )
    return result.stdout + result.stderr
