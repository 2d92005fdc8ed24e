"""HTML of the moderation page, in French or English (issue 5; pure, Qt-free).

Everything that came from the outside world (post text, author, alt text, source ids) goes through
`_e` (HTML escaping, quotes included) and sits in a `<bdi>`, so a right-to-left override in a post
cannot reorder the page around it. No inline script nor style: the Content-Security-Policy forbids
them; the page's only script and style sheet are files served by the wall itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from annotated_types import MaxLen
from babel.dates import format_datetime

from wall.core.model import SourceStatus
from wall.engine.logs import SecretMask
from wall.engine.moderation.decisions import (
    AuditEntry,
    BlockedAuthor,
    PublishedAnnouncement,
    QueueFilter,
    QueueItem,
    author_key,
)
from wall.engine.panel_settings import MAX_QR_CHARS, PanelSettings

_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Modération du mur",
        "login.title": "Connexion à la modération du mur",
        "login.name": "Votre nom (pour le journal)",
        "login.token": "Jeton d'accès",
        "login.submit": "Se connecter",
        "login.wrong": "Nom ou jeton refusé.",
        "logout": "Se déconnecter",
        "signed_in": "Connecté·e : {who}",
        "screen": "Le mur en ce moment",
        "screen.alt": "Image de l'écran du hall",
        "panic.on": "Écran de secours",
        "panic.on.help": "Remplace tout le mur par le logo, tout de suite.",
        "panic.off": "Rétablir le mur",
        "panic.active": "Écran de secours ACTIF : le mur n'affiche que le logo.",
        "filter.awaiting": "En attente",
        "filter.shown": "Affichés",
        "filter.hidden": "Masqués",
        "filter.all": "Tous",
        "posts": "Messages reçus",
        "none": "Aucun message ici.",
        "status.awaiting": "en attente",
        "status.shown": "affiché",
        "status.hidden": "masqué",
        "pinned": "épinglé en tête",
        "alt": "Image : {alt}",
        "no_alt": "Image sans description",
        "approve": "Approuver",
        "hide": "Masquer",
        "pin": "Épingler",
        "unpin": "Désépingler",
        "block": "Bloquer l'auteur",
        "audit": "Journal des actions",
        "audit.when": "Quand",
        "audit.who": "Qui",
        "audit.what": "Action",
        "audit.post": "Message",
        "audit.detail": "Détail",
        "audit.none": "Aucune action pour l'instant.",
        "refused": "Action refusée",
        "refused.csrf": "Ce formulaire a expiré : rechargez la page et recommencez.",
        "refused.login": "Connectez-vous d'abord.",
        "unknown_post": "Ce message n'est plus dans le mur.",
        "back": "Retour",
        "announce": "Annonce sur le mur",
        "announce.help": "Remplace l'annonce de la configuration sur chaque panneau Annonce (ou s'ajoute aux "
        "panneaux s'il n'y en a pas), jusqu'à ce que vous la retiriez.",
        "announce.none": "Aucune annonce publiée : le mur montre celle de la configuration, s'il y en a une.",
        "announce.published": "Publiée par {who} le {when} :",
        "announce.title": "Titre (facultatif, {max} caractères au plus)",
        "announce.text": "Message ({max} caractères au plus)",
        "announce.qr": "Adresse du QR code (facultative, http:// ou https://)",
        "announce.publish": "Publier",
        "announce.withdraw": "Retirer l'annonce",
        "announce.refused": "L'annonce n'a pas été publiée :",
        "announce.error.title": "le titre fait au plus {max} caractères.",
        "announce.error.text": "le message est obligatoire et fait au plus {max} caractères.",
        "announce.error.qr": "l'adresse du QR code doit être une adresse web complète (http:// ou https://), "
        "sans espace, de {max} caractères au plus.",
        "unknown_action": "Action inconnue.",
        "blocked": "Auteurs bloqués",
        "blocked.help": "Débloquer un auteur remet à l'écran ceux de ses messages encore gardés que les "
        "autres règles et décisions laissent passer.",
        "blocked.none": "Aucun auteur bloqué.",
        "blocked.by": "Bloqué par {who} le {when}",
        "blocked.in_config": "Aussi bloqué dans wall.toml ([moderation] blocked_authors) : le débloquer ici "
        "ne suffit pas à le remettre à l'écran.",
        "unblock": "Débloquer",
        "unknown_author": "Cet auteur n'est pas (ou plus) bloqué.",
        "sources": "État des sources",
        "sources.none": "Aucune source configurée.",
        "sources.error": "Dernière erreur, le {when} :",
        "health.starting": "démarrage",
        "health.ok": "ok",
        "health.retrying": "nouvel essai",
        "health.stale": "contenu ancien",
        "health.needs_attention": "à corriger",
    },
    "en": {
        "title": "Wall moderation",
        "login.title": "Log in to the wall's moderation",
        "login.name": "Your name (for the audit log)",
        "login.token": "Access token",
        "login.submit": "Log in",
        "login.wrong": "Name or token refused.",
        "logout": "Log out",
        "signed_in": "Logged in: {who}",
        "screen": "The wall right now",
        "screen.alt": "Picture of the lobby screen",
        "panic.on": "Panic screen",
        "panic.on.help": "Replaces the whole wall by the logo, at once.",
        "panic.off": "Bring the wall back",
        "panic.active": "Panic screen ON: the wall shows only the logo.",
        "filter.awaiting": "Awaiting",
        "filter.shown": "Shown",
        "filter.hidden": "Hidden",
        "filter.all": "All",
        "posts": "Incoming posts",
        "none": "No posts here.",
        "status.awaiting": "awaiting approval",
        "status.shown": "shown",
        "status.hidden": "hidden",
        "pinned": "pinned first",
        "alt": "Image: {alt}",
        "no_alt": "Image without description",
        "approve": "Approve",
        "hide": "Hide",
        "pin": "Pin",
        "unpin": "Unpin",
        "block": "Block author",
        "audit": "Audit log",
        "audit.when": "When",
        "audit.who": "Who",
        "audit.what": "Action",
        "audit.post": "Post",
        "audit.detail": "Detail",
        "audit.none": "No actions yet.",
        "refused": "Action refused",
        "refused.csrf": "This form has expired: reload the page and try again.",
        "refused.login": "Log in first.",
        "unknown_post": "This post is no longer on the wall.",
        "back": "Back",
        "announce": "Announcement on the wall",
        "announce.help": "Replaces the configured announcement on every announcement panel (or joins the "
        "rotation when there is none) until you withdraw it.",
        "announce.none": "No announcement published: the wall shows the configured one, if any.",
        "announce.published": "Published by {who} on {when}:",
        "announce.title": "Title (optional, at most {max} characters)",
        "announce.text": "Message (at most {max} characters)",
        "announce.qr": "QR code address (optional, http:// or https://)",
        "announce.publish": "Publish",
        "announce.withdraw": "Withdraw the announcement",
        "announce.refused": "The announcement was not published:",
        "announce.error.title": "the title is at most {max} characters long.",
        "announce.error.text": "the message is required, at most {max} characters long.",
        "announce.error.qr": "the QR code address must be a whole web address (http:// or https://), "
        "without spaces, at most {max} characters long.",
        "unknown_action": "Unknown action.",
        "blocked": "Blocked authors",
        "blocked.help": "Unblocking an author brings back those of their stored posts that every other rule "
        "and decision allows.",
        "blocked.none": "No blocked authors.",
        "blocked.by": "Blocked by {who} on {when}",
        "blocked.in_config": "Also blocked in wall.toml ([moderation] blocked_authors): unblocking here "
        "does not bring them back on screen.",
        "unblock": "Unblock",
        "unknown_author": "This author is not (or no longer) blocked.",
        "sources": "Sources",
        "sources.none": "No sources configured.",
        "sources.error": "Last error, on {when}:",
        "health.starting": "starting",
        "health.ok": "ok",
        "health.retrying": "retrying",
        "health.stale": "stale",
        "health.needs_attention": "needs attention",
    },
}
FILTERS: tuple[QueueFilter, ...] = ("awaiting", "shown", "hidden", "all")
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


def text(key: str, lang: str, **values: str) -> str:
    """The page's wording for `key` in `lang` (French when unknown)."""
    table = _TEXT.get(lang, _TEXT["fr"])
    return table.get(key, _TEXT["fr"][key]).format(**values)


