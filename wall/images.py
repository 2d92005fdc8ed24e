"""Download, check and downscale images off the GUI thread; keep them in a bounded disk cache.

`ImageLoader.load(url)` returns encoded image bytes (PNG or JPEG, at most `max_side` pixels wide or
high, EXIF orientation applied, metadata dropped, first frame of an animation) or None when the
image is missing, too big, not an image, or broken: a broken image is skipped, never shown half.
Conversion to `QImage` happens only in `widgets/`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from sources.base import HttpFetcher, SourceError
from wall.paths import asset_path

log = logging.getLogger("wall.images")

ALLOWED_FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP"}
MAX_DOWNLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 50_000_000  # width × height before decoding; bigger is a likely decompression bomb
MAX_SIDE = 1600
CACHE_BYTES = 200 * 1024 * 1024


class ImageError(Exception):
    """An image that cannot be shown (the message says why)."""


def prepare_image(data: bytes, *, max_side: int = MAX_SIDE, max_pixels: int = MAX_PIXELS) -> bytes:
    """Checked, oriented, downscaled, metadata-free image bytes; raises ImageError otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise ImageError(f"format {probe.format} is not allowed")
            width, height = probe.size
            if width * height > max_pixels or width <= 0 or height <= 0:
                raise ImageError(f"{width}x{height} pixels is too large")
            probe.seek(0)  # the first frame of an animation
            probe.draft("RGB", (max_side, max_side))  # JPEG: decode at reduced scale, much faster
            image = ImageOps.exif_transpose(probe.convert("RGBA" if _has_alpha(probe) else "RGB"))
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError("too large: likely a decompression bomb") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"not a readable image: {type(exc).__name__}") from None
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, "PNG", optimize=False)
    else:
        image.save(out, "JPEG", quality=88)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


class ImageLoader:
    """Loads images for the widgets, at most `concurrency` at once, with a disk cache."""

    def __init__(
        self,
        http: HttpFetcher | None,
        cache_dir: Path | None,
        *,
        concurrency: int = 2,
        cache_bytes: int = CACHE_BYTES,
        route: Callable[[str], tuple[HttpFetcher, Mapping[str, str]]] | None = None,
    ) -> None:
        self.http_default = http
        # Which fetcher and headers load one URL: an internal network's pictures are on its own
        # (maybe LAN) origin and may need its token; the engine decides (`Engine._image_route`).
        self.route = route
        self.cache_dir = cache_dir
        self.cache_bytes = cache_bytes
        self._slots = asyncio.Semaphore(concurrency)
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
        async with self._slots:
            try:
                raw = await self._fetch(url)
                prepared = await asyncio.to_thread(prepare_image, raw)
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


def cache_file(cache_dir: Path, url: str) -> Path:
    """Where the prepared picture of `url` is cached."""
    return cache_dir / hashlib.sha256(url.encode()).hexdigest()


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
