"""RSS source: RSS 2.0, Atom, Google Alerts and JSON Feed parsing, and polling over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.base import ConfigError, HttpFetcher, RateLimited, TransientError
from sources.rss import RssSettings, RssSource, parse_feed
from wall.core.model import Media, Post

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rss"
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.acme.example/news.xml"


def spaced(text: str) -> str:
    """Text with French no-break spaces shown as plain spaces (kept on purpose by wall.core.text)."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, **options: Any) -> list[Post]:
    options.setdefault("url", FEED_URL)
    return parse_feed(load(name), source="news", kind="mention", now=NOW, **options)


def by_id(posts: list[Post]) -> dict[str, Post]:
    return {post.id: post for post in posts}


def settings(url: str, **values: Any) -> RssSettings:
    return RssSettings(name="news", type="rss", url=url, **values)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- RSS 2.0 ---------------------------------------------------------------------------------------


def test_rss_posts_are_newest_first_and_undated_ones_get_now() -> None:
    posts = parse("rss2.xml")

    assert [post.created_at for post in posts] == [
        NOW,  # the item without a pubDate
        datetime(2024, 5, 14, 9, 30, tzinfo=UTC),  # 11:30 +0200
        datetime(2024, 5, 13, 8, 0, tzinfo=UTC),
        datetime(2024, 5, 10, 8, 0, tzinfo=UTC),
    ]


def test_rss_item_shows_decoded_plain_text_without_markup_or_script() -> None:
    post = by_id(parse("rss2.xml"))["acme-news-2024-0142"]

    assert spaced(post.text) == (
        "Le nouveau siège ouvre ses portes & accueille 1 200 collaborateurs ! 🎉\n"
        "Café offert « à volonté » toute la journée."
    )
    assert "<" not in post.text and "&amp;" not in post.text and "pwned" not in post.text
    assert post.url == "https://news.acme.example/2024/05/siege"
    assert post.author.name == "Service Presse"  # the e-mail address is not shown
    assert post.author.avatar_url == "https://news.acme.example/logo.png"
    assert post.media == (Media("https://news.acme.example/media/siege-facade.jpg"),)
    assert post.tags == ("Vie du groupe", "Lyon")
    assert post.language == "fr-FR"
    assert (post.network, post.kind, post.source) == ("rss", "mention", "news")


def test_rss_relative_link_is_resolved_and_media_description_becomes_alt() -> None:
    post = by_id(parse("rss2.xml"))["acme-news-2024-0141"]

    assert post.url == "https://feeds.acme.example/2024/05/velo"
    assert spaced(post.text) == "Mai à vélo : inscrivez-vous avant vendredi."
    assert post.media == (
        Media(
            "https://news.acme.example/media/velo.webp",
            "Trois collaborateurs à vélo devant l’entrée du siège",
        ),
    )
    assert post.author.name == "Acme — Salle de presse"  # no author: the feed's title


def test_rss_drops_javascript_and_data_urls_and_falls_back_on_title_and_thumbnail() -> None:
    post = by_id(parse("rss2.xml"))["acme-news-2024-0143"]

    assert post.url == ""
    assert post.text == "Portes ouvertes : inscriptions ouvertes"
    assert post.media == (Media("https://news.acme.example/media/portes-ouvertes-thumb.jpg"),)


def test_rss_permalink_guid_is_the_id_and_dc_creator_the_author() -> None:
    post = by_id(parse("rss2.xml"))["https://news.acme.example/2024/05/resultats-t1"]

    assert post.author.name == "Direction financière"
    assert post.text == "Chiffre d’affaires en hausse de 4 %."


def test_max_items_keeps_the_newest() -> None:
    posts = parse("rss2.xml", max_items=2)

    assert [post.id for post in posts] == ["acme-news-2024-0143", "acme-news-2024-0142"]


def test_kind_and_network_come_from_the_caller() -> None:
    posts = parse_feed(load("rss2.xml"), source="rse", kind="internal", network="intranet", now=NOW)

    assert {(post.kind, post.network, post.source) for post in posts} == {("internal", "intranet", "rse")}


def test_entries_without_id_or_link_get_a_stable_id() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Sans lien</title><pubDate>Mon, 13 May 2024 08:00:00 GMT</pubDate></item>"
        b"</channel></rss>"
    )

    first = parse_feed(body, source="s", kind="mention", now=NOW)
    again = parse_feed(body, source="s", kind="mention", now=datetime(2030, 1, 1, tzinfo=UTC))

    assert first[0].id == again[0].id != ""


def test_latin1_feed_is_decoded() -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>T</title>'
        "<item><guid>1</guid><description>Très bientôt à l'accueil</description></item></channel></rss>"
    ).encode("latin-1")

    assert parse_feed(body, source="s", kind="mention", now=NOW)[0].text == "Très bientôt à l'accueil"


# -- Atom ------------------------------------------------------------------------------------------