def shown_error(message: str, secrets: Iterable[str]) -> str:
    """A source's error message as the page may show it: every configured secret masked (an API error
    body may echo a key), cut to MAX_ERROR_SHOWN_CHARS. The page's only way to show one (issue 12);
    the central masking function plugs in here."""
    return SecretMask(secrets).mask(message)[:MAX_ERROR_SHOWN_CHARS]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _page(lang: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f'<title>{_e(title)}</title><link rel="stylesheet" href="/static/page.css">'
        '<script src="/static/page.js" defer></script>'
        f"</head><body>{body}</body></html>"
    )


def _when(at: datetime, lang: str, zone: ZoneInfo) -> str:
    return format_datetime(at.astimezone(zone), "short", locale=lang)


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
    show: QueueFilter,
    items: Sequence[QueueItem],
    audit: Sequence[AuditEntry],
    panic: bool,
    announcement: PublishedAnnouncement | None = None,
    draft: Mapping[str, str] | None = None,
    errors: Sequence[AnnouncementField] = (),
    blocked: Sequence[BlockedAuthor] = (),
    statuses: Sequence[SourceStatus] = (),
    secrets: Iterable[str] = (),
    limit: int = 200,
) -> str:
    """The moderation page: the wall's screen and panic button, the announcement form, the posts with
    their buttons, the blocked authors, the sources' health, the log. `draft` and `errors`: a refused
    announcement form, shown again. `secrets`: masked in the sources' errors."""
    counts = Counter(item.status for item in items)
    listed = [i for i in items if show == "all" or i.status == show][:limit]
    tabs = "".join(
        f'<a href="/?show={f}"{" aria-current=page" if f == show else ""}>'
        f"{_e(text('filter.' + f, lang))} ({len(items) if f == 'all' else counts[f]})</a>"
        for f in FILTERS
    )
    posts = "".join(_post(item, lang, zone, csrf, show) for item in listed)
    body = (
        f'<header><h1>{_e(text("title", lang))}</h1><p class="who">{_e(text("signed_in", lang, who=who))}</p>'
        f'<form method="post" action="/logout"><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<button type="submit">{_e(text("logout", lang))}</button></form></header>'
        f"<main>{_panic(lang, csrf, panic, show)}"
        f"{_announcement(lang, zone, csrf, show, announcement, draft, errors)}"
        f'<section class="posts"><h2>{_e(text("posts", lang))}</h2><nav class="filters">{tabs}</nav>'
        + (f'<ul class="queue">{posts}</ul>' if posts else f'<p class="none">{_e(text("none", lang))}</p>')
        + f"</section>{_blocked(blocked, lang, zone, csrf, show)}"
        + f"{_sources(statuses, secrets, lang, zone)}{_audit(audit, lang, zone)}</main>"
    )
    return _page(lang, text("title", lang), body)


