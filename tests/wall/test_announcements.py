"""Comms publish an announcement from the moderation page (issue 7 item 5), over real HTTP.

The page runs on aiohttp's test server in front of a real Engine, Store, Hub and wall window
(`tests.wall.test_web.open_wall`); what the lobby sees is read from the real AnnouncementPanel.
"""

from __future__ import annotations

from html import unescape
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from PySide6.QtWidgets import QApplication

from tests.wall.test_web import HOSTILE, Http, Wall, csrf_of, login, open_wall, read
from wall.engine.engine import Engine
from wall.engine.services import make_client
from wall.engine.store import Store
from wall.shell.windows import build_windows
from widgets.announcement import AnnouncementPanel
from widgets.hub import Hub
from widgets.window import WallWindow

CONFIGURED: dict[str, Any] = {
    "type": "announcement",
    "title": "Rejoignez le réseau interne",
    "text": "Toute l'actualité de l'entreprise, en deux minutes.",
    "image": "asset:demo/images/equipe.png",
    "qr": "https://intranet.example/rse",
}
WITH_ANNOUNCEMENT = [{"type": "mentions", "duration": 30}, CONFIGURED]
DRILL = {
    "title": "Exercice incendie à 15 h",
    "text": "Sortie par l'escalier B.",
    "qr": "https://intra.example/f",
}


def announcement_panels(window: WallWindow) -> list[AnnouncementPanel]:
    return [p for p in window.rotator.panels() if isinstance(p, AnnouncementPanel)]


def shown(panel: AnnouncementPanel) -> tuple[str, str, str]:
    """What the lobby reads on the panel: headline, message, the QR code's address."""
    return panel.headline_label.full_text(), panel.text_label.full_text(), panel.qr.data()


async def publish(wall: Wall, http: Http, **fields: str) -> tuple[int, str]:
    page = await read(wall, await http.get("/"))
    form = {"csrf": csrf_of(page), "action": "publish", **fields}
    response = await http.post("/announcement", data=form, allow_redirects=False)
    return response.status, await read(wall, response)


async def withdraw(wall: Wall, http: Http) -> int:
    page = await read(wall, await http.get("/"))
    response = await http.post(
        "/announcement", data={"csrf": csrf_of(page), "action": "withdraw"}, allow_redirects=False
    )
    return response.status


async def test_publishing_needs_a_login_and_the_form_token(tmp_path: Path, qapp: QApplication) -> None:
    async with open_wall(tmp_path) as wall, TestClient(wall.server) as http:
        anonymous = await http.post("/announcement", data={"action": "publish", **DRILL})
        assert anonymous.status == 403 and "Connectez-vous" in await anonymous.text()
        await login(wall, http)
        page = await read(wall, await http.get("/"))
        for csrf in ("", "forged", csrf_of(page)[:-1]):
            forged = await http.post("/announcement", data={"csrf": csrf, "action": "publish", **DRILL})
            assert forged.status == 403 and "expiré" in await forged.text()
        assert wall.store.announcement() is None and wall.hub.announcement() is None
        assert wall.store.audit_log() == [] and announcement_panels(wall.window) == []


async def test_a_wrong_form_is_refused_with_what_to_fix_in_the_page_language(
    tmp_path: Path, qapp: QApplication
) -> None:
    async with open_wall(tmp_path) as wall, TestClient(wall.server) as http:
        await login(wall, http)
        status, html = await publish(
            wall, http, title="Portes ouvertes", text=HOSTILE, qr="javascript:alert(1)"
        )
        assert status == 400
        said = unescape(html)
        assert "L'annonce n'a pas été publiée" in said
        assert "l'adresse du QR code doit être une adresse web complète (http:// ou https://)" in said
        assert "de 200 caractères au plus" in said
        assert "le message est obligatoire" not in said  # only what is wrong
        assert (
            "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html
        )  # the typed text, kept and escaped
        assert "<script>alert" not in html and "Traceback" not in html
        long_qr = "https://x.example/" + "a" * 190
        status, html = await publish(wall, http, title="T" * 81, text=" \n ", qr=long_qr)
        assert status == 400
        said = unescape(html)
        assert "le titre fait au plus 80 caractères" in said and "le message est obligatoire" in said
        assert "l'adresse du QR code" in said
        assert wall.store.announcement() is None and wall.hub.announcement() is None
        assert wall.store.audit_log() == []
    async with open_wall(tmp_path / "en", language="en") as wall, TestClient(wall.server) as http:
        await login(wall, http)
        status, html = await publish(wall, http, text="x" * 601)
        assert status == 400
        assert "The announcement was not published" in html
        assert "the message is required, at most 600 characters long" in unescape(html)