def test_atom_entry_shows_summary_author_image_and_edit_time() -> None:
    post = by_id(parse("atom.xml"))["urn:uuid:0c7e1a52-3a0b-4f8e-a1c2-6f5d2d1e7b01"]

    assert spaced(post.text) == "Un an de récoltes, 42 kg de tomates…"
    assert post.author.name == "Camille Martin"
    assert post.author.avatar_url == "https://feeds.acme.example/favicon-128.png"  # the icon, resolved
    assert post.url == "https://blog.acme.example/2024/05/jardin"
    assert post.created_at == datetime(2024, 5, 12, 8, 0, tzinfo=UTC)
    assert post.edited_at == datetime(2024, 5, 12, 13, 30, tzinfo=UTC)
    assert post.media == (
        Media("https://blog.acme.example/img/jardin.png", "Le potager sur le toit, au printemps"),
    )
    assert post.tags == ("RSE", "jardin")
    assert post.language == "fr"


def test_atom_plain_text_content_is_shown_as_written() -> None:
    post = by_id(parse("atom.xml"))["urn:uuid:9a3e55b0-7c1d-4a2e-8f3b-2b6c4d8e0f02"]

    # type="text": the angle brackets are characters, not markup.
    assert post.text == "Q&A: why 5 < 6 matters <b>here</b>."
    assert post.author.name == "Équipe Acme"  # the feed's author, inherited
    assert post.created_at == datetime(2024, 5, 11, 9, 0, tzinfo=UTC)
    assert post.edited_at is None
    assert post.language == "en"


# -- Google Alerts -----------------------------------------------------------------------------------


def test_google_alert_links_to_the_real_article_and_strips_markup() -> None:
    posts = parse("google_alerts.xml")
    first, second = posts

    assert first.network == "google-alerts"
    assert first.id == "tag:google.com,2013:googlealerts/feed:15203866391840022671"
    assert first.url == "https://www.lyon-eco.example/entreprises/acme-nouveau-siege"
    assert spaced(first.text) == (
        "Le groupe Acme inaugure son nouveau siège à Lyon\n"
        "Le groupe Acme a inauguré mardi son siège de Lyon, qui accueille 1 200 salariés"
        " & un restaurant d'entreprise ..."
    )
    assert first.author.name == "lyon-eco.example"
    assert first.created_at == datetime(2024, 5, 14, 9, 12, 44, tzinfo=UTC)
    assert second.url == "https://journal.example.fr/eco/article.php?id=4242&page=1"
    assert second.text.startswith("Acme : « Nous recrutons 300 personnes »\nLa directrice générale d'Acme")
    for post in posts:
        assert "<b>" not in post.text and "google.com" not in post.url


def test_google_alert_network_label_can_be_overridden() -> None:
    assert {post.network for post in parse("google_alerts.xml", network="veille")} == {"veille"}


# -- JSON Feed ---------------------------------------------------------------------------------------


def test_json_feed_item_shows_text_author_and_images() -> None:
    post = by_id(parse("jsonfeed.json"))["2024-05-14-afterwork"]

    assert (
        spaced(post.text)
        == "Rendez-vous jeudi à 18 h sur la terrasse ! 🍹\nApportez vos idées & votre bonne humeur."
    )
    assert "evil" not in post.text
    assert post.author.name == "Léa Dupont"
    assert post.author.avatar_url == "https://intranet.acme.example/avatars/lea.png"
    assert post.url == "https://intranet.acme.example/news/afterwork"
    assert post.created_at == datetime(2024, 5, 14, 8, 0, tzinfo=UTC)
    assert post.media == (  # the audio attachment is not an image
        Media("https://intranet.acme.example/img/terrasse.jpg"),
        Media("https://intranet.acme.example/img/plan.png", "Plan d'accès à la terrasse"),
    )
    assert post.tags == ("vie-interne", "afterwork")
    assert post.language == "fr-FR"


def test_json_feed_drops_unsafe_urls_and_falls_back_on_feed_author() -> None:
    posts = by_id(parse("jsonfeed.json"))
    badge, report = posts["2024-05-13-badge"], posts["1001"]

    assert badge.text == "Pensez à badger en sortant du parking.\n\nMerci !"
    assert (badge.url, badge.media) == ("", ())
    assert badge.author.name == "Communication interne"
    assert badge.author.avatar_url == "https://intranet.acme.example/icon-512.png"
    assert badge.edited_at == datetime(2024, 5, 13, 9, 0, tzinfo=UTC)
    assert report.text == "Our 2023 annual report is out."  # the summary, not the long content
    assert report.url == "https://www.acme.example/en/press/annual-report-2023"
    assert report.created_at == datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    assert report.language == "en"


def test_json_feed_order_is_newest_first() -> None:
    assert [post.id for post in parse("jsonfeed.json")] == [
        "2024-05-14-afterwork",
        "2024-05-13-badge",
        "1001",
    ]


