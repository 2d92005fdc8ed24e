"""Download, check and downscale images off the GUI thread; keep them in a bounded disk cache.

`ImageLoader.load(url)` returns encoded image bytes (PNG or JPEG, at most `max_side` pixels wide or
high, EXIF orientation applied, metadata dropped, first frame of an animation) or None when the
image is missing, too big, not an image, or broken: a broken image is skipped, never shown half.
Whatever servers send, it stays bounded: each download has a total deadline and a slot of its
origin's few, and what decoding would cost is judged from the header before decoding.
Conversion to `QImage` happens only in `widgets/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, UnidentifiedImageError

from sources.contract import SourceError
from wall.core.paths import asset_path
from wall.core.paths import cache_file as cache_file  # re-exported: where it always was

if TYPE_CHECKING:  # the HTTP stack comes with the first fetcher made: a fleet kiosk makes none
    import httpx

    from sources.base import HttpFetcher

log = logging.getLogger("wall.engine.images")

ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
MAX_DOWNLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 50_000_000  # width × height before decoding; bigger is a likely decompression bomb
# What preparing one picture may hold in memory at once (decoder buffers, the decoded picture, a
# converted copy, the scaling), estimated from its header before anything is decoded (issue 12).
# Pixels alone are no bound: a 49-megapixel WebP of 30 bytes decodes into 0.8 GB. Ordinary pictures
# fit (estimated / measured by bench/pictures.py): a 12 MP phone JPEG, decoded at half scale, 28 / 29 MB,
# progressive 47 / 48 MB; a 4K screenshot 50 / 51 MB; a 1920x1280 WebP 52 / 46 MB. The bombs need
# 240 MB to 0.8 GB. Refused too: WebP over about 3 MP (libwebp needs 16 bytes a pixel), PNG over
# about 10 MP. Pictures are prepared one at a time, so this is all they add to the wall's memory,
# which keeps it under the 300 MB of issue 12 on a 2 GB kiosk.
MAX_DECODE_BYTES = 64 * 1024 * 1024
MAX_SIDE_PX = 1600
CACHE_BYTES = 200 * 1024 * 1024
# A picture's whole download, from the request to the last byte: a server trickling its answer a
# byte at a time never times out a read, so only a total deadline frees its slot (issue 12).
DOWNLOAD_DEADLINE_SECONDS = 25.0
DOWNLOADS_PER_ORIGIN = 2  # one slow server holds at most this many slots
DOWNLOADS = 6  # from all servers together

# Bytes a pixel takes in Pillow's memory by mode (RGB is stored on 4 bytes); unknown modes count 8.
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_PIXEL_BYTES.update(
    dict.fromkeys(("LA", "La", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "I", "F"), 4)
)
_READY_MODES = ("L", "RGB", "RGBA")  # scaled as they are; any other mode is converted at full size first
# Besides the decoded picture, per pixel (measured with bench/pictures.py): libwebp keeps two RGBA
# canvases and hands Pillow a third copy; Pillow's RLE BMP decoder builds the picture twice in Python.
_WEBP_EXTRA_BYTES = 12
_BMP_RLE_EXTRA_BYTES = 2
_COEFFICIENT_BYTES = 2  # a JPEG decoded from several scans keeps every DCT coefficient, whatever the scale


class ImageError(Exception):
    """An image that cannot be shown (the message says why)."""


def prepare_image(
    data: bytes,
    *,
    max_side: int = MAX_SIDE_PX,
    max_pixels: int = MAX_PIXELS,
    max_decode_bytes: int = MAX_DECODE_BYTES,
) -> bytes:
    """Checked, oriented, downscaled, metadata-free image bytes; raises ImageError otherwise.

    What decoding would cost is checked from the header before any pixel is decoded.
    """
    # libwebp allocates its canvases as soon as Pillow opens the file: check their size first.
    webp = _webp_canvas(data)
    if webp is not None:
        _check_size(*webp, max_pixels)
        _check_cost(webp[0] * webp[1] * (4 + _WEBP_EXTRA_BYTES), max_decode_bytes)
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as probe:
            _check_size(*probe.size, max_pixels)
            target = fitted_size(probe.size, max_side)
            if probe.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale, still at least as big as the picture shown.
                probe.draft("RGB", target)
            _check_cost(decode_cost(probe, data, max_side=max_side), max_decode_bytes)
            # Only one full-size picture at a time: a mode that cannot be scaled as it is gets
            # converted first (counted in decode_cost); the scaling replaces it in place; the
            # rotation then works on the small picture.
            image: Image.Image = probe
            if probe.mode not in _READY_MODES:
                image = probe.convert("RGBA" if _has_alpha(probe) else "RGB")
            image.thumbnail(target, Image.Resampling.LANCZOS)
            image = ImageOps.exif_transpose(image)  # `convert` kept the EXIF orientation
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError("too large: likely a decompression bomb") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"not a readable image: {type(exc).__name__}") from None
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, "PNG", optimize=False)
    else:
        image.save(out, "JPEG", quality=88)
    return out.getvalue()


def decode_cost(probe: ImageFile.ImageFile, data: bytes, *, max_side: int = MAX_SIDE_PX) -> int:
    """Bytes that preparing the opened (and drafted) `probe` of `data` would hold at once, at most;
    from the header alone. The most of two moments: decoding (the decoder's buffers and the
    picture), then scaling (the picture, a converted copy, the scaling's own pictures)."""
    width, height = probe.size
    pixels = width * height
    held = pixels * _PIXEL_BYTES.get(probe.mode, 8)
    decoding = held
    if probe.format == "WEBP":
        held += pixels * _WEBP_EXTRA_BYTES  # kept until the file is closed
    elif probe.format == "BMP" and probe.tile and probe.tile[0].codec_name == "bmp_rle":
        decoding += pixels * _BMP_RLE_EXTRA_BYTES
    elif isinstance(probe, JpegImagePlugin.JpegImageFile) and _jpeg_keeps_coefficients(probe, data):
        decoding += _jpeg_coefficient_bytes(probe)
    if probe.mode not in _READY_MODES:
        held += pixels * 4  # the RGB or RGBA copy
    shown_width, shown_height = fitted_size(probe.size, max_side)
    # Scaling makes a picture as wide as the result and as high as the source, then the result.
    scaling = 4 * (shown_width * height + shown_width * shown_height)
    return max(decoding, held + scaling)


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels or width <= 0 or height <= 0:
        raise ImageError(f"{width}x{height} pixels is too large")


def _check_cost(cost: int, max_decode_bytes: int) -> None:
    if cost > max_decode_bytes:
        needed, limit = cost / 2**20, max_decode_bytes / 2**20
        raise ImageError(f"too large to decode: it would take {needed:.0f} MB, over {limit:.0f} MB")


def fitted_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` shrunk to fit a `max_side` square, aspect kept (never grown)."""
    width, height = size
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _webp_canvas(data: bytes) -> tuple[int, int] | None:
    """Width and height a WebP file declares (RIFF header, then a VP8X, VP8L or VP8 chunk)."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended format: 24-bit sizes minus one
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and data[20] == 0x2F:  # lossless: 14-bit sizes minus one
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy key frame: 14-bit sizes
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    return None


def _jpeg_keeps_coefficients(probe: JpegImagePlugin.JpegImageFile, data: bytes) -> bool:
    """True when libjpeg buffers the whole picture's coefficients: a progressive JPEG, or one whose
    first scan does not carry every component (several scans), as libjpeg decides it."""
    if probe.info.get("progressive"):
        return True
    position = 2
    while position + 4 < len(data) and data[position] == 0xFF:  # the segments before the first scan
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA:  # start of scan: how many components it carries
            return data[position + 4] < len(probe.layer)
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return True  # no scan found where expected: assume the worst


def _jpeg_coefficient_bytes(probe: JpegImagePlugin.JpegImageFile) -> int:
    """Memory for every DCT coefficient of the full-size picture: 64 two-byte values a block."""
    width, height = probe.size
    scale = probe.decoderconfig[0] if probe.decoderconfig else 1
    width, height = width * scale, height * scale  # the size before `draft`
    h_max = max((h for _, h, _, _ in probe.layer), default=1) or 1
    v_max = max((v for _, _, v, _ in probe.layer), default=1) or 1
    blocks = sum(-(-width * h // (8 * h_max)) * -(-height * v // (8 * v_max)) for _, h, v, _ in probe.layer)
    return blocks * 64 * _COEFFICIENT_BYTES


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


class DownloadSlots:
    """At most `per_origin` downloads at once from one origin (scheme, host, port) and `total`
    from all: pictures from a slow server wait for that server's slots, never for everyone's."""

    def __init__(self, *, per_origin: int = DOWNLOADS_PER_ORIGIN, total: int = DOWNLOADS) -> None:
        self._per_origin = per_origin
        self._total = asyncio.Semaphore(total)
        # An origin's semaphore lives while someone holds or waits for it, so the table stays as
        # small as the downloads under way, whatever number of servers the posts name.
        self._origins: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, url: str) -> AsyncIterator[None]:
        """Wait for a slot of the origin of `url`, then for a global one; hold both meanwhile."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"
        slots, users = self._origins.get(origin, (asyncio.Semaphore(self._per_origin), 0))
        self._origins[origin] = (slots, users + 1)
        try:
            async with slots, self._total:  # the origin's slot first: its queue holds no global slot
                yield
        finally:
            slots, users = self._origins[origin]
            if users == 1:
                del self._origins[origin]
            else:
                self._origins[origin] = (slots, users - 1)


def picture_fetcher(client: httpx.AsyncClient, origins: Iterable[str] = ()) -> HttpFetcher:
    """How pictures are downloaded: at most MAX_DOWNLOAD_BYTES, never conditional, and never compressed
    (a picture is compressed already: a gzip answer can only be a bomb). `origins`: the configured
    origins of the source whose post shows the picture (`Engine._image_route`)."""
    from sources.base import HttpFetcher

    return HttpFetcher(
        client, max_bytes=MAX_DOWNLOAD_BYTES, conditional=False, compressed=False, origins=origins
    )


class ImageLoader:
    """Loads images for the widgets with a disk cache: downloads bounded per origin and in time,
    one picture prepared at a time (each may take up to MAX_DECODE_BYTES while it is)."""

    def __init__(
        self,
        http: HttpFetcher | None,
        cache_dir: Path | None,
        *,
        concurrency: int = DOWNLOADS,
        per_origin: int = DOWNLOADS_PER_ORIGIN,
        deadline: float = DOWNLOAD_DEADLINE_SECONDS,
        cache_bytes: int = CACHE_BYTES,
        route: Callable[[str], tuple[HttpFetcher, Mapping[str, str]]] | None = None,
    ) -> None:
        self.http_default = http
        # Which fetcher and headers load one URL: an internal network's pictures are on its own
        # (maybe LAN) origin and may need its token; the engine decides (`Engine._image_route`).
        self.route = route
        self.cache_dir = cache_dir
        self.cache_bytes = cache_bytes
        self.deadline = deadline
        self._slots = DownloadSlots(per_origin=per_origin, total=concurrency)
        self._preparing = asyncio.Semaphore(1)
        self._trim_lock = threading.Lock()
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)

    async def load(self, url: str) -> bytes | None:
        """Prepared bytes for `url`, or None (logged once) if it cannot be shown."""
        cached = self._cache_file(url)
        if cached is not None and cached.is_file():
            try:
                os.utime(cached)  # LRU: recently shown images stay in the cache
                return await asyncio.to_thread(cached.read_bytes)
            except OSError:
                pass
        try:
            async with self._slots.hold(url):
                async with asyncio.timeout(self.deadline):  # cancels the download, which closes it
                    raw = await self._fetch(url)
            async with self._preparing:
                prepared = await asyncio.to_thread(prepare_image, raw)
        except TimeoutError:
            log.info("image skipped: %s: not downloaded within %.0f s", url.split("?", 1)[0], self.deadline)
            return None
        except (ImageError, SourceError, OSError) as exc:
            log.info("image skipped: %s: %s", url.split("?", 1)[0], exc)
            return None
        if cached is not None:
            try:
                await asyncio.to_thread(self._write_cache, cached, prepared)
            except OSError as exc:  # a full or read-only disk: show the image anyway
                log.warning("image cache not written: %s", exc)
        return prepared

    async def _fetch(self, url: str) -> bytes:
        local = asset_path(url)
        if local is not None:
            return await asyncio.to_thread(local.read_bytes)
        if not url.startswith(("https://", "http://")) or self.http_default is None:
            raise ImageError("only http(s) and built-in asset images are loaded")
        http, headers = self.route(url) if self.route is not None else (self.http_default, {})
        fetched = await http.get(url, headers=headers or None, conditional=False)
        return fetched.content

    def forget(self, urls: Iterable[str]) -> int:
        """Remove these pictures from the disk cache (consent, retention); returns how many were there."""
        return forget_cached(self.cache_dir, urls) if self.cache_dir is not None else 0

    def _cache_file(self, url: str) -> Path | None:
        if self.cache_dir is None or asset_path(url) is not None:
            return None
        return cache_file(self.cache_dir, url)

    def _write_cache(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(f"{path.name}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a power cut never leaves half an image under the final name
        with self._trim_lock:
            self._trim_cache()

    def _trim_cache(self) -> None:
        if self.cache_dir is None:
            return
        files = []
        for entry in self.cache_dir.iterdir():
            try:
                info = entry.stat()
            except FileNotFoundError:  # renamed or removed by another writer meanwhile
                continue
            files.append((info.st_mtime, info.st_size, entry))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.cache_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size


def forget_cached(cache_dir: Path, urls: Iterable[str]) -> int:
    """Delete the cached pictures of `urls`; returns how many files were removed."""
    removed = 0
    for url in urls:
        path = cache_file(cache_dir, url)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed
