"""Words and formats shown on screen and in the CLI, in French (default) and English.

Numbers and relative times come from Babel's CLDR data, not hand-written rules.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_timedelta
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent

from wall.core.model import as_utc

LANGUAGES = ("fr", "en")

_STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "panel.fans": "Notre communauté",
        "panel.mentions": "On parle de nous",
        "panel.internal": "Dans l'entreprise",
        "panel.announcement": "Annonce",
        "empty.fans": "Les compteurs arrivent…",
        "empty.mentions": "Aucune mention pour l'instant",
        "empty.internal": "Pas encore de message interne",
        "stale": "Données anciennes\u00a0: {names}",
        "just_now": "à l'instant",
        "followers": "abonnés",
        "fans": "fans",
        "subscribers": "abonnés",
        "members": "membres",
        "sensitive": "Contenu masqué",
        "colleague": "Un·e collègue",
        "today": "{change} aujourd'hui",
        "milestone": "🎉 {value} {metric}\u00a0!",
        "unknown": "—",
        "panel.trends": "Tendances sur 24\u00a0h",
        "panel.clock": "Bienvenue",
        "empty.trends": "Pas encore de tendance sur les dernières 24\u00a0h",
        "empty.announcement": "Pas d'annonce pour l'instant",
        "empty.clock": "",
        "trends.hashtags": "Hashtags",
        "trends.words": "Mots",
        "trends.networks": "Par réseau",
        "trends.none": "Aucun pour l'instant",
        "trends.others": "Autres",
        "trends.total_one": "Sur {count} message",
        "trends.total_other": "Sur {count} messages",
        "notice.one": "Nouveau",
        "notice.many": "{count} nouvelles publications",
        "notice.more": "+{count} autres",
    },
    "en": {
        "panel.fans": "Our community",
        "panel.mentions": "People talk about us",
        "panel.internal": "Inside the company",
        "panel.announcement": "Announcement",
        "empty.fans": "Counters are on their way…",
        "colleague": "A colleague",
        "today": "{change} today",
        "milestone": "🎉 {value} {metric}!",
        "empty.mentions": "No mentions yet",
        "empty.internal": "No internal posts yet",
        "stale": "Old data: {names}",
        "just_now": "just now",
        "followers": "followers",
        "fans": "fans",
        "subscribers": "subscribers",
        "members": "members",
        "sensitive": "Hidden content",
        "unknown": "—",
        "panel.trends": "Trends over 24\u00a0h",
        "panel.clock": "Welcome",
        "empty.trends": "No trends over the last 24\u00a0h yet",
        "empty.announcement": "No announcement for now",
        "empty.clock": "",
        "trends.hashtags": "Hashtags",
        "trends.words": "Words",
        "trends.networks": "By network",
        "trends.none": "None yet",
        "trends.others": "Others",
        "trends.total_one": "Out of {count} post",
        "trends.total_other": "Out of {count} posts",
        "notice.one": "New",
        "notice.many": "{count} new posts",
        "notice.more": "+{count} more",
    },
}


def tr(key: str, lang: str = "fr", **values: object) -> str:
    """The text for `key` in `lang` (falling back to French), with `{placeholders}` filled."""
    table = _STRINGS.get(lang, _STRINGS["fr"])
    text = table.get(key) or _STRINGS["fr"].get(key, key)
    return text.format(**values) if values else text


def format_number(value: int | None, lang: str = "fr") -> str:
    """`180 000` in French, `180,000` in English; unknown values as a dash."""
    if value is None:
        return tr("unknown", lang)
    return format_decimal(value, locale=lang)


def format_change(value: int, lang: str = "fr") -> str:
    """`+1 204` / `+1,204`; a loss with a true minus sign (`−12`)."""
    sign = "+" if value >= 0 else "\u2212"
    return sign + format_decimal(abs(value), locale=lang)


def format_percent(fraction: float, lang: str = "fr") -> str:
    """`42 %` in French (narrow no-break space), `42%` in English; `fraction` is 0..1."""
    return str(babel_percent(fraction, locale=lang))


def relative_time(when: datetime, now: datetime, lang: str = "fr") -> str:
    """`il y a 5 min` / `5 min ago`; anything under a minute (or in the future) is 'just now'."""
    delta = as_utc(when) - as_utc(now)
    if delta.total_seconds() > -60:
        return tr("just_now", lang)
    return format_timedelta(delta, add_direction=True, format="short", locale=lang, threshold=1.0)