def _panic(lang: str, csrf: str, panic: bool, show: QueueFilter) -> str:
    state = f'<p class="panic-active" role="status">{_e(text("panic.active", lang))}</p>' if panic else ""
    label = text("panic.off" if panic else "panic.on", lang)
    return (
        f'<section class="screen{" panic" if panic else ""}"><h2>{_e(text("screen", lang))}</h2>{state}'
        f'<img id="screen" src="/screen.png" alt="{_e(text("screen.alt", lang))}" width="640" height="360">'
        f'<form method="post" action="/panic"><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<input type="hidden" name="show" value="{_e(show)}">'
        f'<input type="hidden" name="on" value="{"0" if panic else "1"}">'
        f'<button type="submit" class="{"release" if panic else "panic"}">{_e(label)}</button>'
        + ("" if panic else f'<span class="help">{_e(text("panic.on.help", lang))}</span>')
        + "</form></section>"
    )


def _announcement(
    lang: str,
    zone: ZoneInfo,
    csrf: str,
    show: QueueFilter,
    published: PublishedAnnouncement | None,
    draft: Mapping[str, str] | None,
    errors: Sequence[AnnouncementField],
) -> str:
    hidden = (
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<input type="hidden" name="show" value="{_e(show)}">'
    )
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
        f'<section class="announce" id="announcement"><h2>{_e(text("announce", lang))}</h2>{state}{refused}'
        f'<form method="post" action="/announcement" class="announce-form">{hidden}'
        f"<label>{_e(text('announce.title', lang, max=str(limits['title'])))}"
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


