"""The wall always starts and shows something (issue 12): a real `wall run` on a damaged, read-only or
full state directory paints its first frame, shows the last readable posts, and `wall status` says
what happened to the store. Nothing of it is drawn on the lobby screen.

Read-only and full folders are real: as root (who ignores mode bits) a read-only bind mount and a
small tmpfs filled to the last byte; as another user, mode 0555 refuses writes already.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.support.posts import make_post
from wall.core.model import Author, Batch
from wall.engine.store import Store

ROOT = Path(__file__).resolve().parents[2]
SCREEN = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"
STORED = 12  # posts in the store before the wall starts


def wall_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a wall under test: its own XDG folders, no systemd."""
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env.update(
        QT_QPA_PLATFORM=SCREEN,
        XDG_STATE_HOME=str(tmp_path / "xdg-state"),
        XDG_RUNTIME_DIR=str(tmp_path / "xdg-run"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
    )
    env.update(extra)
    return env


def write_config(tmp_path: Path, state: Path, body: str) -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(f'[storage]\nstate_dir = "{state}"\n{body}', encoding="utf-8")
    return path


def feed_source(httpserver: HTTPServer, name: str = "news") -> str:
    """A source whose server is down: whatever the wall shows comes from its store."""
    httpserver.expect_request(f"/{name}").respond_with_data("down", status=503)
    return f'[[sources]]\nname = "{name}"\ntype = "rss"\nurl = "{httpserver.url_for("/" + name)}"\n'


MENTIONS = '[[panels]]\ntype = "mentions"\nduration = 5\n'


def fill_store(path: Path, source: str = "news", count: int = STORED) -> None:
    """What a wall stored before: `count` mentions of `source`."""
    store = Store(path)
    posts = tuple(
        make_post(
            str(n),
            text=f"Bravo l'équipe de Lyon {n}",
            source=source,
            network="rss",
            author=Author(f"Auteur {n}"),
            created_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC) + timedelta(minutes=n),
        )
        for n in range(count)
    )
    store.apply(source, Batch(posts=posts))
    store.close()


