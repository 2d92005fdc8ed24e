"""The `wall` command end to end, as comms and facilities type it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.wall.test_decisions import feed
from wall.core.model import Batch
from wall.engine.config import load_config
from wall.engine.moderation.decisions import PublishedAnnouncement, author_key
from wall.engine.services import build_sources, make_client, open_store

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def wall(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
    )


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(f'[storage]\nstate_dir = "{tmp_path / "state"}"\n{body}', encoding="utf-8")
    return path


def test_check_config_ok_and_broken(tmp_path: Path) -> None:
    ok = wall("check-config", "--config", str(ROOT / "wall.example.toml"))
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = config(tmp_path, '[[sources]]\nname = "f"\ntype = "rss"\nurl = "https://e.org/f"\ninterval = 5\n')
    result = wall("check-config", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{bad}: sources[0].interval: 5 is below the minimum of 15 seconds: use a value of at least 15"
    )


def test_config_from_environment_variable(tmp_path: Path) -> None:
    path = config(tmp_path, "")
    result = wall("check-config", env={"WALL_CONFIG": str(path)})
    assert result.returncode == 0 and str(path) in result.stdout


def test_fetch_rss_prints_json_lines(tmp_path: Path, httpserver: HTTPServer) -> None:
    feed = (FIXTURES / "rss" / "google_alerts.xml").read_bytes()
    httpserver.expect_request("/alerts").respond_with_data(feed, content_type="application/atom+xml")
    path = config(
        tmp_path, f'[[sources]]\nname = "alerts"\ntype = "rss"\nurl = "{httpserver.url_for("/alerts")}"\n'
    )
    result = wall("fetch", "alerts", "--json", "--config", str(path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and all(line["type"] == "post" for line in lines)
    first = lines[0]
    assert set(first) >= {
        "id",
        "network",
        "author_name",
        "author_handle",
        "text",
        "url",
        "created_at",
        "media",
        "sensitive",
    }
    assert first["created_at"].endswith("Z")
    assert all("<b>" not in line["text"] and "google.com/url" not in line["url"] for line in lines)


def test_fetch_shows_a_post_dated_in_the_future_as_the_wall_would_store_it(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
        '<item><guid isPermaLink="false">far</guid><title>Toujours en tête</title>'
        "<pubDate>Fri, 01 Jan 2099 08:00:00 GMT</pubDate></item></channel></rss>"
    )
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="application/rss+xml")
    path = config(
        tmp_path, f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{httpserver.url_for("/feed")}"\n'
    )
    result = wall("fetch", "news", "--json", "--config", str(path))
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(text) for text in result.stdout.splitlines()]
    assert not line["created_at"].startswith("2099")
    assert line["created_at"][:4] == str(datetime.now(UTC).year)


def test_fetch_mastodon_with_token_never_prints_it(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/timelines/tag/brand").respond_with_data("nope", status=401)
    path = config(
        tmp_path,
        '[[sources]]\nname = "masto"\ntype = "mastodon"\n'
        f'base_url = "{httpserver.url_for("/").rstrip("/")}"\n'
        'hashtags = ["brand"]\n',
    )
    result = wall(
        "fetch",
        "masto",
        "--json",
        "--config",
        str(path),
        env={"WALL_SOURCES__MASTO__TOKEN": "tok-very-secret"},
    )
    assert result.returncode == 1
    assert "401" in result.stderr
    assert "tok-very-secret" not in result.stderr + result.stdout
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == "Bearer tok-very-secret"


def test_fetch_unknown_source(tmp_path: Path) -> None:
    path = config(tmp_path, '[[sources]]\nname = "demo"\ntype = "demo"\n')
    result = wall("fetch", "nope", "--json", "--config", str(path))
    assert result.returncode == 2 and "no source is named 'nope': use one of demo" in result.stderr


def test_fetch_demo_counts_and_posts(tmp_path: Path) -> None:
    path = config(tmp_path, '[[sources]]\nname = "demo"\ntype = "demo"\n')
    lines = [
        json.loads(x) for x in wall("fetch", "demo", "--json", "--config", str(path)).stdout.splitlines()
    ]
    counts = [x for x in lines if x["type"] == "count"]
    posts = [x for x in lines if x["type"] == "post"]
    assert len(counts) >= 3 and all(isinstance(c["value"], int) for c in counts)
    assert any(p["kind"] == "internal" for p in posts) and any(p["kind"] == "mention" for p in posts)


def test_status_before_and_after_a_run(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down").respond_with_data("boom", status=500)
    path = config(
        tmp_path, f'[[sources]]\nname = "down"\ntype = "rss"\nurl = "{httpserver.url_for("/down")}"\n'
    )
    before = wall("status", "--config", str(path))
    assert before.returncode == 1 and "the wall has not run with this config" in before.stdout
    assert not (tmp_path / "state" / "wall.sqlite3").exists()  # status creates nothing
    run = wall(
        "run", "--windowed", "--exit-after", "4", "--config", str(path), env={"QT_QPA_PLATFORM": "offscreen"}
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    after = json.loads(wall("status", "--json", "--config", str(path)).stdout)
    (row,) = after["sources"]
    assert row["health"] == "retrying" and "HTTP 500" in row["last_error"]
    assert after["running"] is None


def test_check_config_probe_reports_each_source(tmp_path: Path, httpserver: HTTPServer) -> None:
    feed = (FIXTURES / "rss" / "rss2.xml").read_bytes()
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request("/api/v1/timelines/tag/brand").respond_with_data("no", status=401)
    base = httpserver.url_for("/").rstrip("/")
    path = config(
        tmp_path,
        f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{base}/feed"\n'
        f'[[sources]]\nname = "masto"\ntype = "mastodon"\nbase_url = "{base}"\nhashtags = ["brand"]\n'
        f'[[sources]]\nname = "down"\ntype = "rss"\nurl = "http://127.0.0.1:9/feed"\n'
        '[[sources]]\nname = "later"\ntype = "demo"\nenabled = false\n',
    )
    result = wall("check-config", "--probe", "--config", str(path))
    assert result.returncode == 1, result.stderr
    rows = {line.split()[0]: line.split(None, 3)[2:] for line in result.stdout.splitlines()[2:]}
    assert rows["news"][0] == "ok" and "post(s)" in rows["news"][1]
    assert rows["masto"][0] == "needs_attention" and "401" in rows["masto"][1]
    assert rows["down"][0] == "failing" and "cannot reach" in rows["down"][1]
    assert rows["later"] == ["disabled"]


def test_status_names_a_published_announcement(tmp_path: Path) -> None:
    path = config(tmp_path, '[[sources]]\nname = "demo"\ntype = "demo"\n')
    store = open_store(load_config(path, env={}))
    try:
        store.set_announcement(PublishedAnnouncement("Portes ouvertes samedi", "Venez nombreux"), "Léa")
    finally:
        store.close()
    shown = wall("status", "--config", str(path))
    assert "announcement published by Léa: Portes ouvertes samedi" in shown.stdout
    data = json.loads(wall("status", "--json", "--config", str(path)).stdout)
    assert data["moderation"]["announcement"]["title"] == "Portes ouvertes samedi"


def test_fetch_says_what_the_moderation_page_decided(tmp_path: Path, httpserver: HTTPServer) -> None:
    items = (
        ("a", "Marie", "Bravo Lyon"),
        ("b", "Troll", "Le parking est plein"),
        ("c", "Paul", "Réunion demain"),
    )
    httpserver.expect_request("/feed").respond_with_data(feed(*items), content_type="application/rss+xml")
    path = config(
        tmp_path, f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{httpserver.url_for("/feed")}"\n'
    )

    def shown() -> dict[str, tuple[bool, str | None]]:
        result = wall("fetch", "news", "--json", "--config", str(path))
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        return {line["id"]: (line["shown"], line.get("decision")) for line in lines}

    assert shown() == {"a": (True, None), "b": (True, None), "c": (True, None)}
    assert not (tmp_path / "state").exists()  # fetching alone leaves no store behind

    # The wall polled the feed, then comms blocked Troll and hid Paul's post on the page.
    wall_config = load_config(path, env={})

    async def poll() -> Batch:
        async with make_client(wall_config) as client:
            (source,) = build_sources(wall_config, client)
            return await source.poll()

    batch = asyncio.run(poll())
    store = open_store(wall_config)
    store.apply("news", batch)
    troll = next(post for post in batch.posts if post.id == "b")
    store.block_author(author_key(troll), "Alice")
    assert store.decide("news:c", "hide", "Alice") is not None
    store.close()
    fetched = shown()
    assert fetched["a"] == (True, None)
    assert fetched["c"] == (False, "hide")
    assert fetched["b"][0] is False  # the author blocked on the page
