"""The moderation page (issue 5): aiohttp, served by the wall on its own asyncio loop.

Comms log in with their name and the shared `[web] token`, then approve, hide, pin or unpin posts,
block an author (and unblock them from the list of blocked authors), switch the panic screen on
and off, publish or withdraw an announcement (issue 7), and see the wall's screen and the audit log.

Security, since the page can put anything on the lobby screen:
- the token is compared in constant time and never leaves the server: the session cookie holds a
  random id (HttpOnly, SameSite=Strict, expiring; Secure under TLS), and nothing puts the token in a
  URL or a log line;
- off loopback the page is HTTPS only (`[web] cert`/`key`, checked by `wall.engine.config.WebSettings`), and
  a request whose Host header is not one of `server_names` gets 421 (DNS rebinding, issue 12);
- failed logins make the next ones from that address wait longer (doubling, capped, fading with
  time), and many failures in total slow every login; the right token always gets in after the wait,
  so a guesser behind a shared proxy address cannot lock comms out (issue 12);
- every POST carries a per-session CSRF token (the login form a per-visit one), else 403;
- every response has a Content-Security-Policy without inline script or remote resources,
  `X-Frame-Options: DENY`, `nosniff`, no referrer and no caching; posts are escaped (`wall.web.pages`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from wall.core.model import utcnow
from wall.core.paths import ASSETS_DIR
from wall.engine.config import PanelSettings, WallSection, WebSettings
from wall.engine.fleet.layout import NAME
from wall.engine.moderation.decisions import POST_ACTIONS, PublishedAnnouncement, QueueItem
from wall.engine.web_guard import LoginDelay, host_name, server_context
from wall.web.desk import FleetView, ModerationDesk
from wall.web.fleet_page import FLEET_LIVE_PATH, FLEET_SCOPE, FleetSummary, fleet_live, fleet_page
from wall.web.pages import (
    ANNOUNCEMENT_FIELDS,
    AnnouncementField,
    login_page,
    main_page,
    refused_page,
)
from wall.web.proof_page import QUERY_FIELD, proof_csv, proof_filename, proof_query, proof_section
from wall.web.queue import QueueView, listed_items, queue_section
from wall.web.wording import text

log = logging.getLogger("wall.web.server")

SESSION_COOKIE = "wall_session"
LOGIN_COOKIE = "wall_login"
LOGIN_FORM_SECONDS = 1800
MAX_HOSTS_LOGGED = 100
MAX_SESSIONS = 50
SCREEN_CACHE_S = 2.0
MAX_NAME_CHARS = 40
# connect-src 'self': the page's script asks its own server for the queue (issue 15), nothing else.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_STATIC = {"page.css": "text/css", "page.js": "text/javascript"}
_DIGEST = re.compile(r"[0-9a-f]{64}")  # a picture's name: its cache file's (sha256 of its URL)
# The prepared pictures are only ever PNG or JPEG (`wall.engine.images.prepare_image`); anything
# else in the cache is not sent to a browser.
_PICTURE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(slots=True)
class Session:
    """A logged-in person: their name (for the audit log), their CSRF token, when it ends."""

    who: str
    csrf: str
    expires: float


def check_announcement(
    title: str, text: str, qr: str
) -> tuple[PublishedAnnouncement | None, list[AnnouncementField]]:
    """The announcement a form asks for, checked by the very rules of `[[panels]]` announcements
    (`PanelSettings`: message required, lengths, an http(s) QR address); else None and the fields
    that are wrong, in the form's order."""
    title, text, qr = _clean_text(title, lines=False), _clean_text(text, lines=True), qr.strip()
    try:
        PanelSettings(type="announcement", title=title, text=text, qr=qr)
    except ValidationError as exc:
        wrong = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        return None, [name for name in ANNOUNCEMENT_FIELDS if name in wrong] or ["text"]
    return PublishedAnnouncement(title, text, qr), []


