"""A loopback Mastodon-API server for the benchmarks: a hashtag timeline of N generated statuses.

Runs in its own process (`python -m bench.mastodon_server PORT COUNT`) so that serving does not
compete with the wall for the GIL. Pagination follows Mastodon: newest first, `limit`, `max_id`,
`min_id` (results immediately newer than it), and `Link` headers with `next` and `prev`.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

WORDS = [
    "merci",
    "bravo",
    "atelier",
    "équipe",
    "accueil",
    "service",
    "voiture",
    "vélo",
    "café",
    "qualité",
    "rapide",
    "sympa",
]
HASHTAG = '<a href="https://bench.example/tags/brand" class="mention hashtag">#<span>brand</span></a>'


def status(n: int) -> dict[str, object]:
    """Status number `n` in the Mastodon API's Status shape."""
    words = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(12))
    minute, second = divmod(n % 3600, 60)
    return {
        "id": str(n),
        "created_at": f"2026-11-24T{8 + n // 3600 % 10:02d}:{minute:02d}:{second:02d}.000Z",
        "in_reply_to_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "fr",
        "uri": f"https://bench.example/users/u{n % 50}/statuses/{n}",
        "url": f"https://bench.example/@u{n % 50}/{n}",
        "content": f"<p>Post {n} : {words} {HASHTAG}</p>",
        "reblog": None,
        "account": {
            "id": str(n % 50),
            "username": f"u{n % 50}",
            "acct": f"u{n % 50}",
            "display_name": f"Personne {n % 50}",
            "avatar": "",
            "avatar_static": "",
            "followers_count": 10,
        },
        "media_attachments": [],
        "tags": [{"name": "brand", "url": "https://bench.example/tags/brand"}],
        "edited_at": None,
    }


class Timeline(BaseHTTPRequestHandler):
    """GET /api/v1/timelines/tag/<tag>."""

    total = 10_000

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if not url.path.startswith("/api/v1/timelines/tag/"):
            self.send_error(404)
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        limit = min(40, int(query.get("limit", 20)))
        if "min_id" in query:
            low = int(query["min_id"]) + 1
            ids = list(range(low, min(self.total, low + limit - 1) + 1))[::-1]
        else:
            high = int(query["max_id"]) - 1 if "max_id" in query else self.total
            ids = list(range(high, max(0, high - limit), -1))
        body = json.dumps([status(n) for n in ids]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if ids:
            base = f"http://{self.headers['Host']}{url.path}"
            self.send_header(
                "Link",
                f'<{base}?limit={limit}&max_id={ids[-1]}>; rel="next", '
                f'<{base}?limit={limit}&min_id={ids[0]}>; rel="prev"',
            )
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    port, total = int(sys.argv[1]), int(sys.argv[2])
    Timeline.total = total
    server = ThreadingHTTPServer(("127.0.0.1", port), Timeline)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
