"""HTML of the moderation page, in French or English (issue 5; pure, Qt-free).

Everything that came from the outside world (post text, author, alt text, source ids) goes through
`_e` (HTML escaping, quotes included) and sits in a `<bdi>`, so a right-to-left override in a post
cannot reorder the page around it. No inline script nor style: the Content-Security-Policy forbids
them; the page's only script and style sheet are files served by the wall itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from annotated_types import MaxLen

from wall.core.model import SourceStatus
from wall.engine.logs import SecretMask
from wall.engine.moderation.decisions import (
    AuditEntry,
    BlockedAuthor,
    PublishedAnnouncement,
    QueueItem,
)
from wall.engine.panel_settings import MAX_QR_CHARS, PanelSettings
from wall.engine.signals.watch import SignalsView
from wall.web.fleet_page import (
    FleetSummary,
    fleet_link,
    not_reached_notice,
    scope_field,
    scoped_announcements,
)
from wall.web.queue import MAX_LISTED, QueueView, queue_section, view_fields
from wall.web.signals import signals_section
from wall.web.wording import esc as _e
from wall.web.wording import local_time as _when
from wall.web.wording import text

MAX_ERROR_SHOWN_CHARS = 500  # an API may echo a whole page back
AnnouncementField = Literal["title", "text", "qr"]
ANNOUNCEMENT_FIELDS: tuple[AnnouncementField, ...] = get_args(AnnouncementField)


def _config_limit(name: AnnouncementField) -> int:
    """The config's limit for an announcement key: the page and `wall.toml` never disagree."""
    if name == "qr":
        return MAX_QR_CHARS
    return next(m.max_length for m in PanelSettings.model_fields[name].metadata if isinstance(m, MaxLen))


ANNOUNCEMENT_LIMITS: dict[AnnouncementField, int] = {
    name: _config_limit(name) for name in ANNOUNCEMENT_FIELDS
}


def shown_error(message: str, secrets: Iterable[str]) -> str:
    """A source's error message as the page may show it: every configured secret masked (an API error
    body may echo a key), cut to MAX_ERROR_SHOWN_CHARS. The page's only way to show one (issue 12);
    the central masking function plugs in here."""
    return SecretMask(secrets).mask(message)[:MAX_ERROR_SHOWN_CHARS]


def _page(lang: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f'<title>{_e(title)}</title><link rel="stylesheet" href="/static/page.css">'
        '<script src="/static/page.js" defer></script>'
        f"</head><body>{body}</body></html>"
    )


def login_page(lang: str, csrf: str, message: str = "") -> str:
    """The login form: a name for the audit log and the shared token (POSTed, never in the URL)."""
    error = f'<p class="error" role="alert">{_e(message)}</p>' if message else ""
    body = (
        f'<main class="login"><h1>{_e(text("login.title", lang))}</h1>{error}'
        '<form method="post" action="/login" autocomplete="off">'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        f"<label>{_e(text('login.name', lang))}"
        '<input name="who" required maxlength="40" autocomplete="name"></label>'
        f"<label>{_e(text('login.token', lang))}"
        '<input name="token" type="password" required autocomplete="current-password"></label>'
        f'<button type="submit">{_e(text("login.submit", lang))}</button></form></main>'
    )
    return _page(lang, text("login.title", lang), body)


def refused_page(lang: str, message: str) -> str:
    """Why an action was refused, with a way back."""
    body = (
        f'<main class="refused"><h1>{_e(text("refused", lang))}</h1><p>{_e(message)}</p>'
        f'<p><a href="/">{_e(text("back", lang))}</a></p></main>'
    )
    return _page(lang, text("refused", lang), body)


def main_page(
    *,
    lang: str,
    zone: ZoneInfo,
    who: str,
    csrf: str,
    view: QueueView,
    items: Sequence[QueueItem],
    audit: Sequence[AuditEntry],
    panic: bool,
    announcement: PublishedAnnouncement | None = None,
    draft: Mapping[str, str] | None = None,
    errors: Sequence[AnnouncementField] = (),
    blocked: Sequence[BlockedAuthor] = (),
    statuses: Sequence[SourceStatus] = (),
    secrets: Iterable[str] = (),
    cached: Collection[str] = (),
    limit: int = MAX_LISTED,
    signals: SignalsView | None = None,
    fleet: FleetSummary | None = None,
) -> str:
    """The moderation page: the wall's screen and panic button, the announcement form, the posts with
    their buttons, the blocked authors, the sources' health, the log. `draft` and `errors`: a refused
    announcement form, shown again. `secrets`: masked in the sources' errors. `cached`: the picture
    URLs the wall has prepared (`wall.web.queue.queue_section`). `signals`: the weak signals (issue 17).
    `fleet`: on the collector, the choice of scope in the panic and announcement forms, and who an
    action has not reached yet."""
    on_fleet = ""
    if fleet is not None:
        on_fleet = fleet_link(lang) + not_reached_notice(lang, zone, fleet.action, fleet.not_reached)
    body = (
        f'<header><h1>{_e(text("title", lang))}</h1><p class="who">{_e(text("signed_in", lang, who=who))}</p>'
        f'<form method="post" action="/logout"><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<button type="submit">{_e(text("logout", lang))}</button></form></header>'
        f"<main>{on_fleet}{_panic(lang, csrf, panic, view, fleet)}"
        f"{_announcement(lang, zone, csrf, view, announcement, draft, errors, fleet)}"
        + signals_section(lang=lang, zone=zone, csrf=csrf, view=view, signals=signals)
        + queue_section(
            lang=lang,
            zone=zone,
            csrf=csrf,
            view=view,
            items=items,
            statuses=statuses,
            cached=cached,
            limit=limit,
        )
        + f"{_blocked(blocked, lang, zone, csrf, view)}"
        + f"{_sources(statuses, secrets, lang, zone)}{_audit(audit, lang, zone)}</main>"
    )
    return _page(lang, text("title", lang), body)


