"""Words and formats shown on screen and in the CLI, in French (default) and English.

Numbers, percents and short relative times follow CLDR (what Babel prints, checked value by value
in tests/wall/test_i18n.py), written out for the wall's two languages only: loading Babel's locale
data for a handful of formats cost the screen's process ~8 MB (issue 14). The dates and times the
widgets show come from Qt's QLocale, which carries CLDR already.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

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


@dataclass(frozen=True)
class NumberSymbols:
    """CLDR's number symbols and patterns of one language (as Babel 2.19, CLDR 49, has them)."""

    group: str  # between groups of three digits
    percent_suffix: str  # after a percentage, with the space French puts before `%`
    ago: dict[str, tuple[str, str]]  # short relative time in the past, per unit: (one, other)


# French groups digits with a narrow no-break space (U+202F) and keeps `%` and the units on the
# number's line with a no-break space (U+00A0): a wrap there would strand `%` or `min` on a line
# of its own. CLDR's minus sign is the hyphen-minus for both languages.
_SYMBOLS: dict[str, NumberSymbols] = {
    "fr": NumberSymbols(
        group="\u202f",
        percent_suffix="\u00a0%",
        ago={
            "year": ("il y a {0} a", "il y a {0} a"),
            "month": ("il y a {0} m.", "il y a {0} m."),
            "week": ("il y a {0} sem.", "il y a {0} sem."),
            "day": ("il y a {0}\u00a0j", "il y a {0}\u00a0j"),
            "hour": ("il y a {0}\u00a0h", "il y a {0}\u00a0h"),
            "minute": ("il y a {0}\u00a0min", "il y a {0}\u00a0min"),
            "second": ("il y a {0}\u00a0s", "il y a {0}\u00a0s"),
        },
    ),
    "en": NumberSymbols(
        group=",",
        percent_suffix="%",
        ago={
            "year": ("{0} yr. ago", "{0} yr. ago"),
            "month": ("{0} mo. ago", "{0} mo. ago"),
            "week": ("{0} wk. ago", "{0} wk. ago"),
            "day": ("{0} day ago", "{0} days ago"),
            "hour": ("{0} hr. ago", "{0} hr. ago"),
            "minute": ("{0} min. ago", "{0} min. ago"),
            "second": ("{0} sec. ago", "{0} sec. ago"),
        },
    ),
}
# Babel's units for a time delta, largest first, and their length in seconds (a month is 30 days).
_UNITS = (
    ("year", 365 * 86_400),
    ("month", 30 * 86_400),
    ("week", 7 * 86_400),
    ("day", 86_400),
    ("hour", 3_600),
    ("minute", 60),
    ("second", 1),
)


def _symbols(lang: str) -> NumberSymbols:
    """The symbols of `lang`, French for any other language (as `tr` does)."""
    return _SYMBOLS.get(lang, _SYMBOLS["fr"])


def _grouped(digits: str, lang: str) -> str:
    """`1234567` as `1 234 567` / `1,234,567`: groups of three from the right."""
    head = len(digits) % 3 or 3
    groups = [digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))]
    return _symbols(lang).group.join(groups)


def format_number(value: int | None, lang: str = "fr") -> str:
    """`180 000` in French (narrow no-break spaces), `180,000` in English; unknown values as a dash."""
    if value is None:
        return tr("unknown", lang)
    return ("-" if value < 0 else "") + _grouped(str(abs(value)), lang)


def format_change(value: int, lang: str = "fr") -> str:
    """`+1 204` / `+1,204`; a loss with a true minus sign (`−12`)."""
    sign = "+" if value >= 0 else "\u2212"
    return sign + _grouped(str(abs(value)), lang)


def format_percent(fraction: float, lang: str = "fr") -> str:
    """`42 %` in French (no-break space), `42%` in English; `fraction` is 0..1, rounded half to even."""
    suffix = _symbols(lang).percent_suffix
    if math.isnan(fraction):
        return "NaN" + suffix
    # As Babel does: the decimal the float prints as, so 0.145 is 14.5 % and rounds to 14, not 15.
    exact = Decimal(str(fraction)).scaleb(2)
    sign = "-" if exact.is_signed() else ""  # Babel keeps the sign of what rounds to zero: `-0 %`
    if exact.is_infinite():
        return sign + "\u221e" + suffix
    whole = abs(exact).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return sign + _grouped(f"{whole:f}", lang) + suffix


def relative_time(when: datetime, now: datetime, lang: str = "fr") -> str:
    """`il y a 5 min` / `5 min. ago`; anything under a minute (or in the future) is 'just now'."""
    seconds = (as_utc(when) - as_utc(now)).total_seconds()
    if seconds > -60:
        return tr("just_now", lang)
    # The largest unit of which at least one has passed, rounded half to even, like Babel's
    # format_timedelta(threshold=1.0): 90 s is "2 min", 150 s is "2 min" too.
    unit, length = next((u for u in _UNITS if -seconds / u[1] >= 1.0), _UNITS[-1])
    count = round(-seconds / length)
    one, other = _symbols(lang).ago[unit]
    # Only English has a "one" that differs ("1 day ago"); French's "one" is 0 and 1, equal to "other".
    return (one if count == 1 else other).replace("{0}", str(count))
