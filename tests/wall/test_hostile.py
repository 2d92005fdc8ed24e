"""Hostile content through the whole wall, and a week of pre-moderated traffic.

Posts carrying markup, a local file reference, a right-to-left override or 100,000 characters, and
pictures that are bombs, truncated, or not pictures at all, arrive over real HTTP in a feed: the wall
runs, stores safe text, never decodes the bad pictures, and renders every panel.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from pytest_httpserver import HTTPServer

from sources.demo import DemoSettings, DemoSource
from wall.engine.config import load_config
from wall.engine.images import cache_file
from wall.engine.moderation.rules import ModerationSettings, Moderator
from wall.engine.services import open_store
from wall.engine.store import Store

ROOT = Path(__file__).resolve().parents[2]
SCREEN = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 200)).save(out, "PNG")
    return out.getvalue()


def bomb() -> bytes:
    """A PNG that declares 20000x20000 pixels in a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")
    return out.getvalue()


def item(guid: str, description: str, image: str = "") -> str:
    enclosure = f'<enclosure url="{image}" type="image/png" length="1"/>' if image else ""
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><title>t{guid}</title>'
        f"<description><![CDATA[{description}]]></description>{enclosure}"
        "<pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate></item>"
    )


def test_hostile_posts_and_pictures_never_crash_nor_render_unsafely(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    pictures = {
        "bomb": (bomb(), "image/png"),
        "truncated": (png(800, 600)[:300], "image/png"),
        "html": (b"<html><script>alert(1)</script></html>", "image/png"),
        "good": (png(640, 480), "image/png"),
    }
    for name, (body, kind) in pictures.items():
        httpserver.expect_request(f"/{name}.png").respond_with_data(body, content_type=kind)
    url = {name: httpserver.url_for(f"/{name}.png") for name in pictures}
    items = [
        item("script", "<p>Bonjour<script>alert('x')</script> le hall</p>", url["bomb"]),
        item("file", "Regardez <img src=file:///etc/passwd> ceci", url["truncated"]),
        item("rtl", "Prix \u202eCBA 99\u202c ok", url["html"]),
        item("long", "mot" * 33_400, url["good"]),  # 100,200 characters, one "word"
        item("zalgo", "Z" + "\u0336\u0337\u0338" * 200 + "algo"),
    ]
    feed = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{"".join(items)}</channel></rss>'
    )
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="application/rss+xml")
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{httpserver.url_for("/feed")}"\n'
        '[[panels]]\ntype = "mentions"\nlimit = 5\n',
        encoding="utf-8",
    )
    env = {**os.environ, "QT_QPA_PLATFORM": SCREEN, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def wall(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wall.cli", *args, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=90,
            cwd=ROOT,
            env=env,
        )

    run = wall("run", "--exit-after", "6")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    store = open_store(load_config(config, env={}))
    try:
        texts = {p.id: p.text for p in store.recent_posts("mention")}
    finally:
        store.close()
    assert set(texts) == {"script", "file", "rtl", "long", "zalgo"}
    assert texts["script"] == "Bonjour le hall"
    assert "file:" not in texts["file"] and "passwd" not in texts["file"]
    assert "\u202e" not in texts["rtl"] and "\u202c" not in texts["rtl"]
    assert len(texts["long"]) < 20_000
    assert texts["zalgo"].count("\u0336") + texts["zalgo"].count("\u0337") < 10
    cache = tmp_path / "cache" / "lobby-wall"
    assert cache_file(cache, url["good"]).is_file()  # the wall did load pictures…
    for bad in ("bomb", "truncated", "html"):  # …but kept none of these
        assert not cache_file(cache, url[bad]).exists()

    shot = wall("snapshot", "--panel", "mentions", "--out", str(tmp_path / "m.png"))
    assert shot.returncode == 0, shot.stderr
    with Image.open(tmp_path / "m.png") as image:
        assert image.size == (1920, 1080)


def test_a_week_of_demo_traffic_in_pre_mode_shows_only_what_a_person_approved(tmp_path: Path) -> None:
    """A poll every 5 minutes for 7 days; comms approve about one post in three, now and then."""
    now = [datetime(2026, 11, 16, 8, 0, tzinfo=UTC)]
    demo = DemoSource(DemoSettings(name="demo", type="demo"), clock=lambda: now[0])
    moderator = Moderator(ModerationSettings(mode="pre"))
    store = Store(tmp_path / "wall.sqlite3", max_posts_per_source=5000)
    chooser = random.Random(7)
    approved: set[str] = set()
    public_seen = 0
    for _ in range(7 * 24 * 12):
        batch = asyncio.run(demo.poll())
        store.apply("demo", batch, now=now[0], verdicts=moderator.judge_many(batch.posts, now=now[0]))
        for post in batch.posts:
            if post.kind == "mention":
                public_seen += 1
                if chooser.random() < 0.33:
                    assert store.decide(post.key, "approve", "comms", now=now[0]) == "mention"
                    approved.add(post.key)
        shown = {p.key for p in store.recent_posts("mention", 60)}
        assert shown <= approved
        now[0] += timedelta(minutes=5)
    assert public_seen > 500 and len(approved) > 150
    assert {p.key for p in store.recent_posts("internal", 5)}  # internal posts are not held back
    store.close()