def _clean_text(raw: str, *, lines: bool) -> str:
    """No control characters (a form may carry any) but the message's line breaks; trimmed."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(ch for ch in raw if unicodedata.category(ch) != "Cc" or (lines and ch == "\n")).strip()


def clean_name(raw: str) -> str:
    """A person's name as the audit log keeps it: no control or direction characters, trimmed."""
    kept = "".join(ch for ch in raw if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    return " ".join(kept.split())[:MAX_NAME_CHARS]


class ModerationPage:
    """The aiohttp application of the moderation page."""

    def __init__(
        self,
        settings: WebSettings,
        look: WallSection,
        desk: ModerationDesk,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if settings.token is None:
            raise ValueError("web.token is required to serve the moderation page")
        self._token = settings.token
        self._lifetime = settings.session_hours * 3600
        self._lang = look.language
        self._zone = ZoneInfo(look.timezone)
        self._desk = desk
        self._clock = clock
        self._sleep = sleep
        self._sessions: dict[str, Session] = {}
        self._login_forms: dict[str, float] = {}
        self.delays = LoginDelay(clock=clock)
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}
        self._secure = bool(settings.cert)  # served over TLS: the cookies say so
        self._names = frozenset(settings.allowed_names())
        self._refused_names: set[str] = set()
        self._screen: tuple[float, bytes] | None = None
        self._static = {name: (ASSETS_DIR / "web" / name).read_bytes() for name in _STATIC}

    def app(self) -> web.Application:
        """A new aiohttp application serving the page."""
        app = web.Application(client_max_size=64 * 1024, middlewares=[self._known_host])
        app.on_response_prepare.append(self._secure_headers)
        app.router.add_get("/", self._index)
        app.router.add_get("/login", self._login_form)
        app.router.add_post("/login", self._login)
        app.router.add_post("/logout", self._logout)
        app.router.add_post("/act", self._act)
        app.router.add_post("/panic", self._panic)
        app.router.add_post("/crisis", self._crisis)
        app.router.add_post("/unblock", self._unblock)
        app.router.add_post("/announcement", self._announcement)
        app.router.add_get("/screen.png", self._screen_png)
        app.router.add_get("/queue", self._queue)
        app.router.add_get("/pictures/{digest}", self._picture)
        app.router.add_get("/static/{name}", self._static_file)
        app.router.add_get("/fleet", self._fleet)  # the collector's page only (issue 16)
        app.router.add_post("/fleet/screenshot", self._ask_screenshot)
        app.router.add_get("/fleet/screens/{site}/{screen}.jpg", self._screenshot)
        app.router.add_get(FLEET_LIVE_PATH, self._fleet_live)
        app.router.add_get("/fleet/proof.csv", self._proof_csv)
        return app

    # --- names -------------------------------------------------------------------------------
    @web.middleware
    async def _known_host(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """421 unless the browser asked for one of `server_names`: a hostile site whose name resolves
        to this page's address (DNS rebinding) must not reach it with its visitors' browsers."""
        name = host_name(request.headers.get("Host", ""))
        if name in self._names:
            return await handler(request)
        if name not in self._refused_names and len(self._refused_names) < MAX_HOSTS_LOGGED:
            self._refused_names.add(name)  # once per name: a flood of requests is not a flood of lines
            log.warning(
                "moderation page: requests for the name %r are refused (421): add it to [web] "
                "server_names if people use it to reach the page",
                name[:100],
            )
        raise web.HTTPMisdirectedRequest(text="unknown server name", content_type="text/plain")

    # --- sessions ---------------------------------------------------------------------------
    def _session(self, request: web.Request) -> Session | None:
        sid = request.cookies.get(SESSION_COOKIE, "")
        session = self._sessions.get(sid)
        if session is None:
            return None
        if session.expires <= self._clock():
            del self._sessions[sid]
            return None
        return session

    def _new_session(self, who: str) -> str:
        now = self._clock()
        for sid in [s for s, v in self._sessions.items() if v.expires <= now]:
            del self._sessions[sid]
        while len(self._sessions) >= MAX_SESSIONS:  # the oldest login goes first
            del self._sessions[next(iter(self._sessions))]
        sid = secrets.token_urlsafe(32)
        self._sessions[sid] = Session(who, secrets.token_urlsafe(32), now + self._lifetime)
        return sid

    def _checked(self, request: web.Request, form: dict[str, str]) -> Session:
        """The session of a POST whose CSRF token matches, else 403."""
        session = self._session(request)
        if session is None:
            raise self._refused(text("refused.login", self._lang))
        if not hmac.compare_digest(form.get("csrf", "").encode(), session.csrf.encode()):
            log.warning("moderation page: a form without its CSRF token was refused (%s)", request.path)
            raise self._refused(text("refused.csrf", self._lang))
        return session

    def _refused(self, message: str) -> web.HTTPForbidden:
        return web.HTTPForbidden(text=refused_page(self._lang, message), content_type="text/html")

    @staticmethod
    async def _form(request: web.Request) -> dict[str, str]:
        data = await request.post()
        return {k: v for k, v in data.items() if isinstance(v, str)}

    # --- handlers ---------------------------------------------------------------------------
    async def _login_form(self, request: web.Request, message: str = "", status: int = 200) -> web.Response:
        nonce = secrets.token_urlsafe(32)
        now = self._clock()
        self._login_forms = {k: t for k, t in self._login_forms.items() if t > now}
        if len(self._login_forms) > 1000:  # a flood of page views must not grow memory without end
            self._login_forms.pop(next(iter(self._login_forms)))
        self._login_forms[nonce] = now + LOGIN_FORM_SECONDS
        response = web.Response(
            text=login_page(self._lang, nonce, message), content_type="text/html", status=status
        )
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=LOGIN_FORM_SECONDS,
            httponly=True,
            samesite="Strict",
            path="/",
            secure=self._secure,
        )
        return response

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not (
            nonce
            and self._login_forms.pop(nonce, 0) > self._clock()
            and hmac.compare_digest(form.get("csrf", "").encode(), nonce.encode())
        ):
            raise self._refused(text("refused.csrf", self._lang))
        client = request.remote or "?"
        async with self._turn(client):
            wait = self.delays.delay(client)
            if wait > 0:
                log.info("moderation page: a login from %s waits %.0f s after failed ones", client, wait)
                await self._sleep(wait)
            who = clean_name(form.get("who", ""))
            if not (who and _same_secret(form.get("token", ""), self._token.get_secret_value())):
                self.delays.failed(client)
                log.warning("moderation page: failed login from %s", client)
                return await self._login_form(request, text("login.wrong", self._lang), status=403)
        sid = self._new_session(who)
        log.info("moderation page: %r logged in from %s", who, client)
        response = _redirect("/")
        response.set_cookie(
            SESSION_COOKIE,
            sid,
            max_age=int(self._lifetime),
            httponly=True,
            samesite="Strict",
            path="/",
            secure=self._secure,
        )
        response.del_cookie(LOGIN_COOKIE, path="/")
        return response

    @asynccontextmanager
    async def _turn(self, client: str) -> AsyncIterator[None]:
        """One login at a time per address: parallel guesses queue behind each other's waits instead
        of sharing one."""
        lock, users = self._turns.get(client, (asyncio.Lock(), 0))
        self._turns[client] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[client]
            if users == 1:
                del self._turns[client]
            else:
                self._turns[client] = (lock, users - 1)

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        session = self._checked(request, await self._form(request))
        self._sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        log.info("moderation page: %r logged out", session.who)
        response = _redirect("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    async def _index(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        if session is None:
            return _redirect("/login")
        return await self._main_page(session, QueueView.of(request.query))

    async def _queue(self, request: web.Request) -> web.StreamResponse:
        """The posts section alone, for the page's script to merge into the open page (issue 15)."""
        session = self._session(request)
        if session is None:
            raise web.HTTPUnauthorized(text="log in first", content_type="text/plain")
        view = QueueView.of(request.query)
        items, statuses = await self._desk.queue(), self._desk.statuses()
        cached = await self._cached(items, view)
        # Rendering 200 posts takes ~15 ms of this loop, which is the GUI thread; their fingerprint
        # ~1 ms: an open page that asks every few seconds costs the screen nothing while nothing changes.
        names = tuple(sorted({(s.source, s.network) for s in statuses}))
        seen = (
            view,
            session.csrf,
            tuple((i.post, i.verdict, i.decision) for i in items),
            frozenset(cached),
            names,
        )
        etag = f'"{hash(seen) & 0xFFFFFFFFFFFFFFFF:x}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        html = queue_section(
            lang=self._lang,
            zone=self._zone,
            csrf=session.csrf,
            view=view,
            items=items,
            statuses=statuses,
            cached=cached,
        )
        return web.Response(text=html, content_type="text/html", headers={"ETag": etag})

    async def _cached(self, items: list[QueueItem], view: QueueView) -> set[str]:
        """The picture URLs of the listed posts that the wall has in its cache."""
        return await self._desk.cached_pictures(
            {m.url for i in listed_items(items, view) for m in i.post.media}
        )

    async def _picture(self, request: web.Request) -> web.StreamResponse:
        """A thumbnail: the wall's cached prepared picture, never a fetch from the post's server."""
        if self._session(request) is None:
            raise web.HTTPUnauthorized(text="log in first", content_type="text/plain")
        digest = request.match_info["digest"]
        data = await self._desk.picture(digest) if _DIGEST.fullmatch(digest) else None
        kind = next((kind for magic, kind in _PICTURE_TYPES.items() if data and data.startswith(magic)), None)
        if data is None or kind is None:
            raise web.HTTPNotFound(text="no such picture", content_type="text/plain")
        return web.Response(body=data, content_type=kind)

    async def _main_page(
        self,
        session: Session,
        view: QueueView,
        *,
        draft: Mapping[str, str] | None = None,
        errors: Sequence[AnnouncementField] = (),
        status: int = 200,
    ) -> web.Response:
        items = await self._desk.queue()
        html = main_page(
            lang=self._lang,
            zone=self._zone,
            who=session.who,
            csrf=session.csrf,
            view=view,
            items=items,
            audit=await self._desk.audit_log(),
            panic=await self._desk.panic(),
            announcement=await self._desk.announcement(),
            draft=draft,
            errors=errors,
            blocked=await self._desk.blocked_authors(),
            statuses=self._desk.statuses(),
            secrets=self._desk.secrets(),
            cached=await self._cached(items, view),
            signals=await self._desk.signals(),
            fleet=await self._fleet_summary(),
        )
        return web.Response(text=html, content_type="text/html", status=status)

    async def _act(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        session = self._checked(request, form)
        action = form.get("action", "")
        if action not in POST_ACTIONS:
            raise web.HTTPBadRequest(text=refused_page(self._lang, action[:40]), content_type="text/html")
        if not await self._desk.act(form.get("key", ""), action, session.who):
            raise web.HTTPNotFound(
                text=refused_page(self._lang, text("unknown_post", self._lang)), content_type="text/html"
            )
        return _redirect(f"/?{QueueView.of(form).query()}")

    async def _unblock(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        session = self._checked(request, form)
        if not await self._desk.unblock_author(form.get("author", ""), session.who):
            raise web.HTTPNotFound(
                text=refused_page(self._lang, text("unknown_author", self._lang)), content_type="text/html"
            )
        self._screen = None  # the next picture must show the posts back
        return _redirect(f"/?{QueueView.of(form).query()}#blocked")

    async def _panic(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        session = self._checked(request, form)
        await self._desk.set_panic(form.get("on") == "1", session.who, self._scope(form))
        self._screen = None  # the next picture must show the change
        return _redirect(f"/?{QueueView.of(form).query()}")

    async def _crisis(self, request: web.Request) -> web.StreamResponse:
        """End crisis mode (issue 17): the mentions come back on the wall."""
        form = await self._form(request)
        session = self._checked(request, form)
        await self._desk.clear_crisis(session.who)  # already over (another tab): nothing to undo
        self._screen = None  # the next picture must show the mentions back
        return _redirect(f"/?{QueueView.of(form).query()}#signaux")

    async def _announcement(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        session = self._checked(request, form)
        view = QueueView.of(form)
        action = form.get("action", "")
        if action == "withdraw":
            await self._desk.publish_announcement(None, session.who, self._scope(form))
        elif action == "publish":
            announcement, wrong = check_announcement(
                form.get("title", ""), form.get("text", ""), form.get("qr", "")
            )
            if announcement is None:  # the form again, as typed, with what to fix
                return await self._main_page(session, view, draft=form, errors=wrong, status=400)
            await self._desk.publish_announcement(announcement, session.who, self._scope(form))
        else:
            raise web.HTTPBadRequest(
                text=refused_page(self._lang, text("unknown_action", self._lang)), content_type="text/html"
            )
        self._screen = None  # the next picture must show the change
        return _redirect(f"/?{view.query()}#announcement")

    async def _screen_png(self, request: web.Request) -> web.StreamResponse:
        if self._session(request) is None:
            raise web.HTTPUnauthorized(text="log in first", content_type="text/plain")
        now = self._clock()
        if self._screen is None or now - self._screen[0] > SCREEN_CACHE_S:
            picture = self._desk.screen_png()  # on the GUI thread, which runs this loop: ~10-30 ms
            if picture is None:
                raise web.HTTPServiceUnavailable(text="no screen yet", content_type="text/plain")
            self._screen = (now, picture)
        return web.Response(body=self._screen[1], content_type="image/png")

    # --- the fleet (the collector's page) ----------------------------------------------------
    def _scope(self, form: Mapping[str, str]) -> str | None:
        """The site or screen (`site/screen`) a panic or announcement form targets; None: the whole
        fleet (or one wall)."""
        fleet = self._desk.fleet()
        scope = form.get("scope", FLEET_SCOPE)
        if fleet is None or scope == FLEET_SCOPE:
            return None
        if scope not in fleet.scopes():
            raise web.HTTPBadRequest(text=refused_page(self._lang, scope[:40]), content_type="text/html")
        return scope

    async def _fleet_summary(self) -> FleetSummary | None:
        fleet = self._desk.fleet()
        if fleet is None:
            return None
        return FleetSummary(
            fleet.scopes(),
            await fleet.panic_sites(),
            fleet.last_action(),
            fleet.not_reached(utcnow()),
            await fleet.scoped_announcements(),
        )

    def _fleet_of(self, request: web.Request) -> tuple[Session, FleetView]:
        session = self._session(request)
        if session is None:
            raise web.HTTPUnauthorized(text="log in first", content_type="text/plain")
        fleet = self._desk.fleet()
        if fleet is None:
            raise web.HTTPNotFound(text="not a fleet's collector", content_type="text/plain")
        return session, fleet

    async def _fleet(self, request: web.Request) -> web.StreamResponse:
        """Every screen of the fleet with its last picture and health."""
        if self._session(request) is None:
            return _redirect("/login")
        session, fleet = self._fleet_of(request)
        query, problem = proof_query(request.query.get(QUERY_FIELD, ""))
        found = await fleet.proof(query) if query and not problem else None
        now = utcnow()
        html = fleet_page(
            lang=self._lang,
            zone=self._zone,
            who=session.who,
            csrf=session.csrf,
            now=now,
            screens=fleet.screens(),
            action=fleet.last_action(),
            missed=fleet.not_reached(now),
            proof=proof_section(self._lang, self._zone, query, found, problem),
            proof_first=bool(query),
        )
        return web.Response(text=html, content_type="text/html", status=400 if problem else 200)

    async def _fleet_live(self, request: web.Request) -> web.StreamResponse:
        """The screens' part of /fleet alone, for the page's script (like /queue): 304 while the
        same HTML would be sent again, so an open page costs a render and no transfer."""
        session, fleet = self._fleet_of(request)
        now = utcnow()
        html = fleet_live(
            lang=self._lang,
            zone=self._zone,
            csrf=session.csrf,
            now=now,
            screens=fleet.screens(),
            action=fleet.last_action(),
            missed=fleet.not_reached(now),
        )
        etag = f'"{hashlib.sha256(html.encode()).hexdigest()[:32]}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=html, content_type="text/html", headers={"ETag": etag})

    async def _proof_csv(self, request: web.Request) -> web.StreamResponse:
        """The proof-of-play answer as a CSV file, for a takedown request's file."""
        _session, fleet = self._fleet_of(request)
        query, problem = proof_query(request.query.get(QUERY_FIELD, ""))
        if not query or problem:
            raise web.HTTPBadRequest(
                text=refused_page(self._lang, text(problem or "proof.field", self._lang, max="")),
                content_type="text/html",
            )
        body = proof_csv(await fleet.proof(query), utcnow())
        disposition = f'attachment; filename="{proof_filename(query)}"'
        return web.Response(
            text=body, content_type="text/csv", charset="utf-8", headers={"Content-Disposition": disposition}
        )

    async def _ask_screenshot(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        self._checked(request, form)
        _session, fleet = self._fleet_of(request)
        site, screen = form.get("site", ""), form.get("screen", "")
        if not (NAME.match(site) and NAME.match(screen)):
            raise web.HTTPBadRequest(
                text=refused_page(self._lang, f"{site}/{screen}"[:40]), content_type="text/html"
            )
        await fleet.ask_screenshot(site, screen)
        return _redirect(f"/fleet#screen-{site}-{screen}")

    async def _screenshot(self, request: web.Request) -> web.StreamResponse:
        _session, fleet = self._fleet_of(request)
        data = await fleet.screenshot(request.match_info["site"], request.match_info["screen"])
        if data is None or not data.startswith(b"\xff\xd8\xff"):
            raise web.HTTPNotFound(text="no picture of this screen", content_type="text/plain")
        return web.Response(body=data, content_type="image/jpeg")

    async def _static_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self._static:
            raise web.HTTPNotFound(text="not found", content_type="text/plain")
        return web.Response(body=self._static[name], content_type=_STATIC[name], charset="utf-8")

    @staticmethod
    async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"


def _same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; the digests have one length, so not even the length leaks."""
    return hmac.compare_digest(
        hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(expected.strip().encode()).digest()
    )


def _redirect(location: str) -> web.Response:
    """303 See Other: after a POST, the browser GETs the page again (a reload does not re-send it)."""
    return web.Response(status=303, headers={"Location": location})


class WebTlsError(Exception):
    """The `[web] cert`/`key` files cannot be loaded any more (the message says which and the fix)."""


class WebServer:
    """Serves a `ModerationPage` on the running asyncio loop (the wall's qasync loop)."""

    def __init__(self, settings: WebSettings, look: WallSection, desk: ModerationDesk) -> None:
        self.settings = settings
        self.page = ModerationPage(settings, look, desk)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on `[web] host:port`, over HTTPS when `cert` and `key` are set (raises OSError when
        the port is taken, WebTlsError when the PEM files changed since the config was checked)."""
        cert, key = self.settings.cert, self.settings.key
        try:
            tls = server_context(cert, key) if cert else None
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: not a taken port
            raise WebTlsError(
                f"[web] cert {cert!r} and key {key!r} cannot be loaded ({exc}): give readable, matching "
                "PEM files (check them with `wall check-config`)"
            ) from None
        runner = web.AppRunner(self.page.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.settings.host, self.settings.port, ssl_context=tls).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        scheme = "https" if tls else "http"
        log.info("moderation page on %s://%s:%d/", scheme, self.settings.host, self.port)

    @property
    def port(self) -> int:
        """The port listened on."""
        if self._runner is None or not self._runner.addresses:
            return self.settings.port
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
