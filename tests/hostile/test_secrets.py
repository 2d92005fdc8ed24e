"""A secret configured in every source type never leaves the process, whatever the servers echo.

Every source points at one hostile server that answers each request with an error body quoting the
whole request (URL, headers, body: the key, the token, the posted password), as API error bodies do;
the Mastodon timeline even writes the request's Authorization header into a post. Then every output
a person or a file gets is searched for the secrets: `check-config --probe`, `wall fetch --json` of
each source, the journal of a real `wall run`, `wall status` (text and JSON), the moderation page,
and every file under the state and cache directories (the SQLite store included).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ROOT = Path(__file__).resolve().parents[2]
SCREEN = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"
WEB_TOKEN = "page-token-Zq81-never-printed"


def secret(kind: str) -> str:
    return f"S3cret-{kind}-7f3a9c21"


def echo(request: Request) -> Response:
    """The whole request, quoted back in the error shapes the networks use."""
    quoted = f"{request.method} {request.url} {dict(request.headers)} {request.get_data(as_text=True)}"
    if "/timelines/tag/" in request.path:  # a 200 whose post carries what the wall sent
        status = {
            "id": "1",
            "created_at": "2026-11-23T08:00:00.000Z",
            "content": f"<p>echo {request.headers.get('Authorization', '')} {request.url}</p>",
            "url": f"https://masto.example/@x/1?{request.query_string.decode()}",
            "account": {"id": "9", "username": "x", "acct": "x", "display_name": quoted[:300], "avatar": ""},
            "media_attachments": [],
            "tags": [],
            "sensitive": False,
            "spoiler_text": "",
        }
        return Response(json.dumps([status]), content_type="application/json")
    body = {
        "error": {"message": quoted, "code": 100, "errors": [{"message": quoted, "reason": quoted}]},
        "errors": [{"message": quoted, "detail": quoted, "title": quoted}],
        "message": quoted,
        "error_description": quoted,
        "errcode": "M_UNKNOWN",
        "ok": False,
    }
    return Response(json.dumps(body), status=400, content_type="application/json")


def config_text(base: str, state: Path, port: int) -> str:
    """Every source type, each with its secret written inline."""
    return f"""
