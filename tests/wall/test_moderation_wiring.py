"""Moderation rules applied where comms see them: `wall fetch --json` and what reaches the screen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

from wall.engine.config import ConfigProblems, load_config
from wall.engine.services import open_store

ROOT = Path(__file__).resolve().parents[2]
SCREEN = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"


def feed(*items: tuple[str, str]) -> str:
    entries = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid>'
        f"<title>{text}</title><description>{text}</description>"
        f"<pubDate>Mon, 23 Nov 2026 08:0{n}:00 GMT</pubDate><link>https://news.example/{guid}</link></item>"
        for n, (guid, text) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>{entries}</channel></rss>'


FEED = feed(
    ("a", "Bravo pour le nouveau centre de Lyon"),
    ("b", "Quel connard ce vendeur"),
    ("c", "Des tomates gratuites à l'accueil"),
)


def write(tmp_path: Path, url: str, moderation: str = "") -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n[moderation]\n{moderation}\n'
        f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": SCREEN},
    )


def test_fetch_json_says_what_would_be_shown_and_why(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
    config = write(tmp_path, httpserver.url_for("/feed"))
    result = run("fetch", "news", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = {line["id"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert lines["a"]["shown"] is True and lines["a"]["reason"] == ""
    assert lines["b"]["shown"] is False and "blocked word" in lines["b"]["reason"]


def test_hidden_posts_never_reach_the_screen_and_new_rules_apply_at_restart(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
    config = write(tmp_path, httpserver.url_for("/feed"))
    assert run("run", "--exit-after", "4", "--config", str(config)).returncode == 0

    def on_screen() -> list[str]:
        store = open_store(load_config(config, env={}))
        try:
            return [p.id for p in store.recent_posts("mention")]
        finally:
            store.close()

    assert on_screen() == ["c", "a"]
    # Comms block a word; the feed is down now, so only the stored posts can be re-judged.
    httpserver.clear()
    httpserver.expect_request("/feed").respond_with_data("down", status=503)
    config = write(tmp_path, httpserver.url_for("/feed"), 'blocked_words = ["tomates"]')
    assert run("run", "--exit-after", "4", "--config", str(config)).returncode == 0
    assert on_screen() == ["a"]


def test_a_bad_source_override_is_named(tmp_path: Path) -> None:
    path = tmp_path / "wall.toml"
    path.write_text(
        '[[sources]]\nname = "news"\ntype = "rss"\nurl = "https://news.example/feed"\n'
        '[sources.moderation]\nmode = "later"\n',
        encoding="utf-8",
    )
    try:
        load_config(path, env={})
    except ConfigProblems as problems:
        assert any("sources[0].moderation.mode: 'later' is not allowed" in line for line in problems.lines)
    else:
        raise AssertionError("the bad override was accepted")
