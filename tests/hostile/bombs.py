"""Picture bombs made at test time: a few bytes to a few hundred kilobytes each, declaring millions
of pixels that a decoder would really allocate (nothing big is checked in).

Each one is a complete, valid file that Pillow decodes in full when asked, below the wall's
50-megapixel cap (issue 12): 7000 x 7000 = 49 megapixels. `ordinary_photos` are what must still show.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

from PIL import Image

SIDE = 7000  # 49 megapixels: under the pixel cap, hundreds of megabytes once decoded


def webp_lossless(width: int = SIDE, height: int = SIDE) -> bytes:
    """A lossless WebP (VP8L) whose five prefix codes each have a single symbol: every pixel costs
    zero bits, so the whole picture fits in a handful of bytes."""
    bits = _BitWriter()
    bits.write(0x2F, 8)  # VP8L signature
    bits.write(width - 1, 14)
    bits.write(height - 1, 14)
    bits.write(0, 1)  # alpha_is_used
    bits.write(0, 3)  # version
    bits.write(0, 1)  # no transform
    bits.write(0, 1)  # no colour cache
    bits.write(0, 1)  # one prefix-code group for the whole image
    for symbol in (0, 0, 0, 255, 0):  # green, red, blue, alpha, distance: one symbol each
        wide = symbol > 1
        bits.write(1, 1)  # simple code
        bits.write(0, 1)  # one symbol
        bits.write(int(wide), 1)
        bits.write(symbol, 8 if wide else 1)
    return _riff_webp(b"VP8L", bits.getvalue())


def png_flat(width: int = SIDE, height: int = SIDE) -> bytes:
    """An 8-bit RGB PNG of one colour: zlib packs its 147 MB of rows into about 150 KB."""
    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)  # filter byte "none", then black pixels
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def bmp_rle8(width: int = SIDE, height: int = SIDE) -> bytes:
    """An RLE8 BMP made of "move the cursor 255 rows down" escapes: about 4 bytes per 255 rows."""
    moves, covered = bytearray(), 0
    while covered < width * height:
        moves += bytes((0, 2, 255, 255))  # delta: 255 right, 255 down (the skipped pixels are index 0)
        covered += 255 + 255 * width
    data = bytes(moves) + bytes((0, 1))  # end of bitmap
    palette = b"\x80\0\0\0\xff\xff\xff\0"  # dark blue, white (BGR0)
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 2, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


def gif_flat(width: int = SIDE, height: int = SIDE) -> bytes:
    """A GIF of one colour: LZW codes for ever longer runs, about 4,000 pixels a code."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # global colour table of 2 entries
    image = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0)
    lzw = _lzw_one_colour(width * height, min_code_size=2)
    blocks = b"".join(bytes((len(lzw[i : i + 255]),)) + lzw[i : i + 255] for i in range(0, len(lzw), 255))
    return b"GIF89a" + screen + b"\0\0\0\xff\xff\xff" + image + b"\x02" + blocks + b"\0;"


def jpeg_progressive(width: int = 6000, height: int = 6000) -> bytes:
    """A progressive JPEG without chroma subsampling: its decoder keeps every DCT coefficient of
    the whole picture (6 bytes a pixel) whatever scale it is asked to decode at."""
    out = io.BytesIO()
    Image.new("L", (width, height), 128).convert("RGB").save(
        out, "JPEG", progressive=True, subsampling=0, quality=50
    )
    return out.getvalue()


BOMBS: dict[str, Callable[[], bytes]] = {
    "webp_lossless": webp_lossless,
    "png_flat": png_flat,
    "bmp_rle8": bmp_rle8,
    "gif_flat": gif_flat,
    "jpeg_progressive": jpeg_progressive,
}


def ordinary_photos() -> dict[str, bytes]:
    """Pictures people really post, which must still show: 12 MP phone photos (baseline and
    progressive), a 4K screenshot, a PNG with alpha, an animated GIF, a WebP photo."""
    photos: dict[str, bytes] = {}
    out = io.BytesIO()
    Image.linear_gradient("L").resize((4000, 3000)).convert("RGB").save(out, "JPEG", quality=90)
    photos["jpeg_4000x3000"] = out.getvalue()
    out = io.BytesIO()
    Image.linear_gradient("L").resize((4032, 3024)).convert("RGB").save(
        out, "JPEG", quality=90, progressive=True, subsampling=2
    )
    photos["jpeg_progressive_4032x3024"] = out.getvalue()
    out = io.BytesIO()
    Image.linear_gradient("L").resize((3840, 2160)).convert("RGB").save(out, "PNG")
    photos["png_screenshot_3840x2160"] = out.getvalue()
    out = io.BytesIO()
    logo = Image.new("RGBA", (1200, 900), (0, 0, 0, 0))
    logo.paste((200, 40, 40, 255), (300, 200, 900, 700))
    logo.save(out, "PNG")
    photos["png_alpha"] = out.getvalue()
    out = io.BytesIO()
    frames = [Image.new("RGB", (480, 360), colour) for colour in ("red", "green", "blue")]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    photos["gif_animated"] = out.getvalue()
    out = io.BytesIO()
    Image.linear_gradient("L").resize((1920, 1280)).convert("RGB").save(out, "WEBP", quality=80)
    photos["webp_1920x1280"] = out.getvalue()
    return photos


class _BitWriter:
    """Bits packed least significant first, as VP8L reads them."""

    def __init__(self) -> None:
        self._value = 0
        self._count = 0

    def write(self, value: int, width: int) -> None:
        self._value |= (value & ((1 << width) - 1)) << self._count
        self._count += width

    def getvalue(self) -> bytes:
        return self._value.to_bytes((self._count + 7) // 8, "little")


def _riff_webp(kind: bytes, payload: bytes) -> bytes:
    chunk = kind + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) % 2)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _lzw_one_colour(pixels: int, *, min_code_size: int) -> bytes:
    """GIF LZW for `pixels` copies of colour 0: each code stands for a run one longer than the last."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    out, acc, nbits = bytearray(), 0, 0

    def emit(code: int, size: int) -> None:
        nonlocal acc, nbits
        acc |= code << nbits
        nbits += size
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8

    size, next_code, run_codes = min_code_size + 1, end + 1, [0]  # run_codes[n - 1]: code of n zeros
    emit(clear, size)
    left = pixels
    while left > 0:
        run = min(len(run_codes), left)
        emit(run_codes[run - 1], size)
        left -= run
        if left <= 0:
            break
        if next_code == 4095:  # table full: start again rather than rely on a deferred clear
            emit(clear, size)
            size, next_code, run_codes = min_code_size + 1, end + 1, [0]
            continue
        run_codes.append(next_code)  # the run just sent plus the next pixel
        if next_code == 1 << size:
            size += 1
        next_code += 1
    emit(end, size)
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)