def _panic(lang: str, csrf: str, panic: bool, view: QueueView, fleet: FleetSummary | None = None) -> str:
    # On the collector, "the wall shows only the logo" is wrong for one screen: the line below says where.
    shows_logo = panic and fleet is None
    state = (
        f'<p class="panic-active" role="status">{_e(text("panic.active", lang))}</p>' if shows_logo else ""
    )
    label = text("panic.off" if panic else "panic.on", lang)
    # The collector has no screen of its own: its page shows each kiosk's on the fleet page.
    picture = (
        f'<img id="screen" src="/screen.png" alt="{_e(text("screen.alt", lang))}" width="640" height="360">'
        if fleet is None
        else ""
    )
    if fleet is not None and fleet.panic_sites:
        sites = ", ".join(
            text("fleet.panic_but", lang, scope=p.scope, screens=", ".join(p.but)) if p.but else p.scope
            for p in fleet.panic_sites
        )
        state += (
            f'<p class="panic-sites" role="status">{_e(text("fleet.panic_sites", lang, sites=sites))}</p>'
        )
    forms = (
        [(panic, label)]
        if fleet is None
        else [(False, text("panic.on", lang)), (True, text("panic.off", lang))]
    )
    buttons = "".join(
        f'<form method="post" action="/panic"><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f"{view_fields(view)}"
        f'<input type="hidden" name="on" value="{"0" if release else "1"}">'
        + (
            scope_field(lang, fleet.sites, "panic-off" if release else "panic-on")
            if fleet is not None
            else ""
        )
        + f'<button type="submit" class="{"release" if release else "panic"}">{_e(shown)}</button>'
        + ("" if release else f'<span class="help">{_e(text("panic.on.help", lang))}</span>')
        + "</form>"
        for release, shown in forms
    )
    return (
        f'<section class="screen{" panic" if panic else ""}"><h2>{_e(text("screen", lang))}</h2>{state}'
        f"{picture}{buttons}</section>"
    )


def _announcement(
    lang: str,
    zone: ZoneInfo,
    csrf: str,
    view: QueueView,
    published: PublishedAnnouncement | None,
    draft: Mapping[str, str] | None,
    errors: Sequence[AnnouncementField],
    fleet: FleetSummary | None = None,
) -> str:
    hidden = f'<input type="hidden" name="csrf" value="{_e(csrf)}">{view_fields(view)}'
    if published is None:
        state = f'<p class="none">{_e(text("announce.none", lang))}</p>'
        values = {"title": "", "text": "", "qr": ""}
    else:
        when = _when(published.at, lang, zone) if published.at is not None else "?"
        said = _e(text("announce.published", lang, who="\x00", when=when)).replace(
            "\x00", f"<bdi>{_e(published.who)}</bdi>"
        )
        qr = f'<p class="qr"><bdi>{_e(published.qr)}</bdi></p>' if published.qr else ""
        state = (
            f'<div class="published" role="status"><p class="meta">{said}</p>'
            + (f'<p class="title" dir="auto"><bdi>{_e(published.title)}</bdi></p>' if published.title else "")
            + f'<p class="text" dir="auto"><bdi>{_e(published.text)}</bdi></p>{qr}'
            f'<form method="post" action="/announcement">{hidden}'
            '<button type="submit" name="action" value="withdraw">'
            f"{_e(text('announce.withdraw', lang))}</button></form></div>"
        )
        values = {"title": published.title, "text": published.text, "qr": published.qr}
    if draft is not None:
        values = {name: draft.get(name, "") for name in ANNOUNCEMENT_FIELDS}
    refused = ""
    if errors:
        lines = "".join(
            f"<li>{_e(text('announce.error.' + name, lang, max=str(ANNOUNCEMENT_LIMITS[name])))}</li>"
            for name in errors
        )
        refused = (
            f'<div class="error" role="alert"><p>{_e(text("announce.refused", lang))}</p>'
            f"<ul>{lines}</ul></div>"
        )
    limits = ANNOUNCEMENT_LIMITS
    return (
        f'<section class="announce" id="announcement"><h2>{_e(text("announce", lang))}</h2>{state}'
        + (scoped_announcements(lang, zone, hidden, fleet.announcements) if fleet is not None else "")
        + refused
        + f'<form method="post" action="/announcement" class="announce-form">{hidden}'
        + (scope_field(lang, fleet.sites, "announcement") if fleet is not None else "")
        + f"<label>{_e(text('announce.title', lang, max=str(limits['title'])))}"
        f'<input name="title" maxlength="{limits["title"]}" value="{_e(values["title"])}" dir="auto"></label>'
        f"<label>{_e(text('announce.text', lang, max=str(limits['text'])))}"
        f'<textarea name="text" rows="4" required maxlength="{limits["text"]}" dir="auto">'
        f"{_e(values['text'])}</textarea></label>"
        f"<label>{_e(text('announce.qr', lang))}"
        f'<input name="qr" type="url" maxlength="{limits["qr"]}" value="{_e(values["qr"])}" '
        'placeholder="https://"></label>'
        f'<button type="submit" name="action" value="publish">{_e(text("announce.publish", lang))}</button>'
        f'<span class="help">{_e(text("announce.help", lang))}</span></form></section>'
    )