def first_frame(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`wall run` until its first painted frame (what READY=1 waits for), then out."""
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", "run", "--config", str(config), "--exit-after-first-frame"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=ROOT,
    )


def start_wall(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def status(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", "status", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def running_status(config: Path, env: dict[str, str]) -> dict[str, object] | None:
    """`wall status --json` of a running wall (None while it is not running yet)."""
    result = status(config, env, "--json")
    if result.returncode != 0:
        return None
    data: dict[str, object] = json.loads(result.stdout)
    return data if data["running"] else None


def wait_for(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def painted(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "first-frame-seconds" in result.stdout, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` refuses every write, root's included (root ignores mode bits: a read-only bind mount)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mount("--bind", str(folder), str(folder))
    try:
        mount("-o", "remount,bind,ro", str(folder))
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "2m") -> Iterator[None]:
    """A real filesystem of `size` mounted on `folder` (root only: a tmpfs)."""
    assert os.geteuid() == 0, "a full disk is made with a tmpfs mount: run these tests as root"
    folder.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    try:
        yield
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill_up(folder: Path) -> Path:
    """Write a file until the filesystem refuses a byte more."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == 28  # ENOSPC
    return filler


# --- a corrupt store -------------------------------------------------------------------------


def test_a_garbage_store_is_moved_aside_and_the_wall_starts(tmp_path: Path, httpserver: HTTPServer) -> None:
    state = tmp_path / "state"
    state.mkdir()
    garbage = os.urandom(20_000)
    (state / "wall.sqlite3").write_bytes(garbage)
    config = write_config(tmp_path, state, feed_source(httpserver) + MENTIONS)
    env = wall_env(tmp_path)

    painted(first_frame(config, env))

    (aside,) = state.glob("wall.sqlite3.corrupt-*")
    assert re.fullmatch(r"wall\.sqlite3\.corrupt-\d{8}T\d{6}", aside.name)
    assert aside.read_bytes() == garbage  # kept for a post-mortem, untouched
    Store(state / "wall.sqlite3", read_only=True).close()  # a new, valid store
    shown = status(config, env)
    assert shown.returncode == 0, shown.stderr
    assert f"was corrupt (file is not a database): moved aside to {aside.name}" in shown.stdout


def test_a_truncated_store_is_moved_aside_and_the_wall_starts(tmp_path: Path, httpserver: HTTPServer) -> None:
    state = tmp_path / "state"
    state.mkdir()
    fill_store(state / "wall.sqlite3", count=400)
    data = (state / "wall.sqlite3").read_bytes()
    (state / "wall.sqlite3").write_bytes(data[: len(data) // 2])  # a power cut during a copy
    config = write_config(tmp_path, state, feed_source(httpserver) + MENTIONS)
    env = wall_env(tmp_path)

    painted(first_frame(config, env))

    (aside,) = state.glob("wall.sqlite3.corrupt-*")
    assert f"was corrupt (database disk image is malformed): moved aside to {aside.name}" in (
        status(config, env).stdout
    )


# --- a folder that refuses writes --------------------------------------------------------------


def check_runs_from_memory(config: Path, env: dict[str, str], what: str) -> None:
    """The wall starts, paints, shows the stored posts, and `wall status` says it runs from memory."""
    painted(first_frame(config, env))
    wall = start_wall(config, env, "--exit-after", "20")
    try:
        assert wait_for(lambda: running_status(config, env) is not None), wall.stderr
        record = running_status(config, env)
        assert record is not None
        running = record["running"]
        assert isinstance(running, dict)
        assert running["posts_shown"]["mention"] == STORED  # the last readable content
        assert running["on_screen"] == ["mentions"]
        assert "running from memory" in str(running["store_problem"])
        assert what in str(running["store_problem"])
        text = status(config, env).stdout
        assert "STORE: running from memory" in text
        wall.terminate()
        _, stderr = wall.communicate(timeout=90)
    finally:
        wall.kill()
    assert wall.returncode == 0, stderr
    assert "running from memory" in stderr and "Traceback" not in stderr  # the journal says it too


def test_a_read_only_state_dir_runs_from_memory_with_the_stored_posts(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    fill_store(state / "wall.sqlite3")
    config = write_config(tmp_path, state, feed_source(httpserver) + MENTIONS)
    before = (state / "wall.sqlite3").read_bytes()
    with read_only(state):
        check_runs_from_memory(config, wall_env(tmp_path), "wall.sqlite3")
    assert (state / "wall.sqlite3").read_bytes() == before


def test_a_file_where_the_state_dir_should_be_runs_from_memory(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    state = tmp_path / "state"
    state.write_text("not a folder", encoding="utf-8")
    config = write_config(tmp_path, state, feed_source(httpserver) + MENTIONS)
    env = wall_env(tmp_path)
    painted(first_frame(config, env))
    wall = start_wall(config, env, "--exit-after", "20")
    try:
        assert wait_for(lambda: running_status(config, env) is not None)
        assert "running from memory" in status(config, env).stdout
    finally:
        wall.kill()
        wall.communicate(timeout=90)


def test_a_restart_with_the_disk_full_runs_from_memory_with_the_stored_posts(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path, state, feed_source(httpserver) + MENTIONS)
    with small_disk(state):
        fill_store(state / "wall.sqlite3")
        fill_up(state)
        check_runs_from_memory(config, wall_env(tmp_path), "wall.sqlite3")


# --- the disk fills up while the wall runs ------------------------------------------------------


def test_status_says_the_store_cannot_be_written_while_the_disk_is_full_and_recovers(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(
        tmp_path, state, '[[sources]]\nname = "demo"\ntype = "demo"\ninterval = 1\n' + MENTIONS
    )
    env = wall_env(tmp_path)

    def store_line() -> str:
        return next((line for line in status(config, env).stdout.splitlines() if "STORE:" in line), "")

    with small_disk(state, "4m"):
        wall = start_wall(config, env)
        try:
            assert wait_for(lambda: running_status(config, env) is not None)
            assert store_line() == ""
            filler = fill_up(state)
            assert wait_for(lambda: "cannot write" in store_line()), status(config, env).stdout
            assert "full" in store_line() or "I/O" in store_line()  # SQLite's own words, with its code
            assert re.search(r"\(SQLITE_[A-Z_]+\)", store_line())
            filler.unlink()  # space comes back
            assert wait_for(lambda: store_line() == ""), store_line()
            wall.terminate()
            _, stderr = wall.communicate(timeout=90)
        finally:
            wall.kill()
    assert wall.returncode == 0, stderr
    assert "can be written again" in stderr
