"""Consent rules where they matter: `wall fetch`, what the running wall stores and shows, `wall purge`.

The internal network here is an RSS feed (what Jamespot, LumApps or Talkspirit export), served over
real HTTP; the wall runs offscreen as a subprocess, as systemd would start it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from PIL import Image
from pytest_httpserver import HTTPServer

from wall.engine.config import load_config
from wall.engine.images import cache_file
from wall.engine.services import open_store

ROOT = Path(__file__).resolve().parents[2]
SCREEN = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"


def item(guid: str, author: str, text: str, *, age: timedelta, image: str = "") -> str:
    when = format_datetime(datetime.now(UTC) - age, usegmt=True)
    enclosure = f'<enclosure url="{image}" type="image/png" length="100"/>' if image else ""
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><author>{author}</author>'
        f"<description>{text}</description><pubDate>{when}</pubDate>{enclosure}</item>"
    )


def feed(*items: str) -> str:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>RSE</title>{"".join(items)}</channel></rss>'
    )


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def write(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "rse"\ntype = "rss"\nkind = "internal"\nurl = "{url}"\n{extra}\n',
        encoding="utf-8",
    )
    return path


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": SCREEN, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )


def stored(config: Path) -> dict[str, str]:
    """Stored internal posts: id -> author name as the network gave it."""
    store = open_store(load_config(config, env={}))
    try:
        return {p.id: p.author.name for p in store.posts_of("rse")}
    finally:
        store.close()


ALICE = "alice.martin@corp.example (Alice Martin)"
BOB = "bob.durand@corp.example (Bob Durand)"
CHLOE = "chloe.petit@corp.example (Chloé Petit)"


def test_fetch_says_which_posts_lack_consent_and_names_authors_discreetly(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    body = feed(
        item("a", ALICE, "Gâteau en salle 3 #mur", age=timedelta(hours=1)),
        item("b", BOB, "Réunion budget confidentielle", age=timedelta(hours=2)),
        item("c", CHLOE, "Souvenir de l'été #mur", age=timedelta(days=10)),
    )
    httpserver.expect_request("/rse").respond_with_data(body, content_type="application/rss+xml")
    config = write(tmp_path, httpserver.url_for("/rse"))
    result = run(tmp_path, "fetch", "rse", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = {line["id"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert lines["a"]["kind"] == "internal"
    assert (lines["a"]["shown"], lines["a"]["author_name"]) == (True, "Alice M.")
    assert lines["b"]["shown"] is False and lines["b"]["reason"] == "no #mur or #lobby tag (require_tag)"
    assert lines["c"]["shown"] is False and lines["c"]["reason"] == "older than 7 days (retention_days)"
    assert "Bob Durand" not in result.stdout and "Alice Martin" not in result.stdout


def test_only_consented_posts_are_stored_and_an_opt_out_removes_posts_and_pictures(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/cake.png").respond_with_data(png(), content_type="image/png")
    picture = httpserver.url_for("/cake.png")
    body = feed(
        item("a", ALICE, "Gâteau en salle 3 #mur", age=timedelta(hours=1), image=picture),
        item("b", BOB, "Réunion budget confidentielle", age=timedelta(hours=2)),
        item("d", BOB, "Nouveaux vélos au parking #Lobby", age=timedelta(hours=3)),
    )
    httpserver.expect_request("/rse").respond_with_data(body, content_type="application/rss+xml")
    config = write(tmp_path, httpserver.url_for("/rse"))
    assert run(tmp_path, "run", "--exit-after", "4", "--config", str(config)).returncode == 0
    assert stored(config) == {"a": "Alice Martin", "d": "Bob Durand"}
    cached = cache_file(tmp_path / "cache" / "lobby-wall", picture)
    assert cached.is_file(), "the wall showed Alice's picture, so it is in the cache"

    # Alice asks to be left out; the feed is down, so only the purge can take her post away.
    httpserver.clear()
    httpserver.expect_request("/rse").respond_with_data("down", status=503)
    config = write(tmp_path, httpserver.url_for("/rse"), 'opt_out = ["Alice Martin"]')
    result = run(tmp_path, "purge", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "purged 1 posts" in result.stdout and "1 cached pictures" in result.stdout
    assert stored(config) == {"d": "Bob Durand"}
    assert not cached.exists()


def test_an_edit_that_removes_the_tag_takes_the_post_off_and_retention_purges_at_start(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    tagged = feed(
        item("a", ALICE, "Gâteau en salle 3 #mur", age=timedelta(hours=1)),
        item("d", BOB, "Nouveaux vélos au parking #mur", age=timedelta(days=2)),
    )
    httpserver.expect_request("/rse").respond_with_data(tagged, content_type="application/rss+xml")
    config = write(tmp_path, httpserver.url_for("/rse"))
    assert run(tmp_path, "run", "--exit-after", "4", "--config", str(config)).returncode == 0
    assert set(stored(config)) == {"a", "d"}

    httpserver.clear()
    untagged = feed(item("a", ALICE, "Gâteau en salle 3", age=timedelta(hours=1)))
    httpserver.expect_request("/rse").respond_with_data(untagged, content_type="application/rss+xml")
    # Comms shorten the retention: Bob's two-day-old post goes at start, Alice's edit on the next poll.
    config = write(tmp_path, httpserver.url_for("/rse"), "retention_days = 1")
    assert run(tmp_path, "run", "--exit-after", "4", "--config", str(config)).returncode == 0
    assert stored(config) == {}