def _blocked(blocked: Sequence[BlockedAuthor], lang: str, zone: ZoneInfo, csrf: str, view: QueueView) -> str:
    if not blocked:
        listed = f'<p class="none">{_e(text("blocked.none", lang))}</p>'
    else:
        listed = "".join(_blocked_author(b, lang, zone, csrf, view) for b in blocked)
        listed = f'<p class="help">{_e(text("blocked.help", lang))}</p><ul class="blocked-list">{listed}</ul>'
    return f'<section class="blocked" id="blocked"><h2>{_e(text("blocked", lang))}</h2>{listed}</section>'


def _blocked_author(blocked: BlockedAuthor, lang: str, zone: ZoneInfo, csrf: str, view: QueueView) -> str:
    network = f'<span class="source">{_e(blocked.network)}</span> · ' if blocked.network else ""
    if blocked.name and blocked.name != blocked.author:
        who = (
            f'<span class="author"><bdi>{_e(blocked.name)}</bdi></span> '
            f'<span class="handle"><bdi>{_e(blocked.author)}</bdi></span>'
        )
    else:
        who = f'<span class="author"><bdi>{_e(blocked.author)}</bdi></span>'
    by = _e(text("blocked.by", lang, who="\x00", when=_when(blocked.at, lang, zone))).replace(
        "\x00", f"<bdi>{_e(blocked.who)}</bdi>"
    )
    also = f'<p class="in-config">{_e(text("blocked.in_config", lang))}</p>' if blocked.in_config else ""
    return (
        f'<li class="blocked-author"><p class="meta">{network}{who}</p><p class="by">{by}</p>{also}'
        f'<form method="post" action="/unblock"><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<input type="hidden" name="author" value="{_e(blocked.author)}">'
        f"{view_fields(view)}"
        f'<button type="submit">{_e(text("unblock", lang))}</button></form></li>'
    )


def _sources(statuses: Sequence[SourceStatus], secrets: Iterable[str], lang: str, zone: ZoneInfo) -> str:
    if not statuses:
        return f'<section class="sources"><h2>{_e(text("sources", lang))}</h2><p class="none">' + (
            f"{_e(text('sources.none', lang))}</p></section>"
        )
    secrets = list(secrets)
    rows = []
    for status in sorted(statuses, key=lambda s: s.source):
        error = ""
        if status.last_error:
            when = _when(status.last_error_at, lang, zone) if status.last_error_at else "?"
            error = (
                f'<p class="error">{_e(text("sources.error", lang, when=when))} '
                f"<bdi>{_e(shown_error(status.last_error, secrets))}</bdi></p>"
            )
        rows.append(
            f'<li class="source {_e(status.health.value)}"><p class="meta"><bdi>{_e(status.source)}</bdi> · '
            f"{_e(status.network)} — "
            f'<span class="health">{_e(text("health." + status.health.value, lang))}</span></p>{error}</li>'
        )
    return f'<section class="sources"><h2>{_e(text("sources", lang))}</h2><ul>{"".join(rows)}</ul></section>'


def _audit(entries: Sequence[AuditEntry], lang: str, zone: ZoneInfo) -> str:
    if not entries:
        rows = f'<p class="none">{_e(text("audit.none", lang))}</p>'
    else:
        heads = "".join(
            f"<th>{_e(text('audit.' + h, lang))}</th>" for h in ("when", "who", "what", "post", "detail")
        )
        rows = "".join(
            f"<tr><td>{_e(_when(a.at, lang, zone))}</td><td><bdi>{_e(a.who)}</bdi></td>"
            f"<td>{_e(a.action)}</td><td><bdi>{_e(a.post_key)}</bdi></td><td><bdi>{_e(a.detail)}</bdi></td></tr>"
            for a in entries
        )
        rows = f"<table><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>"
    return f'<section class="audit"><h2>{_e(text("audit", lang))}</h2>{rows}</section>'
