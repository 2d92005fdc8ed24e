"""Reload never dies and never destroys (issue 12): a real `wall run`, then the saves comms make by
mistake (a deeply nested file, an empty file, a file without sources, a syntax error), then good saves
that must still apply; and the last good copy the wall falls back to."""

from __future__ import annotations

import signal
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.hostile.test_startup import ROOT, painted, start_wall, status, wait_for, wall_env
from tests.wall.test_decisions import feed
from wall.engine.config import load_config
from wall.engine.services import open_store

DEEP = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"  # tomllib: RecursionError
TOKEN = "tok-inline-very-secret-1234"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def sources(httpserver: HTTPServer, *names: str, extra: str = "") -> str:
    return "".join(
        f'[[sources]]\nname = "{name}"\ntype = "rss"\nurl = "{httpserver.url_for("/" + name)}"\n'
        f"interval = 15\n{extra}"
        for name in names
    )


def serve_feeds(httpserver: HTTPServer) -> None:
    items = {
        "news": (("a", "Alice", "Gâteau en salle 3"), ("b", "Bob", "Vélos au parking")),
        "rse": (("c", "Chloé", "Portes ouvertes samedi"),),
    }
    for name, posts in items.items():
        httpserver.expect_request(f"/{name}").respond_with_data(
            feed(*posts), content_type="application/rss+xml"
        )


def stored(config: Path, source: str | None = None) -> list[str]:
    """Ids of the posts the wall would show (of one source, or all)."""
    store = open_store(load_config(config, env={}))
    try:
        return sorted(p.id for p in store.recent_posts("mention") if source in (None, p.source))
    finally:
        store.close()


def kept(config: Path, source: str) -> int:
    """Posts of `source` still in the store, shown or not."""
    store = open_store(load_config(config, env={}))
    try:
        return store.post_count(source)
    finally:
        store.close()


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def last_good_copies(tmp_path: Path) -> list[Path]:
    """Every last good copy the wall keeps under the test's folder (state dirs, default or not)."""
    return sorted(p for p in tmp_path.glob("**/last-good-config*") if not p.name.endswith(".tmp"))


