"""The collector's page for the fleet (issue 16): every screen with its last picture and health,
the choice of scope (fleet or one site) in the panic and announcement forms, and which offline
screens an action has not reached yet. Pure HTML like `wall.web.pages` (same CSP, same style sheet):
what a kiosk sent (panel, version, source names) is escaped and isolated in a `<bdi>`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from wall.web.wording import esc as _e
from wall.web.wording import local_time as _when
from wall.web.wording import text

if TYPE_CHECKING:  # nats (the fleet's client) is never loaded by a standalone wall's page
    from wall.engine.fleet.health import FleetAction, ScreenHealth
    from wall.engine.fleet.targets import PanicShown
    from wall.engine.moderation.decisions import PublishedAnnouncement

FLEET_SCOPE = ""  # the scope field's value for the whole fleet
FLEET_LIVE_PATH = "/fleet/screens"  # the screens' part of /fleet alone, for the page's script
_SCOPE_LABEL = {False: "fleet.scope.site", True: "fleet.scope.screen"}  # a site, or site/screen


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """What the main page shows of the fleet on the collector."""

    sites: Sequence[str]  # the scope choices: each site, and each known screen (`site/screen`)
    panic_sites: Sequence[PanicShown]  # where the panic screen is on
    action: FleetAction | None
    not_reached: Sequence[ScreenHealth]
    # Each site's and screen's own announcement in force (`site` or `site/screen`), by scope.
    announcements: Sequence[tuple[str, PublishedAnnouncement]] = ()


def scoped_announcements(
    lang: str, zone: ZoneInfo, hidden: str, announcements: Sequence[tuple[str, PublishedAnnouncement]]
) -> str:
    """The announcements of one site or one screen in force, each with its own withdraw button (the
    form's scope is the announcement's); "" when there is none."""
    if not announcements:
        return ""
    rows = []
    for scope, shown in announcements:
        where = text(_SCOPE_LABEL["/" in scope], lang, site=scope)
        when = _when(shown.at, lang, zone) if shown.at is not None else "?"
        said = _e(text("announce.published", lang, who="\x00", when=when)).replace(
            "\x00", f"<bdi>{_e(shown.who)}</bdi>"
        )
        title = f'<p class="title" dir="auto"><bdi>{_e(shown.title)}</bdi></p>' if shown.title else ""
        rows.append(
            f'<li class="published"><p class="meta"><strong>{_e(where)}</strong> — {said}</p>{title}'
            f'<p class="text" dir="auto"><bdi>{_e(shown.text)}</bdi></p>'
            f'<form method="post" action="/announcement">{hidden}'
            f'<input type="hidden" name="scope" value="{_e(scope)}">'
            '<button type="submit" name="action" value="withdraw">'
            f"{_e(text('announce.withdraw', lang))}</button></form></li>"
        )
    return (
        f'<div class="scoped-announcements"><h3>{_e(text("fleet.announcements", lang))}</h3>'
        f'<ul class="plain">{"".join(rows)}</ul></div>'
    )


def scope_field(lang: str, sites: Sequence[str], name: str) -> str:
    """The choice between the whole fleet, one site and one screen (`site/screen`), in a panic or
    announcement form."""
    options = f'<option value="{FLEET_SCOPE}">{_e(text("fleet.scope.all", lang))}</option>' + "".join(
        f'<option value="{_e(site)}">{_e(text(_SCOPE_LABEL["/" in site], lang, site=site))}</option>'
        for site in sites
    )
    return (
        f'<label class="scope">{_e(text("fleet.scope", lang))}'
        f'<select name="scope" id="scope-{_e(name)}">{options}</select></label>'
    )


def not_reached_notice(
    lang: str, zone: ZoneInfo, action: FleetAction | None, missed: Sequence[ScreenHealth]
) -> str:
    """After a decision, a panic or an announcement: which offline screens did not get it yet."""
    if action is None:
        return ""
    when = _when(action.at, lang, zone)
    if action.link_down:  # the screens' last heartbeats are no proof: nothing was sent since
        said = text("fleet.unsent", lang, what=_what(action, lang), when=when)
        return f'<p class="fleet-missed" role="status">{_e(said)}</p>'
    if not missed:
        return (
            f'<p class="fleet-reached" role="status">'
            f"{_e(text('fleet.reached', lang, what=_what(action, lang), when=when))}</p>"
        )
    heard = [(s.name, text("fleet.heard", lang, when=_when(s.received_at, lang, zone))) for s in missed]
    names = "".join(f"<li><bdi>{_e(name)}</bdi> — {_e(said)}</li>" for name, said in heard)
    return (
        f'<div class="fleet-missed" role="status"><p>'
        f"{_e(text('fleet.missed', lang, what=_what(action, lang), when=when))}</p><ul>{names}</ul></div>"
    )


def fleet_link(lang: str) -> str:
    """The main page's way to the fleet's screens."""
    return f'<nav class="fleet-nav"><a href="/fleet">{_e(text("fleet.link", lang))}</a></nav>'


def fleet_page(
    *,
    lang: str,
    zone: ZoneInfo,
    who: str,
    csrf: str,
    now: datetime,
    screens: Sequence[ScreenHealth],
    action: FleetAction | None,
    missed: Sequence[ScreenHealth],
    proof: str = "",
    proof_first: bool = False,
) -> str:
    """Every screen: its last picture, its state (late heartbeat, frames stopped, off on purpose),
    what it shows, its version, uptime, memory and stale sources, and a button for a new picture;
    and `proof`, the proof-of-play question (`wall.web.proof_page.proof_section`): first when it holds
    an answer (the person asked; a fragment in the form's address would make asking the same question
    again a mere scroll), else after the screens."""
    live = fleet_live(lang=lang, zone=zone, csrf=csrf, now=now, screens=screens, action=action, missed=missed)
    body = (
        f"<header><h1>{_e(text('fleet.title', lang))}</h1>"
        f'<p class="who">{_e(text("signed_in", lang, who=who))}</p>'
        f'<nav class="fleet-nav"><a href="/">{_e(text("fleet.back", lang))}</a></nav></header>'
        f"<main>{proof + live if proof_first else live + proof}</main>"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f'<title>{_e(text("fleet.title", lang))}</title><link rel="stylesheet" href="/static/page.css">'
        '<script src="/static/page.js" defer></script>'
        f"</head><body>{body}</body></html>"
    )


def fleet_live(
    *,
    lang: str,
    zone: ZoneInfo,
    csrf: str,
    now: datetime,
    screens: Sequence[ScreenHealth],
    action: FleetAction | None,
    missed: Sequence[ScreenHealth],
) -> str:
    """The part of /fleet that follows the screens by itself: the page's script asks
    `FLEET_LIVE_PATH` for it every few seconds and merges it; without script, a reload shows it."""
    cards = "".join(_screen(s, lang, zone, csrf, now) for s in screens)
    listed = (
        f'<ul class="screens">{cards}</ul>'
        if screens
        else f'<p class="none">{_e(text("fleet.none", lang))}</p>'
    )
    flagged = sum(1 for s in screens if s.state(now) in ("late", "frames_stopped"))
    summary = text("fleet.summary", lang, count=str(len(screens)), flagged=str(flagged))
    return (
        f'<div id="fleet-live" data-live="{FLEET_LIVE_PATH}">'
        f'<p class="fleet-summary" role="status">{_e(summary)}</p>'
        f"{not_reached_notice(lang, zone, action, missed)}"
        f'<section class="fleet"><h2>{_e(text("fleet.screens", lang, count=str(len(screens))))}</h2>'
        f'<p class="help">{_e(text("fleet.live", lang))}</p>'
        f"{listed}</section></div>"
    )


def _screen(health: ScreenHealth, lang: str, zone: ZoneInfo, csrf: str, now: datetime) -> str:
    beat = health.beat
    state = health.state(now)
    heard = _when(health.received_at, lang, zone)
    if state == "late":
        said = text("fleet.late", lang, when=heard)
    elif state == "frames_stopped":
        frame = _when(beat.last_frame, lang, zone) if beat.last_frame else "?"
        said = text("fleet.frames_stopped", lang, when=frame)
    else:
        said = text(f"fleet.{state}", lang)
    flag = state in ("late", "frames_stopped")
    path = f"/fleet/screens/{quote(beat.site)}/{quote(beat.screen)}.jpg"
    if health.screenshot_at is not None:
        stamp = int(health.screenshot_at.timestamp())
        taken = _when(health.screenshot_at, lang, zone)
        picture = (
            f'<img src="{_e(path)}?at={stamp}" width="480" height="270" '
            f'alt="{_e(text("fleet.picture", lang, name=health.name, when=taken))}">'
        )
    else:
        picture = f'<p class="missing">{_e(text("fleet.no_picture", lang))}</p>'
    stale = ", ".join(beat.stale_sources) or text("fleet.none_stale", lang)
    rows = (
        ("fleet.panel", beat.panel),
        ("fleet.version", beat.version),
        ("fleet.uptime", _duration(beat.uptime_s)),
        ("fleet.memory", f"{beat.memory_mb:.0f} MB"),
        ("fleet.stale", stale),
        ("fleet.heartbeat", heard),
    )
    facts = "".join(f"<dt>{_e(text(key, lang))}</dt><dd><bdi>{_e(value)}</bdi></dd>" for key, value in rows)
    return (
        f'<li class="screen-card {state}{" flagged" if flag else ""}" '
        f'id="screen-{_e(beat.site)}-{_e(beat.screen)}">'
        f"<h3><bdi>{_e(health.name)}</bdi></h3>"
        f'<p class="state">{_e(said)}</p>{picture}<dl>{facts}</dl>'
        f'<form method="post" action="/fleet/screenshot"><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<input type="hidden" name="site" value="{_e(beat.site)}">'
        f'<input type="hidden" name="screen" value="{_e(beat.screen)}">'
        f'<button type="submit">{_e(text("fleet.ask", lang))}</button></form></li>'
    )


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return (f"{days} d " if days else "") + f"{hours} h {minutes:02d} min"


def _what(action: FleetAction, lang: str) -> str:
    where = ", ".join(action.sites)
    return f"{text('fleet.what.' + action.what, lang)} — {where}"
