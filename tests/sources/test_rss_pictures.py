"""Pictures of feed items (issue 15, "photos first"): Media RSS, enclosures, the `<img>` of an item's
HTML, JSON Feed images and YouTube links, each read from a real HTTP answer of a loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pytest_httpserver import HTTPServer

from sources.base import HttpFetcher
from sources.rss import MAX_MEDIA_PER_POST, RssSettings, RssSource
from wall.core.model import Media, Post

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rss"
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)
CONTENT_TYPES = {".xml": "application/rss+xml; charset=utf-8", ".json": "application/feed+json"}


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


async def poll(httpserver: HTTPServer, http: HttpFetcher, name: str) -> dict[str, Post]:
    """The posts of fixture `name` as the wall gets them: served over HTTP and polled."""
    path = FIXTURES / name
    httpserver.expect_request(f"/{name}").respond_with_data(
        path.read_bytes(), content_type=CONTENT_TYPES[path.suffix]
    )
    settings = RssSettings(name="feed", type="rss", url=httpserver.url_for(f"/{name}"))
    batch = await RssSource(settings, http, clock=lambda: NOW).poll()
    return {post.id: post for post in batch.posts}


def video(still: str, alt: str = "") -> Media:
    """A video as the wall shows it: its still picture, marked as a video."""
    return Media(still, alt, "video", still)


# -- WordPress: the picture is only in the HTML ---------------------------------------------------


@pytest.mark.asyncio
async def test_wordpress_post_shows_the_photo_of_its_content_not_pixels_emoji_or_avatar(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "wordpress.xml")

    # Skipped before it: the emoji, the 1x1 stats pixel, the comment button and the author's
    # Gravatar that WordPress.com adds as a media:content.
    assert posts["https://blog.acme.example/?p=412"].media == (
        Media(
            "https://blog.acme.example/wp-content/uploads/2024/05/atelier-lyon.jpg?w=1024",
            "Deux mécaniciens devant le nouveau pont élévateur",
        ),
    )


@pytest.mark.asyncio
async def test_relative_image_resolves_on_the_item_link_not_on_the_feed_address(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "wordpress.xml")

    assert posts["https://blog.acme.example/?p=409"].media == (
        Media("https://blog.acme.example/wp-content/uploads/2024/05/accueil.jpg", "L’équipe de l’accueil"),
    )


@pytest.mark.asyncio
async def test_an_item_with_only_an_icon_and_a_pixel_has_no_picture(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "wordpress.xml")

    hours = posts["https://blog.acme.example/?p=405"]
    assert hours.text == "Ouvert de 9 h à 19 h."
    assert hours.media == ()


# -- Media RSS and enclosures ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_media_group_shows_one_copy_the_largest_that_fits_the_wall(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "media_rss.xml")

    assert posts["album-bordeaux"].media == (
        Media(
            "https://photos.acme.example/bordeaux/ruban-1280.jpg",
            "Le ruban coupé devant le centre de Bordeaux",
        ),
    )
    # Every copy is larger than the wall's 1600 px: the largest is taken and scaled down.
    assert posts["album-solaire"].media == (
        Media(
            "https://photos.acme.example/solaire/panorama-6000.jpg",
            "Les ombrières solaires du parking, vues du toit",
        ),
    )


@pytest.mark.asyncio
async def test_several_media_contents_are_several_pictures_with_their_alt_text_without_logos(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "media_rss.xml")

    assert posts["album-securite"].media == (
        Media(
            "https://photos.acme.example/securite/freinage.jpg", "Un atelier de freinage sur piste mouillée"
        ),
        Media("https://photos.acme.example/securite/pneus.jpg", "Contrôle de la pression des pneus"),
    )


@pytest.mark.asyncio
async def test_a_video_is_shown_by_its_thumbnail_as_poster(httpserver: HTTPServer, http: HttpFetcher) -> None:
    posts = await poll(httpserver, http, "media_rss.xml")

    assert posts["video-nantes"].media == (
        video("https://videos.acme.example/nantes-poster.jpg", "Visite du centre de Nantes"),
    )


@pytest.mark.asyncio
async def test_image_enclosure_is_a_picture_and_audio_is_not(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "media_rss.xml")

    assert posts["album-lille"].media == (Media("https://photos.acme.example/lille/vitrine.jpg"),)


# -- Atom, YouTube and Google Alerts --------------------------------------------------------------


@pytest.mark.asyncio
async def test_atom_content_image_and_youtube_link_become_a_picture_and_a_video(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "atom_pictures.xml")

    assert posts["urn:uuid:6a1c9d0e-3b4f-4a2d-9c8e-7f6a5b4c3d21"].media == (
        Media(
            "https://tech.acme.example/2024/05/diagnostic/images/diagnostic-boitier.jpg",
            "Un boîtier branché sous le volant",
        ),
        video("https://i.ytimg.com/vi/Acme2024Dia/hqdefault.jpg"),
    )
    assert posts["urn:uuid:0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c54"].media == (
        Media(
            "https://tech.acme.example/images/courbe-co2.png", "La courbe des émissions, en baisse de 12 %"
        ),
    )


@pytest.mark.asyncio
async def test_youtube_channel_feed_entry_is_one_video_with_its_thumbnail(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "youtube_channel.xml")

    # The Flash player URL, the thumbnail and the watch link are the same video: shown once.
    assert posts["yt:video:Acme2024Lyo"].media == (
        video(
            "https://i3.ytimg.com/vi/Acme2024Lyo/hqdefault.jpg",
            "Visite guidée du centre de Lyon : l'atelier, l'accueil et la boutique.",
        ),
    )


@pytest.mark.asyncio
async def test_google_alert_about_a_youtube_video_shows_its_still(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "google_alerts_video.xml")

    (alert,) = posts.values()
    assert alert.url == "https://www.youtube.com/watch?v=Acme2024Pne"
    assert alert.media == (video("https://i.ytimg.com/vi/Acme2024Pne/hqdefault.jpg"),)


# -- JSON Feed ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_json_feed_pictures_image_attachments_html_and_youtube(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    posts = await poll(httpserver, http, "jsonfeed_pictures.json")

    assert posts["2024-05-14-challenge"].media == (
        Media("https://intranet.acme.example/uploads/podium.jpg", "Le podium du challenge vélo"),
    )
    site = posts["2024-05-13-chantier"]
    assert len(site.media) == MAX_MEDIA_PER_POST == 4
    assert site.media == (
        Media("https://intranet.acme.example/uploads/chantier-main.jpg"),
        Media("https://intranet.acme.example/uploads/chantier-banner.jpg"),
        Media("https://intranet.acme.example/uploads/chantier-grue.jpg", "La grue au-dessus du parking"),
        Media("https://intranet.acme.example/uploads/chantier-drone.jpg", "Vue du drone"),
    )
    assert posts["2024-05-12-video"].media == (video("https://i.ytimg.com/vi/Acme2024Voe/hqdefault.jpg"),)