async def test_published_on_every_announcement_panel_then_withdrawn(
    tmp_path: Path, qapp: QApplication
) -> None:
    async with open_wall(tmp_path, panels=WITH_ANNOUNCEMENT) as wall, TestClient(wall.server) as http:
        (panel,) = announcement_panels(wall.window)
        configured = (CONFIGURED["title"], CONFIGURED["text"], CONFIGURED["qr"])
        assert shown(panel) == configured and panel.picture.isVisibleTo(panel)
        await login(wall, http, who="Alice")
        status, _ = await publish(wall, http, **DRILL)
        assert status == 303
        published = wall.hub.announcement()
        assert published is not None and (published.title, published.text, published.qr) == tuple(
            DRILL.values()
        )
        assert shown(panel) == tuple(DRILL.values())  # the real widget, without waiting for a timer
        assert panel.has_content() and not panel.picture.isVisibleTo(panel)  # the picture was the config's
        assert announcement_panels(wall.window) == [panel]  # no extra panel: the configured one shows it
        page = await read(wall, await http.get("/"))
        assert "Publiée par <bdi>Alice</bdi>" in page and "Sortie par l&#x27;escalier B." in page
        entry = wall.store.audit_log()[0]
        assert (entry.who, entry.action) == ("Alice", "publish announcement")
        assert DRILL["title"] in entry.detail and DRILL["qr"] in entry.detail

        assert await withdraw(wall, http) == 303
        assert wall.hub.announcement() is None and wall.store.announcement() is None
        assert shown(panel) == configured and panel.picture.isVisibleTo(panel)
        last = wall.store.audit_log()[0]
        assert (last.who, last.action, last.detail) == ("Alice", "withdraw announcement", DRILL["title"])
        assert "Aucune annonce publiée" in await read(wall, await http.get("/"))


async def test_without_an_announcement_panel_it_joins_the_rotation_while_published(
    tmp_path: Path, qapp: QApplication
) -> None:
    async with open_wall(tmp_path) as wall, TestClient(wall.server) as http:
        assert announcement_panels(wall.window) == []
        await login(wall, http)
        assert (await publish(wall, http, text="Bonne année à tous !"))[0] == 303
        (extra,) = announcement_panels(wall.window)
        assert extra.has_content() and extra.text_label.full_text() == "Bonne année à tous !"
        assert wall.window.rotator.panels().index(extra) in wall.window.rotator.playlist()
        # The mentions panel has nothing approved yet: the announcement is what the lobby sees.
        assert wall.window.current_panel() is extra
        assert await withdraw(wall, http) == 303
        assert not extra.has_content()
        assert wall.window.current_panel() is not extra  # left at once, then skipped


async def test_a_published_announcement_survives_a_restart(tmp_path: Path, qapp: QApplication) -> None:
    async with open_wall(tmp_path, panels=WITH_ANNOUNCEMENT) as wall, TestClient(wall.server) as http:
        await login(wall, http, who="Alice")
        assert (await publish(wall, http, **DRILL))[0] == 303
        config, path = wall.engine.config, wall.store.path
    store, hub = Store(path), Hub()  # the wall starts again on the same database
    client = make_client(config)
    engine = Engine(config, store, hub, client)
    try:
        engine.fill_screen_from_store()
        published = hub.announcement()
        assert published is not None and published.text == DRILL["text"] and published.who == "Alice"
        (window,) = build_windows(config, hub)
        (panel,) = announcement_panels(window)
        assert shown(panel) == tuple(DRILL.values())
        window.close()
        assert store.audit_log()[0].action == "publish announcement"
    finally:
        await engine.stop()
        await client.aclose()
        store.close()