# -- not a feed ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b"<!DOCTYPE html><html><head><title>Acme</title></head><body><p>Hi</p></body></html>",
            id="html-page",
        ),
        pytest.param(b"\x00\x01\x02 garbage \xff\xfe", id="garbage"),
        pytest.param(b'{"data": [1, 2, 3]}', id="json-not-a-feed"),
        pytest.param(b'{"version": "https://jsonfeed.org/version/1.1", "items": ', id="truncated-json"),
        pytest.param(b'<?xml version="1.0"?><rss version="2.0"><channel><title>Cut', id="truncated-rss"),
        pytest.param(b"", id="empty"),
    ],
)
def test_a_body_that_is_not_a_feed_is_a_transient_error_without_the_query(body: bytes) -> None:
    with pytest.raises(TransientError, match="not a feed") as caught:
        parse_feed(body, source="s", kind="mention", now=NOW, url="https://feeds.example/f?key=SECRET")

    assert "https://feeds.example/f" in str(caught.value)
    assert "SECRET" not in str(caught.value)


def test_a_valid_feed_without_entries_is_empty() -> None:
    empty_rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Calme</title></channel></rss>'
    empty_json = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": []})

    assert parse_feed(empty_rss, source="s", kind="mention", now=NOW) == []
    assert parse_feed(empty_json.encode(), source="s", kind="mention", now=NOW) == []


# -- settings ------------------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    value = settings("https://feeds.acme.example/news.xml")

    assert (value.network, value.max_items, value.kind) == ("", 50, "mention")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://feeds.acme.example/news.xml",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "feeds.acme.example",
        "https://",
        "",
    ],
)
def test_settings_refuse_non_http_urls(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(url)

    assert "http:// or https://" in caught.value.errors()[0]["msg"]


def test_settings_error_does_not_repeat_a_key_from_the_query() -> None:
    with pytest.raises(ValidationError) as caught:
        settings("ftp://feeds.acme.example/news.xml?key=SECRET")

    assert "SECRET" not in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize("values", [{"max_items": 0}, {"max_items": 501}, {"colour": "red"}])
def test_settings_refuse_bad_keys_and_limits(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        settings("https://feeds.acme.example/news.xml", **values)


# -- polling over real HTTP --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_poll_returns_posts_then_not_modified(httpserver: HTTPServer, http: HttpFetcher) -> None:
    body = load("rss2.xml")

    def answer(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(body, content_type="application/rss+xml; charset=utf-8", headers={"ETag": '"v1"'})

    httpserver.expect_request("/news.xml").respond_with_handler(answer)
    source = RssSource(settings(httpserver.url_for("/news.xml"), kind="internal"), http, clock=lambda: NOW)

    first = await source.poll()
    second = await source.poll()

    assert [post.id for post in first.posts][:2] == ["acme-news-2024-0143", "acme-news-2024-0142"]
    assert {post.kind for post in first.posts} == {"internal"}
    assert first.posts[0].created_at == NOW  # undated entries take the injected clock
    assert second.not_modified and not second.posts
    (_, response_one), (request_two, _) = httpserver.log
    assert response_one.status_code == 200 and request_two.headers["If-None-Match"] == '"v1"'


@pytest.mark.asyncio
async def test_poll_reads_google_alerts_and_json_feed(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request("/alerts").respond_with_data(
        load("google_alerts.xml"), content_type="application/atom+xml"
    )
    httpserver.expect_request("/feed.json").respond_with_data(
        load("jsonfeed.json"), content_type="application/feed+json"
    )

    alerts = await RssSource(settings(httpserver.url_for("/alerts")), http, clock=lambda: NOW).poll()
    internal = await RssSource(settings(httpserver.url_for("/feed.json")), http, clock=lambda: NOW).poll()

    assert {post.network for post in alerts.posts} == {"google-alerts"}
    assert len(alerts.posts) == 2 and len(internal.posts) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [(500, {}, TransientError), (404, {}, ConfigError), (429, {"Retry-After": "120"}, RateLimited)],
)
async def test_poll_maps_http_errors(
    httpserver: HTTPServer, http: HttpFetcher, status: int, headers: dict[str, str], error: type[Exception]
) -> None:
    httpserver.expect_request("/news.xml").respond_with_data("nope", status=status, headers=headers)
    source = RssSource(settings(httpserver.url_for("/news.xml")), http)

    with pytest.raises(error) as caught:
        await source.poll()

    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 120


@pytest.mark.asyncio
async def test_poll_refuses_an_oversized_feed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/news.xml").respond_with_data(
        load("rss2.xml"), content_type="application/rss+xml"
    )

    async with httpx.AsyncClient(timeout=5) as client:
        source = RssSource(settings(httpserver.url_for("/news.xml")), HttpFetcher(client, max_bytes=512))
        with pytest.raises(TransientError, match="too large"):
            await source.poll()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!DOCTYPE html><html><body><h1>Bienvenue chez Acme</h1></body></html>", "text/html"),
        (bytes(range(256)) * 4, "application/octet-stream"),
    ],
    ids=["html-page", "garbage"],
)
async def test_poll_of_something_else_than_a_feed_is_transient(
    httpserver: HTTPServer, http: HttpFetcher, body: bytes, content_type: str
) -> None:
    httpserver.expect_request("/news.xml").respond_with_data(body, content_type=content_type)
    source = RssSource(settings(httpserver.url_for("/news.xml")), http)

    with pytest.raises(TransientError, match="not a feed"):
        await source.poll()