def test_a_deeply_nested_save_is_refused_and_the_next_good_save_applies_its_opt_out(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve_feeds(httpserver)
    config = tmp_path / "wall.toml"
    good = f'[storage]\nstate_dir = "{tmp_path / "state"}"\n' + sources(httpserver, "news")
    save(config, good)
    env = wall_env(tmp_path)
    wall = start_wall(config, env)
    try:
        assert wait_for(lambda: stored(config) == ["a", "b"])
        save(config, DEEP)  # comms' editor went wrong
        assert wait_for(lambda: "nested too deeply" in status(config, env).stdout)
        wall.send_signal(signal.SIGHUP)  # and SIGHUP on it: still refused, still alive
        assert wall.poll() is None
        save(config, good + 'opt_out = ["Alice"]\n')  # Alice asks to be left out
        assert wait_for(lambda: stored(config) == ["b"]), stored(config)
        assert "refused" not in status(config, env).stdout
        wall.terminate()
        _, stderr = wall.communicate(timeout=90)
    finally:
        wall.kill()
    assert wall.returncode == 0
    assert "nested too deeply" in stderr and "config reloaded" in stderr and "Traceback" not in stderr


def test_an_empty_save_or_no_source_left_is_refused_and_removed_sources_keep_their_data(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve_feeds(httpserver)
    config = tmp_path / "wall.toml"
    head = f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
    save(config, head + sources(httpserver, "news", "rse"))
    env = wall_env(tmp_path)
    wall = start_wall(config, env)
    try:
        assert wait_for(lambda: stored(config) == ["a", "b", "c"])
        good_copies = {path: path.read_bytes() for path in last_good_copies(tmp_path)}
        assert good_copies

        save(config, "")  # saved empty by mistake
        assert wait_for(lambda: "the file is empty: refused" in status(config, env).stdout)
        save(config, head + "# every source commented out\n")
        assert wait_for(lambda: "no enabled source left" in status(config, env).stdout)
        assert wall.poll() is None
        assert stored(config) == ["a", "b", "c"]  # nothing deleted, nothing taken off the screen
        assert {path: path.read_bytes() for path in last_good_copies(tmp_path)} == good_copies

        save(config, head + sources(httpserver, "news"))  # the RSE source is really removed
        assert wait_for(lambda: stored(config) == ["a", "b"])  # off the screen at once…
        assert kept(config, "rse") == 1  # …but its data waits for the grace period or `wall purge`
        purged = cli("purge", "--config", str(config), env=env)
        assert purged.returncode == 0, purged.stderr
        assert "1 of sources no longer configured" in purged.stdout
        assert kept(config, "rse") == 0
        wall.terminate()
        wall.communicate(timeout=90)
    finally:
        wall.kill()


def test_check_config_on_deep_nesting_prints_one_line(tmp_path: Path) -> None:
    config = tmp_path / "wall.toml"
    save(config, DEEP)
    result = cli("check-config", "--config", str(config), env=wall_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{config}: TOML nested too deeply to read: refused; remove the nested arrays or tables"
    ]


@pytest.mark.parametrize("broken", ["deep nesting", "syntax error"])
def test_run_falls_back_to_the_last_good_copy_whatever_the_broken_file_says(
    tmp_path: Path, httpserver: HTTPServer, broken: str
) -> None:
    serve_feeds(httpserver)
    config = tmp_path / "wall.toml"
    state = tmp_path / "elsewhere"  # a state_dir of its own, named only in the file that breaks
    save(config, f'[storage]\nstate_dir = "{state}"\n' + sources(httpserver, "news"))
    env = wall_env(tmp_path)
    painted(run_until_first_frame(config, env))
    save(config, DEEP if broken == "deep nesting" else f'[storage]\nstate_dir = "{state}"\n[[sources]\n')
    result = run_until_first_frame(config, env)
    painted(result)
    assert "refused; running on the last good copy" in result.stderr


def run_until_first_frame(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return cli("run", "--config", str(config), "--exit-after-first-frame", env=env)


def test_the_last_good_copy_is_private_without_inline_secrets_and_still_falls_back(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/v1/timelines/tag/brand").respond_with_json([])
    base = httpserver.url_for("/").rstrip("/")
    config = tmp_path / "wall.toml"
    masto = f'[[sources]]\nname = "masto"\ntype = "mastodon"\nbase_url = "{base}"\nhashtags = ["brand"]\n'
    save(config, f'[storage]\nstate_dir = "{tmp_path / "state"}"\n{masto}token = "{TOKEN}"\n')
    env = wall_env(tmp_path)
    first = subprocess.run(
        [sys.executable, "-m", "wall.cli", "run", "--config", str(config), "--exit-after-first-frame"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=ROOT,
        umask=0o022,
    )
    painted(first)
    assert "1 inline secret(s) are not in the copy (sources[0].token)" in first.stderr
    copies = last_good_copies(tmp_path)
    assert {copy.parent for copy in copies} == {tmp_path / "state", tmp_path / "xdg-state" / "lobby-wall"}
    for copy in copies:
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert TOKEN not in copy.read_text(encoding="utf-8")

    # The file breaks; the token now comes from the systemd credentials, as kiosk.service loads it.
    save(config, "[[sources]\n")
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "wall_masto.token").write_text(TOKEN + "\n", encoding="utf-8")
    httpserver.clear_log()
    fallback = start_wall(config, {**env, "CREDENTIALS_DIRECTORY": str(credentials)}, "--exit-after", "20")
    try:
        assert wait_for(lambda: len(httpserver.log) > 0)
        fallback.terminate()
        _, stderr = fallback.communicate(timeout=90)
    finally:
        fallback.kill()
    assert "running on the last good copy" in stderr
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def page_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # it answered (a login page, a redirect)
    except OSError:
        return False


def test_web_disabled_by_a_reload_stops_the_page_and_restart_only_settings_say_so(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve_feeds(httpserver)
    config = tmp_path / "wall.toml"
    port = free_port()
    head = f'[storage]\nstate_dir = "{tmp_path / "state"}"\n' + sources(httpserver, "news")
    save(config, head + f"[web]\nenabled = true\nport = {port}\n")
    env = wall_env(tmp_path, WALL_WEB__TOKEN="a-long-random-token-for-the-page")
    wall = start_wall(config, env)
    try:
        assert wait_for(lambda: page_answers(port))
        save(config, head + f"[web]\nenabled = false\nport = {port}\n")
        assert wait_for(lambda: not page_answers(port)), "the page still serves logins"
        save(config, head + f"[web]\nenabled = false\nport = {port}\n[network]\ntimeout = 30\n")
        assert wait_for(lambda: "restart needed: network.timeout" in status(config, env).stdout)
        wall.terminate()
        _, stderr = wall.communicate(timeout=90)
    finally:
        wall.kill()
    assert "moderation page: stopped" in stderr
    assert "network.timeout: 30.0 applies at the next restart" in stderr


def test_status_needs_no_web_token(tmp_path: Path) -> None:
    """The token lives in the systemd credentials, which a shell does not have."""
    config = tmp_path / "wall.toml"
    save(config, f'[storage]\nstate_dir = "{tmp_path / "state"}"\n[web]\nenabled = true\n')
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "wall_web.token").write_text("a-long-random-token-for-the-page\n", encoding="utf-8")
    open_store(load_config(config, env={"CREDENTIALS_DIRECTORY": str(credentials)})).close()
    env = {k: v for k, v in wall_env(tmp_path).items() if k != "CREDENTIALS_DIRECTORY"}
    result = cli("status", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert "wall not running" in result.stdout and result.stderr == ""
