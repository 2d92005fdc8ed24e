"""The moderation page over real HTTP: login, sessions, CSRF, login delays, headers (issue 5), and on
a company network: HTTPS off loopback, Host names, secrets in what the page shows (issue 12).

The page runs on aiohttp's test server (a real socket on 127.0.0.1) in front of a real Engine, Store,
Hub and window; requests go through aiohttp's client, cookies and all. HTTPS runs the real `WebServer`
with a certificate made at test time by a test CA.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytest_httpserver import HTTPServer

from tests.support.clock import MonotonicClock, Sleeper
from tests.support.posts import make_post
from tests.support.tls import Tls, make_tls
from tests.wall.test_app import ROOT, start_wall, wait_for, write_config
from wall.core.model import Author, Batch, Health, Media, Post, SourceStatus, utcnow
from wall.engine.config import ConfigProblems, WallSection, WebSettings, load_config, parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from wall.engine.store import Store
from wall.engine.web_guard import MAX_DELAY_S, LoginDelay
from wall.shell.desk import WallDesk
from wall.shell.windows import build_windows
from wall.web.server import CSP, SESSION_COOKIE, ModerationPage, WebServer
from widgets.hub import Hub
from widgets.window import WallWindow

Http: TypeAlias = "TestClient[web.Request, web.Application]"
TOKEN = "k3y-Of-the-L0bby-Wall-0123456789"
HOSTILE = "<script>alert('xss')</script><img src=x onerror=alert(2)> \u202eevil\u202c done"


@dataclass
class Wall:
    """A wall without its poller: posts arrive as a source's batch, judged by the Engine's rules."""

    store: Store
    hub: Hub
    engine: Engine
    desk: WallDesk
    page: ModerationPage
    server: TestServer
    clock: MonotonicClock
    web: WebSettings
    window: WallWindow
    sleeper: Sleeper
    responses: list[str] = field(default_factory=list)

    def arrive(self, *posts: Post) -> None:
        verdicts = self.engine.moderators["news"].judge_many(posts)
        self.store.apply("news", Batch(posts=posts), verdicts=verdicts)


def mention(post_id: str, text: str, *, author: str = "Camille", alt: str = "", minutes: int = 0) -> Post:
    """A mention by @`author`@masto.example in the news source, `minutes` into the last hour (real time)."""
    media = (Media("https://img.example/1.png", alt),) if alt else ()
    by = Author(author, f"@{author.lower()}@masto.example")
    when = utcnow() - timedelta(minutes=60 - minutes)
    return make_post(post_id, text=text, source="news", author=by, created_at=when, media=media)


@asynccontextmanager
async def open_wall(
    tmp_path: Path, *, panels: list[dict[str, Any]] | None = None, language: str = "fr"
) -> AsyncIterator[Wall]:
    """A wall with its page on a test server: one window (the first screen), two posts stored."""
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "moderation": {"mode": "pre"},
            "sources": [{"name": "news", "type": "rss", "url": "http://127.0.0.1:9/feed"}],
            "panels": panels or [{"type": "mentions", "duration": 30}],
            "wall": {"language": language},
            "web": {"enabled": True},
        },
        env={"WALL_WEB__TOKEN": TOKEN},
    )
    store, hub, client = open_store(config), Hub(), make_client(config)
    engine = Engine(config, store, hub, client)
    engine.fill_screen_from_store()
    (window,) = build_windows(config, hub)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(1920, 1080)
    window.show()
    desk = WallDesk(store, lambda: engine, lambda: [window])
    clock = MonotonicClock()
    sleeper = Sleeper(clock)
    page = ModerationPage(config.web, config.wall, desk, clock=clock, sleep=sleeper)
    server = TestServer(page.app(), host="127.0.0.1")
    await server.start_server()
    parts = Wall(store, hub, engine, desk, page, server, clock, config.web, window, sleeper)
    parts.arrive(
        mention("1", "Bravo pour le magasin de Lille", alt="a red bicycle", minutes=1),
        mention("2", HOSTILE, author="Mallory", minutes=2),
    )
    try:
        yield parts
    finally:
        # A change from the test's last action may still wait in the hub's 150 ms coalescing timer;
        # flushed now, while this loop runs, the pictures it asks for are tasks `engine.stop` cancels,
        # instead of requests that reach a later test with no loop at all.
        hub.flush()
        await server.close()
        window.close()
        desk.close()
        await engine.stop()
        await client.aclose()
        store.close()


@pytest.fixture
async def wall(tmp_path: Path, qapp: QApplication) -> AsyncIterator[Wall]:
    async with open_wall(tmp_path) as parts:
        yield parts


@pytest.fixture
async def client(wall: Wall) -> AsyncIterator[Http]:
    async with TestClient(wall.server) as http:
        yield http


async def read(wall: Wall, response: ClientResponse) -> str:
    """The body, remembered with the headers so a test can check the token never went out."""
    body = await response.text() if response.content_type.startswith("text/") else ""
    wall.responses.append(f"{dict(response.headers)}\n{body}")
    return body


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found[1]


async def login(wall: Wall, http: Http, token: str = TOKEN, who: str = "Alice") -> ClientResponse:
    form = await http.get("/login")
    csrf = csrf_of(await read(wall, form))
    response = await http.post(
        "/login", data={"csrf": csrf, "who": who, "token": token}, allow_redirects=False
    )
    await read(wall, response)
    return response


async def test_every_page_and_the_screen_need_a_login(wall: Wall, client: Http) -> None:
    page = await client.get("/", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login"
    screen = await client.get("/screen.png")
    assert screen.status == 401 and screen.content_type != "image/png"
    for path in ("/act", "/panic", "/logout", "/announcement"):
        refused = await client.post(
            path, data={"key": "news:1", "action": "approve", "on": "1", "text": "Hi"}
        )
        assert refused.status == 403, path
    assert wall.store.decision("news:1") is None and not wall.store.panic()
    assert wall.store.announcement() is None
    assert wall.hub.posts("mention") == []


async def test_a_login_gives_a_safe_session_cookie_never_the_token(wall: Wall, client: Http) -> None:
    response = await login(wall, client)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = next(c for c in response.headers.getall("Set-Cookie") if c.startswith(SESSION_COOKIE + "="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= flags
    assert "samesite=strict" in cookie.lower()
    assert re.search(r"max-age=43200\b", cookie.lower())  # 12 hours, then log in again
    assert TOKEN not in cookie

    page = await client.get("/")
    html = await read(wall, page)
    assert page.status == 200
    assert "Bravo pour le magasin de Lille" in html and "a red bicycle" in html
    assert "awaiting approval" in html and "Alice" in html
    screen = await client.get("/screen.png")
    assert screen.status == 200 and screen.content_type == "image/png"
    picture = Image.open(io.BytesIO(await screen.read()))
    assert picture.size == (960, 540)  # the 1920x1080 screen, scaled down
    approve = await client.post("/act", data={"csrf": csrf_of(html), "key": "news:1", "action": "approve"})
    await read(wall, approve)
    assert approve.status == 200 and wall.store.decision("news:1") == "approve"
    assert [p.id for p in wall.hub.posts("mention")] == ["1"]
    logout = await client.post("/logout", data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert logout.status == 303
    assert (await client.get("/", allow_redirects=False)).status == 303  # logged out
    assert all(TOKEN not in text for text in wall.responses)


async def test_guessing_slows_that_address_down_but_the_right_token_always_gets_in(
    wall: Wall, client: Http, caplog: pytest.LogCaptureFixture
) -> None:
    # Everyone behind the company's proxy shares one address with whoever guesses the token.
    caplog.set_level(logging.INFO)
    for attempt in range(5):
        wrong = await login(wall, client, token=TOKEN[:-1] + str(attempt))
        assert wrong.status == 403
        assert "Nom ou jeton refusé" in wall.responses[-1]
        assert SESSION_COOKIE not in wrong.cookies
    right = await login(wall, client)  # waits its turn, then gets in
    assert right.status == 303 and right.headers["Location"] == "/"
    # No wait before the first guess, then twice as long after each failure.
    assert wall.sleeper.waits == [1, 2, 4, 8, 16]
    assert (await client.get("/", allow_redirects=False)).status == 200
    for attempt in range(5):
        await login(wall, client, token=TOKEN[:-1] + str(attempt))
    assert max(wall.sleeper.waits) == MAX_DELAY_S  # capped: the right token never waits longer
    assert (await login(wall, client, who="Bob")).status == 303
    wall.clock.now += 3600  # failures are forgotten: an hour later nobody waits
    waits = len(wall.sleeper.waits)
    assert (await login(wall, client)).status == 303 and len(wall.sleeper.waits) == waits
    assert TOKEN not in caplog.text and TOKEN[:-1] not in caplog.text
    assert (
        "failed login" in caplog.text and "'Alice' logged in" in caplog.text and "waits 16 s" in caplog.text
    )


async def test_parallel_guesses_from_one_address_queue_behind_each_other(wall: Wall, client: Http) -> None:
    await login(wall, client, token="wrong-" + TOKEN)
    async with TestClient(wall.server) as a, TestClient(wall.server) as b, TestClient(wall.server) as c:
        forms = [(http, csrf_of(await (await http.get("/login")).text())) for http in (a, b, c)]
        # Three guesses at once: each waits for the failures before it, not all for the first one's.
        answers = await asyncio.gather(
            *(
                http.post("/login", data={"csrf": csrf, "who": "Eve", "token": "x" * 20})
                for http, csrf in forms
            )
        )
        assert [a.status for a in answers] == [403, 403, 403]
        assert all("Nom ou jeton refusé" in text for text in [await a.text() for a in answers])
    assert wall.sleeper.waits == [1, 2, 4]


def test_many_failures_from_everywhere_slow_every_login_without_refusing_it() -> None:
    clock = MonotonicClock()
    delays = LoginDelay(clock=clock)
    for n in range(20):
        delays.failed(f"10.0.0.{n}")
    assert delays.delay("10.0.1.1") == 1  # a new address waits too
    for n in range(20, 40):
        delays.failed(f"10.0.0.{n}")
    assert delays.delay("10.0.1.1") == MAX_DELAY_S
    clock.now += 3600
    assert delays.delay("10.0.1.1") == 0 and delays.delay("10.0.0.1") == 0


async def test_a_login_without_its_form_token_is_refused(wall: Wall, client: Http) -> None:
    forged = await client.post("/login", data={"who": "Eve", "token": TOKEN}, allow_redirects=False)
    assert forged.status == 403 and SESSION_COOKIE not in forged.cookies
    await client.get("/login")
    wrong = await client.post(
        "/login", data={"csrf": "guess", "who": "Eve", "token": TOKEN}, allow_redirects=False
    )
    assert wrong.status == 403 and SESSION_COOKIE not in wrong.cookies


async def test_posts_without_the_right_csrf_token_are_refused(wall: Wall, client: Http) -> None:
    await login(wall, client)
    html = await read(wall, await client.get("/"))
    for data in ({}, {"csrf": "not-the-one"}, {"csrf": csrf_of(html)[:-2]}):
        act = await client.post("/act", data={**data, "key": "news:1", "action": "approve"})
        assert act.status == 403 and "expiré" in await act.text()
        panic = await client.post("/panic", data={**data, "on": "1"})
        assert panic.status == 403
    assert wall.store.decision("news:1") is None and not wall.store.panic()
    assert wall.hub.posts("mention") == [] and wall.store.audit_log() == []
    # Another session's token is no better.
    async with TestClient(wall.server) as other:
        await login(wall, other, who="Bob")
        act = await other.post("/act", data={"csrf": csrf_of(html), "key": "news:1", "action": "approve"})
        assert act.status == 403
    assert wall.store.decision("news:1") is None


async def test_every_response_has_the_security_headers(wall: Wall, client: Http) -> None:
    responses = [await client.get("/login"), await client.get("/screen.png"), await client.post("/act")]
    await login(wall, client)
    responses += [await client.get(p) for p in ("/", "/static/page.css", "/static/page.js", "/screen.png")]
    for response in responses:
        assert response.headers["Content-Security-Policy"] == CSP, response.url
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP and "default-src 'none'" in CSP
    html = await responses[3].text()
    assert "<script>" not in html and not re.search(r"<[^>]*\son\w+=", html)  # no live tag, no handler
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html  # shown as text, escaped


async def test_the_page_speaks_english_when_the_wall_does(wall: Wall) -> None:
    english = ModerationPage(wall.web, WallSection(language="en"), wall.desk)
    async with TestClient(TestServer(english.app())) as http:
        form = await http.get("/login")
        assert "Log in" in await form.text()
        csrf = csrf_of(await form.text())
        await http.post("/login", data={"csrf": csrf, "who": "Alice", "token": TOKEN})
        html = await (await http.get("/?show=awaiting")).text()
    assert "Approve" in html and "Block author" in html and "Panic screen" in html
    assert "Bravo pour le magasin de Lille" in html


async def test_comms_unblock_an_author_from_the_list_and_their_posts_come_back(
    wall: Wall, client: Http
) -> None:
    await login(wall, client)
    csrf = csrf_of(await read(wall, await client.get("/")))
    await client.post("/act", data={"csrf": csrf, "key": "news:1", "action": "approve"})
    await client.post("/act", data={"csrf": csrf, "key": "news:1", "action": "block"})
    assert wall.hub.posts("mention") == []
    html = await read(wall, await client.get("/"))
    section = html[html.index('<section class="blocked"') : html.index('<section class="audit"')]
    assert "Auteurs bloqués" in section and "Débloquer" in section
    assert "Camille" in section and "@camille@masto.example" in section and "mastodon" in section
    assert "Bloqué par <bdi>Alice</bdi> le" in section

    unblock = await client.post(
        "/unblock", data={"csrf": csrf, "author": "@camille@masto.example"}, allow_redirects=False
    )
    assert unblock.status == 303 and unblock.headers["Location"] == "/?show=all#blocked"
    assert [p.id for p in wall.hub.posts("mention")] == ["1"]  # approved before the block: back
    assert wall.store.blocked_authors() == []
    entry = wall.store.audit_log()[0]
    assert (entry.who, entry.action, entry.detail) == ("Alice", "unblock author", "@camille@masto.example")
    html = await read(wall, await client.get("/"))
    assert "Aucun auteur bloqué" in html
    again = await client.post("/unblock", data={"csrf": csrf, "author": "@camille@masto.example"})
    assert again.status == 404 and "plus) bloqué" in await again.text()


async def test_an_unblock_without_a_login_or_its_csrf_token_is_refused(wall: Wall, client: Http) -> None:
    await wall.engine.act("news:1", "block", "Alice")
    anonymous = await client.post("/unblock", data={"author": "@camille@masto.example"})
    assert anonymous.status == 403 and "Connectez-vous" in await anonymous.text()
    await login(wall, client, who="Eve")
    html = await read(wall, await client.get("/"))
    for data in ({}, {"csrf": "forged"}, {"csrf": csrf_of(html)[:-1]}):
        refused = await client.post("/unblock", data={**data, "author": "@camille@masto.example"})
        assert refused.status == 403 and "expiré" in await refused.text()
    async with TestClient(wall.server) as other:  # another session's token is no better
        await login(wall, other, who="Bob")
        refused = await other.post(
            "/unblock", data={"csrf": csrf_of(html), "author": "@camille@masto.example"}
        )
        assert refused.status == 403
    assert wall.store.blocked_authors() == ["@camille@masto.example"]
    assert [a.action for a in wall.store.audit_log()] == ["block author"]


async def test_the_blocked_authors_speak_english_when_the_wall_does(wall: Wall) -> None:
    await wall.engine.act("news:2", "block", "Alice")
    english = ModerationPage(wall.web, WallSection(language="en"), wall.desk)
    async with TestClient(TestServer(english.app())) as http:
        form = await http.get("/login")
        await http.post("/login", data={"csrf": csrf_of(await form.text()), "who": "Bob", "token": TOKEN})
        html = await (await http.get("/")).text()
        assert "Blocked authors" in html and "Unblock" in html and "Blocked by <bdi>Alice</bdi> on" in html
        gone = await http.post("/unblock", data={"csrf": csrf_of(html), "author": "@nobody"})
        assert gone.status == 404 and "no longer) blocked" in await gone.text()
    assert "Auteurs bloqués" not in html and "Débloquer" not in html


# --- on a company network (issue 12): HTTPS off loopback, known Host names, no secret on the page ---


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path / "tls")


@asynccontextmanager
async def serve_https(wall: Wall, tls: Tls, **web: Any) -> AsyncIterator[WebServer]:
    """The real WebServer of `wall run`, over HTTPS on a free loopback port, in front of `wall`."""
    settings = parse_config(
        {"web": {"enabled": True, "port": free_port(), "cert": str(tls.cert), "key": str(tls.key), **web}},
        env={"WALL_WEB__TOKEN": TOKEN},
    ).web
    server = WebServer(settings, WallSection(), wall.desk)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def test_a_page_off_loopback_needs_https(tls: Tls, tmp_path: Path) -> None:
    env = {"WALL_WEB__TOKEN": TOKEN}
    with pytest.raises(ConfigProblems) as plain:
        parse_config({"web": {"enabled": True, "host": "0.0.0.0"}}, env=env)
    assert plain.value.lines == [
        "wall.toml: web: host: '0.0.0.0' is reachable from the network but the page would be plain "
        'HTTP: set cert and key (PEM files) to serve HTTPS, or keep host = "127.0.0.1" (and reach it '
        "through an SSH tunnel or an HTTPS proxy)"
    ]
    with pytest.raises(ConfigProblems) as lan:  # a LAN address, and a DNS name, are no better
        parse_config({"web": {"host": "10.20.30.40"}}, env=env)
    assert "host: '10.20.30.40' is reachable from the network" in lan.value.lines[0]
    with pytest.raises(ConfigProblems):
        parse_config({"web": {"host": "wall.corp.example"}}, env=env)

    missing, folder = tmp_path / "nowhere" / "cert.pem", tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(ConfigProblems) as unreadable:
        parse_config({"web": {"host": "0.0.0.0", "cert": str(missing), "key": str(folder)}}, env=env)
    assert unreadable.value.lines == [
        f"wall.toml: web.cert: file '{missing}' not found: put the PEM certificate there or fix the path",
        f"wall.toml: web.key: cannot read '{folder}' (Is a directory): make it a file readable by the "
        "user that runs the wall",
    ]
    with pytest.raises(ConfigProblems) as half:
        parse_config({"web": {"cert": str(tls.cert)}}, env=env)
    assert half.value.lines == [
        "wall.toml: web: key: is missing: give both cert and key (PEM files) to serve HTTPS, or neither"
    ]
    other = make_tls(tmp_path / "other")
    with pytest.raises(ConfigProblems) as mismatch:
        parse_config({"web": {"cert": str(tls.cert), "key": str(other.key)}}, env=env)
    (line,) = mismatch.value.lines
    assert line.startswith(f"wall.toml: web: cert, key: '{tls.cert}' and '{other.key}' are not a PEM")
    assert "give matching PEM files" in line and "BEGIN" not in line
    locked = tmp_path / "locked-key.pem"
    key = serialization.load_pem_private_key(tls.key.read_bytes(), None)
    locked.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(ConfigProblems) as encrypted:  # a kiosk cannot type a passphrase at boot
        parse_config({"web": {"cert": str(tls.cert), "key": str(locked)}}, env=env)
    assert "(the private key is encrypted)" in encrypted.value.lines[0]
    with pytest.raises(ConfigProblems) as everywhere:  # every address: which names do browsers use?
        parse_config({"web": {"host": "0.0.0.0", "cert": str(tls.cert), "key": str(tls.key)}}, env=env)
    assert everywhere.value.lines == [
        "wall.toml: web: server_names: is empty while host = '0.0.0.0' listens on every address: list the "
        'names people type to reach the page, e.g. server_names = ["wall.corp.example"]'
    ]
    config = parse_config(
        {
            "web": {
                "host": "0.0.0.0",
                "cert": str(tls.cert),
                "key": str(tls.key),
                "server_names": ["Wall.Corp.Example"],
            }
        },
        env=env,
    )
    assert config.web.allowed_names() == ["wall.corp.example"]


async def test_the_page_over_https_logs_in_with_a_secure_cookie(wall: Wall, tls: Tls) -> None:
    async with serve_https(wall, tls) as server:
        base = f"https://localhost:{server.port}"
        async with httpx.AsyncClient(base_url=base, verify=tls.client_context(), timeout=10) as http:
            form = await http.get("/login")
            assert form.status_code == 200 and form.headers["Content-Security-Policy"] == CSP
            done = await http.post(
                "/login", data={"csrf": csrf_of(form.text), "who": "Alice", "token": TOKEN}
            )
            assert done.status_code == 303 and done.headers["Location"] == "/"
            cookie = next(c for c in done.headers.get_list("Set-Cookie") if c.startswith(SESSION_COOKIE))
            flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
            assert {"secure", "httponly", "samesite"} <= flags and "samesite=strict" in cookie.lower()
            assert "secure" in form.headers["Set-Cookie"].lower()  # the login form's nonce too
            page = await http.get("/")
            assert page.status_code == 200 and "Bravo pour le magasin de Lille" in page.text
            approve = await http.post(
                "/act", data={"csrf": csrf_of(page.text), "key": "news:1", "action": "approve"}
            )
            assert approve.status_code == 303 and wall.store.decision("news:1") == "approve"
        # The token never crosses the network in clear: the port speaks TLS only.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as plain:
            with pytest.raises(httpx.TransportError):
                await plain.get("/login")


async def test_a_name_the_page_does_not_know_is_refused_and_logged_once(
    wall: Wall, client: Http, caplog: pytest.LogCaptureFixture
) -> None:
    # DNS rebinding: evil.example resolves to 127.0.0.1, and a visitor's browser sends its name.
    port = wall.server.port
    for _ in range(3):
        for path in ("/login", "/", "/static/page.js"):
            refused = await client.get(path, headers={"Host": f"evil.example:{port}"}, allow_redirects=False)
            assert refused.status == 421 and "Jeton" not in await refused.text()
            assert refused.headers["Content-Security-Policy"] == CSP
    forged = await client.post(
        "/login", headers={"Host": "evil.example"}, data={"who": "Eve", "token": TOKEN}
    )
    assert forged.status == 421 and SESSION_COOKIE not in forged.cookies
    assert (await client.get("/login", headers={"Host": "intranet.corp.example"})).status == 421
    lines = [r.getMessage() for r in caplog.records if "refused (421)" in r.getMessage()]
    assert len(lines) == 2 and "'evil.example'" in lines[0] and "'intranet.corp.example'" in lines[1]
    assert "add it to [web] server_names" in lines[0]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST."):
        assert (await client.get("/login", headers={"Host": host})).status == 200, host


async def test_the_names_in_server_names_reach_the_page_over_https(wall: Wall, tls: Tls) -> None:
    async with (
        serve_https(wall, tls, server_names=["wall.corp.example"]) as server,
        httpx.AsyncClient(verify=tls.client_context(), timeout=10) as http,
    ):
        url = f"https://localhost:{server.port}/login"
        assert (await http.get(url)).status_code == 421  # only the configured names now
        # Connected to 127.0.0.1, as a browser that resolved the name would be.
        named = await http.get(url, headers={"Host": f"wall.corp.example:{server.port}"})
        assert named.status_code == 200 and "Jeton" in named.text


async def test_the_page_shows_the_sources_errors_without_their_secrets(wall: Wall, client: Http) -> None:
    # An API that echoes a key back in its error body; the page's token stands for any configured secret.
    echoed = f"HTTP 403 from https://api.example/v3/search?key={TOKEN}: invalid key {TOKEN}"
    wall.hub.update_status(
        SourceStatus("news", "rss", Health.NEEDS_ATTENTION, last_error=echoed, last_error_at=utcnow())
    )
    await login(wall, client)
    html = await read(wall, await client.get("/"))
    section = html[html.index('<section class="sources"') : html.index('<section class="audit"')]
    assert "news" in section and "à corriger" in section
    assert "HTTP 403 from https://api.example/v3/search?key=***: invalid key ***" in section
    assert all(TOKEN not in text for text in wall.responses)


# --- end to end: the wall as systemd runs it, pre-moderation, a real feed, the page over HTTP ---------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_post_approved_on_the_page_reaches_the_screen_and_stays_after_a_restart(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        '<item><guid isPermaLink="false">a</guid><title>Bravo Lyon</title>'
        "<pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate></item>"
        '<item><guid isPermaLink="false">b</guid><title>Autre chose</title>'
        "<pubDate>Mon, 23 Nov 2026 08:01:00 GMT</pubDate></item></channel></rss>"
    )
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="application/rss+xml")
    config = write_config(tmp_path, httpserver.url_for("/feed"))
    port = free_port()
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'[moderation]\nmode = "pre"\n[web]\nenabled = true\nport = {port}\n',
        encoding="utf-8",
    )
    env = {"WALL_WEB__TOKEN": TOKEN, "XDG_STATE_HOME": str(tmp_path / "xdg")}
    wall = start_wall(config, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: len(stored(config)) == 2), "the feed was never stored"
        assert on_screen(config) == []  # pre-moderation: not on screen
        with httpx.Client(base_url=base, timeout=10) as http:
            assert wait_for(lambda: _answers(http))
            form = http.get("/login")
            done = http.post("/login", data={"csrf": csrf_of(form.text), "who": "Alice", "token": TOKEN})
            assert done.status_code == 303
            page = http.get("/?show=awaiting")
            assert "Bravo Lyon" in page.text and TOKEN not in page.text
            act = http.post("/act", data={"csrf": csrf_of(page.text), "key": "news:a", "action": "approve"})
            assert act.status_code == 303
            assert on_screen(config) == ["Bravo Lyon"]  # stored before the answer: on screen now
            screen = http.get("/screen.png")
            assert screen.status_code == 200 and Image.open(io.BytesIO(screen.content)).size == (960, 540)
        wall.send_signal(signal.SIGKILL)  # a power cut right after the click
        wall.wait(timeout=10)
    finally:
        wall.kill()
    again = start_wall(config, "--exit-after", "5", env=env)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr
    assert on_screen(config) == ["Bravo Lyon"]  # re-judged at start, polled again: still approved
    assert "moderation page on http://127.0.0.1" in stderr
    assert TOKEN not in stderr and "Traceback" not in stderr
    status = subprocess.run(
        [sys.executable, "-m", "wall.cli", "status", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=ROOT,
    )
    assert "posts awaiting approval: 1" in status.stdout


def test_an_author_unblocked_on_the_page_stays_unblocked_after_a_kill(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        '<item><guid isPermaLink="false">a</guid><author>marie@example.org (Marie)</author>'
        "<title>Bravo Lyon</title><pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate></item>"
        '<item><guid isPermaLink="false">b</guid><author>troll@example.org (Troll)</author>'
        "<title>Le parking est plein</title><pubDate>Mon, 23 Nov 2026 08:01:00 GMT</pubDate></item>"
        "</channel></rss>"
    )
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="application/rss+xml")
    config = write_config(tmp_path, httpserver.url_for("/feed"))
    port = free_port()
    config.write_text(
        config.read_text(encoding="utf-8") + f"[web]\nenabled = true\nport = {port}\n", encoding="utf-8"
    )
    env = {"WALL_WEB__TOKEN": TOKEN, "XDG_STATE_HOME": str(tmp_path / "xdg")}
    wall = start_wall(config, env=env)
    try:
        assert wait_for(lambda: len(on_screen(config)) == 2), "the feed was never shown"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            assert wait_for(lambda: _answers(http))
            form = http.get("/login")
            http.post("/login", data={"csrf": csrf_of(form.text), "who": "Alice", "token": TOKEN})
            csrf = csrf_of(http.get("/").text)
            assert (
                http.post("/act", data={"csrf": csrf, "key": "news:b", "action": "block"}).status_code == 303
            )
            assert on_screen(config) == ["Bravo Lyon"]
            assert "Troll" in http.get("/").text.split('<section class="blocked"')[1]
            unblock = http.post("/unblock", data={"csrf": csrf, "author": "Troll"})
            assert unblock.status_code == 303
            assert on_screen(config) == ["Le parking est plein", "Bravo Lyon"]  # stored before the answer
        wall.send_signal(signal.SIGKILL)
        wall.wait(timeout=10)
    finally:
        wall.kill()
    again = start_wall(config, "--exit-after", "5", env=env)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr
    assert on_screen(config) == ["Le parking est plein", "Bravo Lyon"]  # re-judged at start: still shown
    assert "Traceback" not in stderr
    store = open_store(load_config(config, env={"WALL_WEB__TOKEN": TOKEN}))
    try:
        assert store.blocked_authors() == []
        assert [(a.who, a.action, a.detail) for a in store.audit_log()] == [
            ("Alice", "unblock author", "Troll"),
            ("Alice", "block author", "Troll"),
        ]
    finally:
        store.close()


def test_check_config_refuses_a_plain_page_off_loopback_and_wall_run_serves_https(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title></channel></rss>',
        content_type="application/rss+xml",
    )
    config = write_config(tmp_path, httpserver.url_for("/feed"))
    base = config.read_text(encoding="utf-8")
    env = {"WALL_WEB__TOKEN": TOKEN, "XDG_STATE_HOME": str(tmp_path / "xdg")}
    config.write_text(base + '[web]\nenabled = true\nhost = "0.0.0.0"\n', encoding="utf-8")
    check = subprocess.run(
        [sys.executable, "-m", "wall.cli", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=ROOT,
    )
    assert check.returncode != 0
    assert f"{config}: web: host: '0.0.0.0' is reachable from the network" in check.stderr
    assert "set cert and key (PEM files) to serve HTTPS" in check.stderr and TOKEN not in check.stderr

    tls, port = make_tls(tmp_path / "tls"), free_port()
    config.write_text(
        base + f'[web]\nenabled = true\nport = {port}\ncert = "{tls.cert}"\nkey = "{tls.key}"\n',
        encoding="utf-8",
    )
    wall = start_wall(config, "--exit-after", "8", env=env)
    try:
        with httpx.Client(
            base_url=f"https://127.0.0.1:{port}", verify=tls.client_context(), timeout=10
        ) as http:
            assert wait_for(lambda: _answers(http)), "the page never answered over HTTPS"
            form = http.get("/login")
            done = http.post("/login", data={"csrf": csrf_of(form.text), "who": "Alice", "token": TOKEN})
            assert done.status_code == 303 and "secure" in done.headers["Set-Cookie"].lower()
        _, stderr = wall.communicate(timeout=60)
    finally:
        wall.kill()
    assert wall.returncode == 0, stderr
    assert f"moderation page on https://127.0.0.1:{port}/" in stderr
    assert "BEGIN" not in stderr and TOKEN not in stderr and "Traceback" not in stderr


def stored(config: Path) -> list[str]:
    store = open_store(load_config(config, env={"WALL_WEB__TOKEN": TOKEN}))
    try:
        return [item.post.id for item in store.queue()]
    finally:
        store.close()


def on_screen(config: Path) -> list[str]:
    store = open_store(load_config(config, env={"WALL_WEB__TOKEN": TOKEN}))
    try:
        return [p.text for p in store.recent_posts("mention")]
    finally:
        store.close()


def _answers(http: httpx.Client) -> bool:
    try:
        return http.get("/login").status_code == 200
    except httpx.TransportError:
        return False


def test_the_page_needs_a_long_token_from_the_environment_or_a_credential(tmp_path: Path) -> None:
    with pytest.raises(ConfigProblems) as missing:
        parse_config({"web": {"enabled": True}}, env={})
    assert missing.value.lines == [
        "wall.toml: web.token: is missing while web.enabled = true: set the environment variable "
        "WALL_WEB__TOKEN or the systemd credential web.token (a long random secret), "
        "or set web.enabled = false"
    ]
    with pytest.raises(ConfigProblems) as short:
        parse_config({"web": {"enabled": True}}, env={"WALL_WEB__TOKEN": "hunter2hunter"})
    assert "web.token: is shorter than 16 characters" in short.value.lines[0]
    assert "hunter2" not in str(short.value)  # a secret is never echoed, even a weak one
    (tmp_path / "wall_web.token").write_text(TOKEN + "\n", encoding="utf-8")
    config = parse_config({"web": {"enabled": True}}, env={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert config.web.token is not None and config.web.token.get_secret_value() == TOKEN
    assert TOKEN not in repr(config) and TOKEN not in str(config.model_dump())
