"""Images are checked and shrunk off the GUI thread; a bad image is skipped, never shown half."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from pytestqt.qtbot import QtBot

from sources.base import HttpFetcher
from tests.hostile.bombs import png_flat
from wall.engine.images import ImageError, ImageLoader, prepare_image
from widgets.hub import Hub


def png(width: int, height: int, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def test_big_photo_is_downscaled_and_stripped_of_metadata() -> None:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x8825] = {2: (48.0, 51.0, 0.0)}  # GPS position: must not be kept
    Image.new("RGB", (3000, 2000), "blue").save(out, "JPEG", exif=exif)
    prepared = Image.open(io.BytesIO(prepare_image(out.getvalue())))
    assert prepared.size == (1067, 1600)  # rotated (portrait) and at most 1600 px a side
    assert not prepared.getexif()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` pixels but carries almost no data (a bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [20000, 8000])
def test_decompression_bomb_is_refused_before_decoding(side: int) -> None:
    with pytest.raises(ImageError, match="too large"):
        prepare_image(png_header_only(side, side))


def test_non_image_and_truncated_bytes_are_refused() -> None:
    with pytest.raises(ImageError):
        prepare_image(b"<html>not an image</html>")
    with pytest.raises(ImageError):
        prepare_image(png(400, 300)[:200])


def test_animated_gif_becomes_its_first_frame() -> None:
    frames = [Image.new("RGB", (50, 40), c) for c in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    still = Image.open(io.BytesIO(prepare_image(out.getvalue())))
    red, green, blue = still.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
    assert getattr(still, "n_frames", 1) == 1 and red > 240 and green < 15 and blue < 15


@pytest.mark.asyncio
async def test_loader_downloads_caches_and_skips_broken(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/a.png").respond_with_data(png(300, 200), content_type="image/png")
    httpserver.expect_request("/broken.png").respond_with_data(b"GIF89a garbage", content_type="image/png")
    httpserver.expect_request("/huge.png").respond_with_data(b"x" * 2_000_000, content_type="image/png")
    async with httpx.AsyncClient() as client:
        loader = ImageLoader(HttpFetcher(client, max_bytes=1_000_000), tmp_path / "cache")
        first = await loader.load(httpserver.url_for("/a.png"))
        again = await loader.load(httpserver.url_for("/a.png"))  # the server answers only once: from cache
        assert first is not None and again == first
        assert await loader.load(httpserver.url_for("/broken.png")) is None
        assert await loader.load(httpserver.url_for("/huge.png")) is None
        assert await loader.load("file:///etc/passwd") is None
        assert await loader.load("asset:../../etc/passwd") is None
        assert await loader.load("asset:demo/images/atelier.png") is not None


@pytest.mark.asyncio
async def test_disk_cache_is_bounded(tmp_path: Path, httpserver: HTTPServer) -> None:
    for n in range(6):
        httpserver.expect_request(f"/{n}.png").respond_with_data(
            png(200 + n, 200, "white"), content_type="image/png"
        )
    async with httpx.AsyncClient() as client:
        loader = ImageLoader(HttpFetcher(client), tmp_path / "cache", cache_bytes=3000)
        for n in range(6):
            assert await loader.load(httpserver.url_for(f"/{n}.png")) is not None
    assert sum(p.stat().st_size for p in (tmp_path / "cache").iterdir()) <= 3000


def test_a_refused_picture_is_neither_cached_nor_fetched_again_in_a_loop(
    qtbot: QtBot, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A bomb is refused once; the widgets asking for it on every paint do not make the wall
    download it again until the hub's retry delay has passed, and nothing of it is kept on disk."""
    httpserver.expect_request("/bomb.png").respond_with_data(png_flat(7000, 7000), content_type="image/png")
    url = httpserver.url_for("/bomb.png")
    cache = tmp_path / "cache"

    async def load() -> bytes | None:
        async with httpx.AsyncClient() as client:
            return await ImageLoader(HttpFetcher(client, conditional=False), cache).load(url)

    hub = Hub(image_retry_ms=300)
    hub.set_image_requester(lambda asked: hub.add_image(asked, asyncio.run(load())))
    for _ in range(50):  # fifty paints of the card that shows it
        assert hub.image(url) is None
    assert len(httpserver.log) == 1 and not any(cache.iterdir())
    qtbot.waitUntil(lambda: hub.image(url) is None and len(httpserver.log) == 2, timeout=3000)
    assert not any(cache.iterdir())  # the second answer was downloaded, not read from a cache
