"""What strangers send in the hostile run, made at run time (nothing big is checked in): picture
bombs, a gzip bomb, and the RSS, JSON Feed, Mastodon and YouTube answers whose posts point at the
private listener, echo the configured secrets or have the wrong shape. `tests/hostile/servers.py`
serves them.

Every URL minted here is checked to be loopback (`assert_loopback`): this workplace allows traffic
to 127.0.0.0/8 and ::1 only.
"""

from __future__ import annotations

import functools
import io
import ipaddress
import json
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from PIL import Image

from tests.hostile.bombs import BOMBS

GZIP_BOMB_BYTES = 1024 * 1024 * 1024  # what the gzip bomb inflates to (about 1 MB on the wire)
MASTODON_TAG = "brand"

# Post texts a stranger may write: markup, a local file, a right-to-left override, zalgo, a huge word.
HOSTILE_TEXTS = {
    "script": "<p>Bonjour<script>alert('x')</script> le hall</p>",
    "file": "Regardez <img src=file:///etc/passwd> ceci",
    "rtl": "Prix \u202eCBA 99\u202c ok",
    "zalgo": "Z" + "\u0336\u0337\u0338" * 200 + "algo",
    "long": "mot" * 33_400,
}

# -- loopback only ------------------------------------------------------------------------------------


def ipv6_loopback_works() -> bool:
    """True when a server can listen on ::1 here (some containers have no IPv6 at all)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def assert_loopback(url: str) -> str:
    """`url` itself, after checking that every address its host resolves to is loopback (resolved the
    way the C library does, so decimal, hex, octal and short IPv4 forms are seen as connect() sees them)."""
    parts = urlsplit(url)
    host = parts.hostname
    assert host, f"{url}: no host"
    infos = socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)
    addresses = {str(info[4][0]) for info in infos}
    assert addresses and all(_is_loopback(a) for a in addresses), f"{url} is not loopback: {addresses}"
    return url


# -- pictures made at run time -------------------------------------------------------------------------


_MIME = {"webp": "image/webp", "png": "image/png", "bmp": "image/bmp", "gif": "image/gif"}


@functools.cache
def picture_bombs() -> dict[str, tuple[bytes, str]]:
    """The project's picture bombs (tests/hostile/bombs.py: each under the wall's pixel cap, hundreds
    of MB once decoded), made once per process: (body, MIME type) by name."""
    return {name: (make(), _MIME.get(name.split("_")[0], "image/jpeg")) for name, make in BOMBS.items()}


@functools.cache
def good_picture() -> bytes:
    """An ordinary 640x480 PNG: the wall must still load and show pictures like it."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 90, 200)).save(out, "PNG")
    return out.getvalue()


@functools.cache
def gzip_bomb() -> bytes:
    """`GZIP_BOMB_BYTES` of zeros, gzip-compressed to about a thousandth of that."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    body = b"".join(packer.compress(block) for _ in range(GZIP_BOMB_BYTES // len(block)))
    return body + packer.flush()


@dataclass(frozen=True)
class Secrets:
    """The secrets the hostile run configures (through the environment, as kiosk.service does).
    Letters and digits only, so their URL- and JSON-escaped forms are the values themselves and a
    plain search of the outputs finds every copy."""

    mastodon_token: str = "mastoTOKEN7f3a9c21e8d4b6057a1c"
    youtube_key: str = "AIzaSyHOSTILEkey0123456789abcdefXYZ"

    def values(self) -> list[str]:
        """Every secret value, to look for in the wall's outputs."""
        return [self.mastodon_token, self.youtube_key]