def _post(item: QueueItem, lang: str, zone: ZoneInfo, csrf: str, show: QueueFilter) -> str:
    post, status = item.post, item.status
    reason = item.verdict.reason if item.verdict else ""
    if item.decision is not None:
        reason = ""  # a person decided: the rules' reason no longer explains what the screen does
    alt = ""
    if post.media:
        first = post.media[0].alt.strip()
        alt = text("alt", lang, alt="\x00") if first else text("no_alt", lang)
        alt = _e(alt).replace("\x00", f"<bdi>{_e(first)}</bdi>")
        alt = f'<p class="alt">{alt}</p>'
    actions = ["approve"] if status != "shown" else []
    actions += ["hide"] if status != "hidden" else []
    actions += ["unpin"] if item.pinned else (["pin"] if status != "hidden" else [])
    actions += ["block"] if author_key(post) else []
    buttons = "".join(
        f'<button type="submit" name="action" value="{a}">{_e(text(a, lang))}</button>' for a in actions
    )
    badge = f' <span class="pinned">{_e(text("pinned", lang))}</span>' if item.pinned else ""
    handle = f' <span class="handle"><bdi>{_e(post.author.handle)}</bdi></span>' if post.author.handle else ""
    when = _e(_when(post.created_at, lang, zone))
    return (
        f'<li class="post {status}" data-key="{_e(post.key)}">'
        f'<p class="meta"><span class="source">{_e(post.source)} · {_e(post.network)}</span> '
        f'<span class="author"><bdi>{_e(post.author.name)}</bdi></span>{handle} '
        f'<time datetime="{_e(post.created_at.isoformat())}">{when}</time></p>'
        f'<p class="text" dir="auto"><bdi>{_e(post.text)}</bdi></p>{alt}'
        f'<p class="verdict"><span class="status">{_e(text("status." + status, lang))}</span>{badge}'
        + (f' — <span class="reason">{_e(reason)}</span>' if reason else "")
        + "</p>"
        f'<form method="post" action="/act"><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<input type="hidden" name="key" value="{_e(post.key)}">'
        f'<input type="hidden" name="show" value="{_e(show)}">{buttons}</form></li>'
    )


def _blocked(
    blocked: Sequence[BlockedAuthor], lang: str, zone: ZoneInfo, csrf: str, show: QueueFilter
) -> str:
    if not blocked:
        listed = f'<p class="none">{_e(text("blocked.none", lang))}</p>'
    else:
        listed = "".join(_blocked_author(b, lang, zone, csrf, show) for b in blocked)
        listed = f'<p class="help">{_e(text("blocked.help", lang))}</p><ul class="blocked-list">{listed}</ul>'
    return f'<section class="blocked" id="blocked"><h2>{_e(text("blocked", lang))}</h2>{listed}</section>'


def _blocked_author(blocked: BlockedAuthor, lang: str, zone: ZoneInfo, csrf: str, show: QueueFilter) -> str:
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
        f'<input type="hidden" name="show" value="{_e(show)}">'
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
