"""Checks of the `[wall.branding]` font and background (issue 7), without Qt.

The config is checked before any window exists (and `wall check-config` runs without a display),
so the installed font families come from fontconfig's `fc-list`, which is what Qt itself uses on
Linux; fonts and pictures are opened with Pillow to tell a readable file from a broken one.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from wall.core.paths import ASSET_SCHEME, asset_path

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_FC_LIST_TIMEOUT_SECONDS = 10.0  # a first run may build fontconfig's cache


def looks_like_a_file(value: str) -> bool:
    """True when a `font` value names a file rather than a family ("Lato" vs "/etc/lobby-wall/lato.ttf")."""
    return value.startswith(ASSET_SCHEME) or "/" in value or value.lower().endswith(FONT_SUFFIXES)


def local_path(value: str) -> Path:
    """The file behind a path or an `asset:` address (raises ValueError outside the assets folder)."""
    if value.startswith(ASSET_SCHEME):
        path = asset_path(value)
        if path is None:
            raise ValueError(
                f"{value!r} points outside the wall's assets folder: use asset:<path inside assets/>"
            )
        return path
    if value.startswith(("http://", "https://")):
        raise ValueError(
            f"{value!r} is a web address: save the file on the wall's computer and give its path"
        )
    return Path(value).expanduser()


@cache
def installed_families() -> frozenset[str] | None:
    """The font families fontconfig knows (every name of each), or None without fontconfig."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        done = subprocess.run(
            [fc_list, "--format", "%{family}\n"],
            capture_output=True,
            text=True,
            timeout=_FC_LIST_TIMEOUT_SECONDS,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    # A font lists its family under several names ("Noto Sans,Noto Sans Regular").
    return frozenset(
        name.strip() for line in done.stdout.splitlines() for name in line.split(",") if name.strip()
    )


def close_families(name: str, families: frozenset[str], count: int = 4) -> list[str]:
    """Installed families that look like `name`: same words in another case, then similar spellings."""
    wanted = name.casefold()
    containing = sorted(f for f in families if wanted in f.casefold() or f.casefold() in wanted)
    by_lower = {f.casefold(): f for f in families}
    similar = [by_lower[f] for f in difflib.get_close_matches(wanted, list(by_lower), n=count, cutoff=0.6)]
    seen: list[str] = []
    for family in similar + containing:
        if family not in seen:
            seen.append(family)
    return seen[:count]


def check_font(value: str) -> str:
    """`value` if it is an installed family or a readable font file; else ValueError saying the fix."""
    value = value.strip()
    if not value:
        return value
    if looks_like_a_file(value):
        path = local_path(value)
        if not path.is_file():
            raise ValueError(
                f"file {str(path)!r} not found: copy the .ttf or .otf file there, or give the name of an "
                "installed family (list them with `fc-list : family`)"
            )
        if path.suffix.lower() not in FONT_SUFFIXES:
            raise ValueError(f"{str(path)!r} is not a font file: give a .ttf or .otf file")
        # Imported here: Pillow's FreeType (a second copy beside Qt's, ~1.5 MB) only for a font file.
        from PIL import ImageFont

        try:
            ImageFont.truetype(str(path), 12)
        except OSError as exc:
            raise ValueError(
                f"{str(path)!r} cannot be read as a font ({exc}): give a valid .ttf or .otf file"
            ) from None
        return value
    families = installed_families()
    if families is None or value.casefold() in {f.casefold() for f in families}:
        return value  # without fontconfig Qt falls back to the wall's fonts: nothing to check against
    close = close_families(value, families)
    hint = f"did you mean {', '.join(repr(f) for f in close)}? " if close else ""
    raise ValueError(
        f"font family {value!r} is not installed on this machine: {hint}Install it (copy its .ttf or .otf "
        "file to /usr/local/share/fonts and run fc-cache) or give the path of the file"
    )


def check_background(items: list[str]) -> list[str]:
    """At most one colour `#rrggbb` and one readable picture; else ValueError saying the fix."""
    colours = [item for item in items if item.startswith("#")]
    images = [item for item in items if item and not item.startswith("#")]
    if len(colours) > 1 or len(images) > 1:
        raise ValueError(
            "give at most one colour and one picture, "
            'e.g. background = ["#102a43", "/etc/lobby-wall/hall.jpg"]'
        )
    for colour in colours:
        if not COLOUR.match(colour):
            raise ValueError(f'{colour!r} is not a colour: write it as #rrggbb, e.g. "#102a43"')
    for image in images:
        path = local_path(image)
        if not path.is_file():
            raise ValueError(f"picture {str(path)!r} not found: give the path of a PNG or JPEG file")
        # Imported here: a display process that only resolves paths (`local_path`, the widgets'
        # theme) loads no Pillow (bench/split.py).
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as picture:
                picture.verify()
        except (OSError, UnidentifiedImageError, SyntaxError) as exc:
            raise ValueError(
                f"picture {str(path)!r} is not readable ({exc}): give a PNG or JPEG file"
            ) from None
    return [item for item in items if item]