class Corpus:
    """The answers of one hostile server at `base`, whose posts point at the private listener
    (`private_urls(path)`: every way of writing its address) and echo `secrets`. Each round (each
    time a feed is asked for) mints new posts and new picture URLs, so the wall tries them all again."""

    def __init__(self, base: str, private_urls: Callable[[str], dict[str, str]], secrets: Secrets) -> None:
        self.base = assert_loopback(base)
        self.private_urls = private_urls
        self.secrets = secrets

    def url(self, path: str) -> str:
        """An absolute URL on the hostile server."""
        return assert_loopback(self.base + path)

    def hostile_pictures(self, round_: int) -> dict[str, str]:
        """Picture URLs for one round, by name: the private listener in every form, redirects from
        this origin to it, bombs, slow and endless pictures, and one good picture. Each round's URLs
        are new, so the wall tries them all again."""
        tag = f"?r={round_}"
        pictures = {f"private-{name}": url for name, url in self.private_urls(f"/p/{round_}").items()}
        target = quote(self.private_urls(f"/p/redirected-{round_}")["ipv4"], safe="")
        pictures["redirect-302"] = self.url(f"/redirect/302?to={target}&r={round_}")
        pictures["redirect-307"] = self.url(f"/redirect/307?to={target}&r={round_}")
        for name in picture_bombs():
            pictures[f"bomb-{name}"] = self.url(f"/pic/bomb/{name}{tag}")
        pictures["bomb-gzip"] = self.url(f"/pic/gzip{tag}")
        pictures["slow"] = self.url(f"/pic/slow{tag}")
        pictures["endless"] = self.url(f"/pic/endless{tag}")
        pictures["good"] = self.url(f"/pic/good{tag}")
        return pictures

    def rss_of_gzip_pictures(self, round_: int, items: int = 12) -> bytes:
        """An RSS feed whose every item's picture is a gzip bomb on the feed's own origin: each one is
        refused over the cap, as it should be; the wall must go on polling all the same."""
        entries = "".join(
            f'<item><guid isPermaLink="false">z{round_}-{i}</guid><title>Bombe {round_}.{i}</title>'
            f"<description>Image {round_}.{i}</description>"
            f'<enclosure url="{_xml(self.url(f"/pic/gzip?r={round_}&i={i}"))}" type="image/png" length="1"/>'
            f"<pubDate>{_rfc822(round_, i)}</pubDate></item>"
            for i in range(items)
        )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Bombes</title>'
            f"<link>{self.base}/</link>{entries}</channel></rss>"
        ).encode()

    def rss(self, round_: int) -> bytes:
        """An RSS 2.0 feed: one item per hostile picture, texts hostile, the channel image private."""
        pictures = self.hostile_pictures(round_)
        chosen = {k: v for k, v in pictures.items() if k.startswith(("private-", "redirect-"))}
        chosen["good"] = pictures["good"]
        texts = list(HOSTILE_TEXTS.items())
        items = []
        for index, (name, url) in enumerate(chosen.items()):
            label, text = texts[index % len(texts)]
            items.append(
                f'<item><guid isPermaLink="false">r{round_}-{name}</guid><title>{label} {round_}</title>'
                f"<description><![CDATA[{text} #{round_}-{index}]]></description>"
                f'<enclosure url="{_xml(url)}" type="image/png" length="1"/>'
                f'<media:thumbnail url="{_xml(url)}"/>'
                f"<pubDate>{_rfc822(round_, index)}</pubDate></item>"
            )
        avatar = _xml(pictures["private-localhost"])
        return (
            '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
            f"<title>Hostile</title><link>{self.base}/</link><image><url>{avatar}</url><title>H</title>"
            f"<link>{self.base}/</link></image>{''.join(items)}</channel></rss>"
        ).encode()

    def json_feed(self, round_: int) -> bytes:
        """A JSON Feed 1.1: pictures that are bombs, banners and author avatars at the private listener."""
        pictures = self.hostile_pictures(round_)
        private = [v for k, v in pictures.items() if k.startswith("private-")]
        bombs = [v for k, v in pictures.items() if k.startswith("bomb-")]
        items = []
        for index, url in enumerate([*bombs, pictures["good"]]):
            items.append(
                {
                    "id": f"j{round_}-{index}",
                    "content_html": f"<b>Salut</b><iframe src='{private[0]}'></iframe> #{round_}-{index}",
                    "image": url,
                    "banner_image": private[index % len(private)],
                    "authors": [{"name": f"Auteur {index}", "avatar": private[(index + 1) % len(private)]}],
                    "date_published": _iso(round_, index),
                }
            )
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Hostile", "items": items}
        return json.dumps(feed).encode()

    def statuses(self, source: str, round_: int) -> bytes:
        """A Mastodon tag timeline page: avatars at the private listener, media that are bombs, redirects,
        slow or endless (only here: they hold this origin's download slots, not the feeds'), the
        configured token echoed in texts and names."""
        pictures = self.hostile_pictures(round_)
        private = [v for k, v in pictures.items() if k.startswith("private-")]
        media = [v for k, v in pictures.items() if not k.startswith("private-")]
        token = self.secrets.mastodon_token
        texts = [*HOSTILE_TEXTS.values(), f"Mon jeton est {token} #{MASTODON_TAG}"]
        statuses = []
        for index, url in enumerate(media):
            sid = str(round_ * 1000 + index)
            statuses.append(
                {
                    "id": sid,
                    "uri": f"{self.base}/{source}/statuses/{sid}",
                    "url": f"{self.base}/{source}/@user{index}/{sid}",
                    "created_at": _iso(round_, index),
                    "content": f"<p>{texts[index % len(texts)]} #{MASTODON_TAG} {sid}</p>",
                    "spoiler_text": f"cw {token}" if index == 1 else "",
                    "visibility": "public",
                    "sensitive": False,
                    "language": "fr",
                    "tags": [{"name": MASTODON_TAG}],
                    "account": {
                        "id": f"{round_}x{index}",
                        "username": f"user{round_}x{index}",
                        "acct": f"user{round_}x{index}@hostile.example",
                        "display_name": f"Nom {token}" if index == 2 else f"Auteur {index}",
                        "avatar": private[index % len(private)],
                        "avatar_static": private[(index + 3) % len(private)],
                        "url": f"{self.base}/@user{index}",
                    },
                    "media_attachments": [
                        {"id": sid, "type": "image", "url": url, "preview_url": url, "description": "x"}
                    ],
                }
            )
        statuses.reverse()  # newest first, as Mastodon answers
        return json.dumps(statuses).encode()

    def malformed_statuses(self, round_: int) -> tuple[int, bytes]:
        """Mastodon-shaped answers of the wrong shape, one kind per round: wrong types, deep nesting,
        an object instead of a list, or an error whose body echoes the token."""
        token = self.secrets.mastodon_token
        kind = round_ % 4
        if kind == 0:
            wrong: list[Any] = [
                {"id": 12, "content": ["x"], "account": None, "created_at": "hier", "media_attachments": {}},
                {"id": str(round_), "content": {"p": 1}, "account": {"avatar": 5}, "created_at": 1e308},
                "not a status",
                None,
            ]
            return 200, json.dumps(wrong).encode()
        if kind == 1:
            depth = 100_000  # deeper than any recursive parser goes
            return 200, (b'[{"id": "1", "card": ' + b"[" * depth + b"]" * depth + b"}]")
        if kind == 2:
            return 200, json.dumps({"error": "not a list", "statuses": [{"id": "2"}]}).encode()
        # A 503, not a 401: an authentication error would stop the source's polls for 15 minutes.
        return 503, json.dumps({"error": f"The access token {token} is overloaded"}).encode()

    def odd_feed(self, round_: int) -> bytes:
        """A feed of the wrong shape, one kind per round: deep nesting, wrong types, not XML at all."""
        kind = round_ % 3
        if kind == 0:
            depth = 50_000
            return b'<?xml version="1.0"?><rss version="2.0"><channel>' + b"<x>" * depth + b"</x>" * depth
        if kind == 1:
            item = (
                "<item><guid>" + "g" * 100_000 + "</guid><pubDate>32 Smarch 99999</pubDate>"
                '<enclosure url="javascript:alert(1)"/><enclosure/><title><![CDATA[]]></title></item>'
            )
            return f'<?xml version="1.0"?><rss version="2.0"><channel>{item * 3}</channel></rss>'.encode()
        return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [[[]], 5, "x"]}).encode()

    def youtube_error(self, round_: int) -> tuple[int, bytes]:
        """A Google API error that echoes the key in its reason and message (403, then 400)."""
        key = self.secrets.youtube_key
        error = {
            "error": {
                "code": 403,
                "message": f"API key {key} not valid. Please pass a valid API key.",
                "errors": [{"message": f"key={key}", "domain": "global", "reason": key}],
                "details": [{"reason": f"{key}"}],
            }
        }
        return (403 if round_ % 2 else 400), json.dumps(error).encode()


def _xml(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _when(round_: int, index: int) -> datetime:
    # Recent, distinct, never in the future: the newest round comes first on screen.
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    return base + timedelta(seconds=index)


def _iso(round_: int, index: int) -> str:
    return _when(round_, index).isoformat().replace("+00:00", "Z")


def _rfc822(round_: int, index: int) -> str:
    return _when(round_, index).strftime("%a, %d %b %Y %H:%M:%S GMT")
