"""Pictures that would knock the wall over (issue 12): small files that decode into hundreds of
megabytes, and servers that send a picture a byte at a time.

Bombs are refused from their header, before any pixel is decoded, while the pictures people post
still show; a slow server holds only its own download slots, and only until the deadline.
Peak memory is measured by `python -m bench pictures`, not asserted here.
"""

from __future__ import annotations

import asyncio
import functools
import io
import select
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from pytest_httpserver import HTTPServer

from sources.base import HttpFetcher
from tests.hostile.bombs import BOMBS, ordinary_photos
from wall.engine.images import ImageError, ImageLoader, prepare_image


@functools.cache
def bomb(name: str) -> bytes:
    """The bomb `name`, made once per test session."""
    return BOMBS[name]()


@functools.cache
def photo(name: str) -> bytes:
    """The ordinary photo `name`, made once per test session."""
    return ordinary_photos()[name]


def damaged(data: bytes) -> bytes:
    """`data` with its second half (the pixel data, past the header) overwritten: decoding it
    would fail, so a refusal as "too large" shows the size was judged before any decoding."""
    keep = max(26, len(data) // 2)  # a WebP's sizes end at byte 25
    return data[:keep] + b"\xff" * (len(data) - keep)


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_picture_bomb_is_refused_before_decoding(name: str) -> None:
    with pytest.raises(ImageError, match=r"too large to decode: it would take [0-9]+ MB, over 64 MB"):
        prepare_image(bomb(name))
    with pytest.raises(ImageError, match="too large to decode"):
        prepare_image(damaged(bomb(name)))


def test_the_bombs_are_real_pictures_of_7000_pixels_a_side() -> None:
    """The corpus is what the issue describes: whole files, small, under the pixel cap."""
    for name in BOMBS:
        data = bomb(name)
        with Image.open(io.BytesIO(data)) as probe:
            assert probe.width * probe.height <= 50_000_000, name
            assert probe.width >= 6000 and len(data) < 500_000, name


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("jpeg_4000x3000", (1600, 1200)),
        ("jpeg_progressive_4032x3024", (1600, 1200)),
        ("png_screenshot_3840x2160", (1600, 900)),
        ("png_alpha", (1200, 900)),
        ("gif_animated", (480, 360)),
        ("webp_1920x1280", (1600, 1067)),
    ],
)
def test_ordinary_pictures_still_show(name: str, size: tuple[int, int]) -> None:
    shown = Image.open(io.BytesIO(prepare_image(photo(name))))
    assert shown.size == size
    if name == "png_alpha":  # a transparent logo stays transparent around its red square
        assert shown.mode == "RGBA"
        assert shown.getpixel((10, 10))[3] == 0  # type: ignore[index]
        assert shown.getpixel((600, 450)) == (200, 40, 40, 255)
    if name == "gif_animated":  # the first frame
        red, green, blue = shown.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
        assert red > 240 and green < 15 and blue < 15


class TricklingServer:
    """An HTTP server on 127.0.0.1 that promises a 1 MB picture and sends one byte every
    `interval` seconds, until the client hangs up; it counts connections opened and closed."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self.opened = 0
        self.closed = 0
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    def __enter__(self) -> TricklingServer:
        self._threads[0].start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def url(self, path: str) -> str:
        """The URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, *, opened: int = 0, closed: int = 0, timeout: float = 10) -> bool:
        """Block until at least that many connections were opened and closed; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self.opened >= opened and self.closed >= closed, timeout)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by __exit__
                return
            thread = threading.Thread(target=self._trickle, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                request += chunk
            self._count("opened")
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000000\r\n\r\n"
            )
            try:
                while not self._stop.is_set():
                    readable, _, _ = select.select([connection], [], [], self.interval)
                    if readable and not connection.recv(4096):
                        break  # the client hung up
                    connection.sendall(b"\x89")
            except OSError:  # reset by the client
                pass
            self._count("closed")

    def _count(self, what: str) -> None:
        with self._changed:
            setattr(self, what, getattr(self, what) + 1)
            self._changed.notify_all()


@pytest.fixture
def trickling() -> Iterator[TricklingServer]:
    with TricklingServer() as server:
        yield server


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "green").save(out, "PNG")
    return out.getvalue()


@pytest.mark.asyncio
async def test_a_server_sending_a_byte_at_a_time_holds_only_its_own_slots_until_the_deadline(
    tmp_path: object, httpserver: HTTPServer, trickling: TricklingServer
) -> None:
    httpserver.expect_request("/other.png").respond_with_data(png(300, 200), content_type="image/png")
    async with httpx.AsyncClient() as client:
        loader = ImageLoader(HttpFetcher(client, conditional=False), None, deadline=2.0)
        slow = [asyncio.create_task(loader.load(trickling.url(f"/{n}.png"))) for n in range(3)]
        assert await asyncio.to_thread(trickling.wait_for, opened=2)  # two slow downloads under way
        other = asyncio.create_task(loader.load(httpserver.url_for("/other.png")))

        # The picture on the other origin (another port) shows while the slow ones still trickle,
        # and the slow origin got two connections, not three.
        done, _ = await asyncio.wait({other, *slow}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        assert done == {other} and other.result() is not None
        assert trickling.opened == 2

        # The slow ones are abandoned at the deadline, their connections closed by the wall; the
        # third then gets its turn, and its deadline.
        finished, _ = await asyncio.wait(slow, timeout=20)
        assert finished == set(slow) and [task.result() for task in slow] == [None, None, None]
        assert await asyncio.to_thread(trickling.wait_for, opened=3, closed=3)
        assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing left running