[storage]
state_dir = "{state}"
[web]
enabled = true
port = {port}
[[sources]]
name = "masto"
type = "mastodon"
base_url = "{base}"
hashtags = ["brand"]
token = "{secret("mastodon")}"
stream = false
[[sources]]
name = "sky"
type = "bluesky"
base_url = "{base}"
hashtags = ["brand"]
identifier = "brand.example"
app_password = "{secret("bluesky")}"
[[sources]]
name = "yt"
type = "youtube"
base_url = "{base}"
channels = ["@brand"]
api_key = "{secret("youtube")}"
[[sources]]
name = "fb"
type = "facebook"
base_url = "{base}/v21.0"
page_id = "123"
token = "{secret("facebook")}"
[[sources]]
name = "ig"
type = "instagram"
base_url = "{base}/v21.0"
user_id = "17841400000000000"
token = "{secret("instagram")}"
[[sources]]
name = "li"
type = "linkedin"
base_url = "{base}/rest"
organization_id = "2414183"
token = "{secret("linkedin")}"
[[sources]]
name = "xx"
type = "x"
base_url = "{base}/2"
query = "brand"
bearer_token = "{secret("x")}"
[[sources]]
name = "teams"
type = "teams"
base_url = "{base}/v1.0"
auth_url = "{base}"
tenant = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret = "{secret("teams")}"
team = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
channel = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
[[sources]]
name = "viva"
type = "vivaengage"
base_url = "{base}/api/v1"
groups = ["123"]
token = "{secret("vivaengage")}"
[[sources]]
name = "forum"
type = "discourse"
base_url = "{base}"
api_key = "{secret("discourse")}"
api_username = "system"
[[sources]]
name = "hum"
type = "humhub"
base_url = "{base}"
token = "{secret("humhub")}"
[[sources]]
name = "mx"
type = "matrix"
base_url = "{base}"
rooms = ["!room:localhost"]
token = "{secret("matrix")}"
[[sources]]
name = "mm"
type = "mattermost"
base_url = "{base}"
channels = ["abcdefghijklmnopqrstuvwxyz"]
token = "{secret("mattermost")}"
[[sources]]
name = "sl"
type = "slack"
base_url = "{base}/api"
channels = ["C0123ABCDEF"]
token = "{secret("slack")}"
[[sources]]
name = "feed"
type = "rss"
url = "{base}/feed.xml"
[[panels]]
type = "mentions"
[[panels]]
type = "internal"
"""


SECRET_KINDS = [
    "mastodon",
    "bluesky",
    "youtube",
    "facebook",
    "instagram",
    "linkedin",
    "x",
    "teams",
    "vivaengage",
    "discourse",
    "humhub",
    "matrix",
    "mattermost",
    "slack",
]


def leaks(text: str) -> list[str]:
    """The secrets (in any form a server may echo them) found in `text`."""
    found = []
    for value in [*(secret(k) for k in SECRET_KINDS), WEB_TOKEN]:
        if any(form in text for form in {value, quote(value, safe=""), quote_plus(value)}):
            found.append(value)
    return found


def test_no_configured_secret_reaches_any_output(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(re.compile(".*")).respond_with_handler(echo)
    base = httpserver.url_for("/").rstrip("/")
    state, cache = tmp_path / "state", tmp_path / "cache"
    port = free_port()
    config = tmp_path / "wall.toml"
    config.write_text(config_text(base, state, port), encoding="utf-8")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": SCREEN,
        "XDG_CACHE_HOME": str(cache),
        "WALL_WEB__TOKEN": WEB_TOKEN,
    }

    def wall(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "wall.cli", *args, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env=env,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout + done.stderr

    outputs: dict[str, str] = {"check-config --probe": wall("check-config", "--probe")}
    names = ("masto", "sky", "yt", "fb", "ig", "li", "xx", "teams", "viva", "forum", "hum", "mx", "mm", "sl")
    for name in names:
        outputs[f"fetch {name}"] = wall("fetch", name, "--json")
    # The servers really were sent the secrets, and really echoed them.
    sent = " ".join(str(request) + request.get_data(as_text=True) for request, _ in httpserver.log)
    sent += " ".join(str(dict(request.headers)) for request, _ in httpserver.log)
    assert len(leaks(sent)) >= 10, "the echo server should have received most secrets"
    assert "echo" in outputs["fetch masto"]  # the echoed post was read, its token masked

    running = subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--exit-after", "40", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        outputs["moderation page"] = page_after_login(port)
        time.sleep(2)  # one more round of statuses written
        outputs["status"] = wall("status")
        outputs["status --json"] = wall("status", "--json")
    finally:
        stdout, stderr = running.communicate(timeout=120)
    assert running.returncode == 0, stderr
    outputs["wall run"] = stdout + stderr
    assert "masto" in outputs["status"]
    for path in [*state.rglob("*"), *cache.rglob("*")]:
        if path.is_file():
            outputs[str(path)] = path.read_bytes().decode("latin-1")

    found = {where: leaks(text) for where, text in outputs.items() if leaks(text)}
    assert found == {}
    assert "***" in outputs["fetch masto"] or "***" in outputs["wall run"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def page_after_login(port: int) -> str:
    """The moderation page's HTML, once logged in with the token (waits for the wall to serve it)."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=base, timeout=10) as client:
        while True:
            try:
                form = client.get("/login")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        client.post("/login", data={"csrf": csrf.group(1), "who": "Alice", "token": WEB_TOKEN})
        time.sleep(8)  # the first polls have failed by now, with their echoed errors
        page = client.get("/")
        assert page.status_code == 200 and "Alice" in page.text, page.text[:500]
        return page.text
