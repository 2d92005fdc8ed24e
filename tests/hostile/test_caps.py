"""What one hostile server, post or config can cost the wall (issue 12): a huge feed is read only as
far as it can be kept, a page is kept only as large as it was asked for, one post cannot fill the
trends, and a config cannot list hashtags without end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from sources import instagram, mastodon, matrix, mattermost, teams, x
from sources.base import HttpFetcher
from tests.support.posts import make_post
from wall.engine.config import ConfigProblems, load_config
from wall.engine.trends import compute_trends

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient() as client:
        yield HttpFetcher(client, max_bytes=20 * 1024 * 1024)


def feed(count: int) -> bytes:
    """An RSS feed of `count` entries, newest first, except its very last entry: the newest of all."""
    dates = [NOW - timedelta(minutes=i + 1) for i in range(count - 1)] + [NOW]
    items = "".join(
        f'<item><guid isPermaLink="false">e{i}</guid><title>t{i}</title>'
        f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>"
        for i, when in enumerate(dates)
    )
    return f'<rss version="2.0"><channel><title>F</title>{items}</channel></rss>'.encode()


def test_a_100000_item_feed_is_read_only_as_far_as_the_wall_keeps(httpserver: HTTPServer) -> None:
    from sources.rss import parse_feed

    posts = parse_feed(feed(100_000), source="f", kind="mention", now=NOW, max_items=50)
    # The first 50 entries: the one at the very end is never parsed (2 × max_items are read at most),
    # which is what makes such a feed cost hundredths of a second instead of seconds a poll.
    assert [post.id for post in posts] == [f"e{i}" for i in range(50)]


def _one_item_then(extra: str, *, close: bool = True) -> bytes:
    item = f"<item><guid>ok</guid><title>Hello</title><pubDate>{format_datetime(NOW, usegmt=True)}</pubDate>"
    end = "</channel></rss>" if close else ""
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
    return f"{head}{item}{extra}</item>{end}".encode()


def test_a_feed_nested_50000_deep_is_refused_before_feedparser_reads_it() -> None:
    """50,000 nested elements in an item (well-formed, or cut short so that feedparser's tolerant
    parser reads it): feedparser spent 2 s of CPU a poll on it, in stretches the GUI thread could not
    run. Refused instead, with a reason `wall status` shows."""
    from sources.base import TransientError
    from sources.rss import parse_feed

    depth = 50_000
    for body in (
        _one_item_then("<x>" * depth + "</x>" * depth),  # well-formed: read whole before
        _one_item_then("&bogus; <x>" * 10 + "<x>" * depth, close=False),  # expat gives up at once
    ):
        with pytest.raises(TransientError, match="nested more than 64 deep"):
            parse_feed(body, source="f", kind="mention", now=NOW)


def test_ordinary_nesting_and_loose_html_are_still_read() -> None:
    """What real feeds do is not refused: Atom content in XHTML a dozen levels deep, and a malformed
    feed whose HTML is not escaped (unclosed <p> and <br>, CDATA full of tags)."""
    from sources.rss import parse_feed

    xhtml = "<div>" * 12 + "deep text" + "</div>" * 12
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        f"<entry><id>a1</id><title>T</title><updated>{NOW.isoformat()}</updated>"
        f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{xhtml}</div></content></entry></feed>'
    ).encode()
    assert [p.id for p in parse_feed(atom, source="f", kind="mention", now=NOW)] == ["a1"]
    html = "<p>line<br>" * 150 + "<![CDATA[" + "<p><br><img src=x>" * 300 + "]]>"
    loose = _one_item_then(f"<description>Café & co {html}</description>")
    assert [p.id for p in parse_feed(loose, source="f", kind="mention", now=NOW)] == ["ok"]


def status(number: int) -> dict[str, object]:
    return {
        "id": str(10**6 - number),
        "created_at": (NOW - timedelta(seconds=number)).isoformat(),
        "visibility": "public",
        "content": f"<p>Post {number} #brand</p>",
        "account": {"id": "1", "username": "lea", "acct": "lea"},
    }


async def test_a_10000_status_page_keeps_only_the_limit_asked_for(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    page = [status(i) for i in range(10_000)]
    httpserver.expect_request("/api/v1/timelines/tag/brand", query_string={"limit": "40"}).respond_with_data(
        json.dumps(page), content_type="application/json"
    )
    settings = mastodon.MastodonSettings(
        name="m",
        type="mastodon",
        base_url=httpserver.url_for("").rstrip("/"),
        hashtags=["brand"],
        stream=False,
    )
    source = mastodon.MastodonSource(settings, http, clock=lambda: NOW)
    batch = await source.poll()
    assert len(batch.posts) == 40
    assert batch.posts[0].text == "Post 0 #brand"  # the newest ones
    assert source.state() == {"cursors": {"brand": str(10**6)}}


def test_every_page_parser_keeps_at_most_what_it_asked_for() -> None:
    tweets = [
        {
            "id": str(1800000000000000000 + i),
            "text": f"t{i}",
            "author_id": "1",
            "created_at": "2026-12-01T11:00:00Z",
        }
        for i in range(1000)
    ]
    users = [{"id": "1", "username": "lea", "name": "Léa"}]
    search = x.parse_search({"data": tweets, "includes": {"users": users}, "meta": {}}, source="x", limit=25)
    assert search is not None and len(search.posts) == 25

    media = [{"id": str(17900000000000000 + i), "timestamp": "2026-12-01T11:00:00+0000"} for i in range(1000)]
    items, _ = instagram.parse_media_page({"data": media}, limit=25)
    assert len(items) == 25

    first = json.loads((FIXTURES / "teams" / "delta_first.json").read_text(encoding="utf-8"))["value"][0]
    messages = [{**first, "id": str(1706695200000 + i)} for i in range(1000)]
    found, _ = teams.parse_delta_page(
        {"value": messages},
        source="t",
        kind="internal",
        base_url="https://g",
        team="t",
        channel="c",
        limit=20,
    )
    assert len(found) == 20

    posts = {
        f"{i:026d}": {"id": f"{i:026d}", "create_at": 1_700_000_000_000 + i, "user_id": "u", "message": "m"}
        for i in range(1000)
    }
    changes = mattermost.parse_post_list(
        {"order": list(posts), "posts": posts}, since=None, floor=None, limit=30
    )
    assert len(changes.posts) == 30

    events = [
        {
            "event_id": f"$e{i}",
            "type": "m.room.message",
            "sender": "@a:x",
            "origin_server_ts": 1 + i,
            "content": {"msgtype": "m.text", "body": f"b{i}"},
        }
        for i in range(1000)
    ]
    sync = {"rooms": {"join": {"!r:x": {"timeline": {"events": events}}}}}
    timeline = matrix.parse_sync_rooms(sync, {"!r:x"}, limit=50)["!r:x"].timeline
    assert [event["event_id"] for event in timeline] == [f"$e{i}" for i in range(950, 1000)]  # the newest


def test_one_post_with_10000_hashtags_adds_at_most_10_to_the_trends() -> None:
    people = [
        make_post(str(i), text=f"Visite du hall #lobby #sujet{i}", created_at=NOW - timedelta(hours=2 + i))
        for i in range(12)
    ]
    stuffing = " ".join(f"#spam{i}" for i in range(10_000)) + " " + "mot " * 10_000
    stuffed = make_post("99", text=stuffing, created_at=NOW)
    trends = compute_trends([*people, stuffed], NOW, top=50)
    shown = [term.text for term in trends.hashtags]
    assert shown[0] == "#lobby"
    assert sum(tag.startswith("#spam") for tag in shown) == 10
    assert {f"#sujet{i}" for i in range(12)} <= set(shown)  # what people talk about is still there


def write_config(tmp_path: Path, hashtags: list[str]) -> Path:
    path = tmp_path / "wall.toml"
    tags = ", ".join(json.dumps(tag) for tag in hashtags)
    path.write_text(
        '[[sources]]\nname = "masto"\ntype = "mastodon"\nbase_url = "https://m.example"\n'
        f"hashtags = [{tags}]\n",
        encoding="utf-8",
    )
    return path


def test_10000_hashtags_in_a_source_are_refused_with_the_field_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigProblems) as caught:
        load_config(write_config(tmp_path, [f"tag{i}" for i in range(10_000)]), env={})
    [line] = caught.value.lines
    assert "sources[0].hashtags" in line and "more than 50 hashtags" in line and "keep the 50" in line
    # The same tag in any case, listed again and again, is one hashtag.
    config = load_config(write_config(tmp_path, ["Brand", "#brand", "BRAND"] * 3000 + ["lobby"]), env={})
    assert config.sources[0].hashtags == ["Brand", "lobby"]  # type: ignore[attr-defined]
