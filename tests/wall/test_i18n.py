"""Numbers, percents and relative times as the wall prints them: the same text as Babel's CLDR
formats, value by value over a wide range, in both of the wall's languages (issue 14: the screen no
longer loads Babel; the tests keep it as the oracle).
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest
from babel.dates import format_timedelta
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent

from tests.support.clock import NOW
from wall.core.i18n import LANGUAGES, format_change, format_number, format_percent, relative_time

NARROW_NBSP, NBSP = "\u202f", "\u00a0"
RANDOM = random.Random(14)


def integers() -> list[int]:
    """Every small integer, each power of ten and its neighbours, and random ones of every size."""
    values = set(range(-1_100, 1_101))
    for exponent in range(1, 19):
        values.update(sign * (10**exponent + step) for sign in (1, -1) for step in (-1, 0, 1))
    values.update(RANDOM.randrange(-(10**digits), 10**digits) for digits in range(1, 19) for _ in range(100))
    return sorted(values)


def fractions() -> list[float]:
    """Whole and half percents (where rounding is decided), and random fractions up to 120."""
    values = [step / 1000 for step in range(-2_000, 12_001)]
    values += [(whole + 0.5) / 100 for whole in range(-200, 1_200)]
    values += [RANDOM.uniform(-5, 5) for _ in range(2_000)] + [RANDOM.uniform(0, 120) for _ in range(500)]
    # 0.145 prints as 0.145 but is stored a hair under: Babel (and the wall) round what it prints.
    return [*values, 0.0, -0.0, -0.001, 0.29, 0.145, 0.575, 1e-9, 1e9, math.inf, -math.inf, math.nan]


def seconds_ago() -> list[float]:
    """Every second of the first two hours, each unit's edges and halves, and random ages up to 40 years."""
    values = [float(s) for s in range(60, 7_201)]
    for length in (60, 3_600, 86_400, 7 * 86_400, 30 * 86_400, 365 * 86_400):
        for count in range(1, 40):
            values += [count * length - 1, count * length, count * length + 0.5, (count + 0.5) * length]
    values += [RANDOM.uniform(60, 40 * 365 * 86_400) for _ in range(3_000)]
    return [seconds for seconds in values if seconds >= 60]  # younger is "just now", tested below


@pytest.mark.parametrize("lang", LANGUAGES)
def test_numbers_are_babels(lang: str) -> None:
    for value in integers():
        assert format_number(value, lang) == format_decimal(value, locale=lang), value


@pytest.mark.parametrize("lang", LANGUAGES)
def test_changes_are_babels_numbers_with_a_sign(lang: str) -> None:
    for value in integers():
        sign = "+" if value >= 0 else "\u2212"
        assert format_change(value, lang) == sign + format_decimal(abs(value), locale=lang), value


@pytest.mark.parametrize("lang", LANGUAGES)
def test_percents_are_babels(lang: str) -> None:
    for fraction in fractions():
        assert format_percent(fraction, lang) == babel_percent(fraction, locale=lang), fraction


@pytest.mark.parametrize("lang", LANGUAGES)
def test_relative_times_are_babels(lang: str) -> None:
    for seconds in seconds_ago():
        age = timedelta(seconds=seconds)
        babel = format_timedelta(-age, add_direction=True, format="short", locale=lang, threshold=1.0)
        assert relative_time(NOW - age, NOW, lang) == babel, seconds


def test_what_a_french_wall_shows() -> None:
    assert format_number(180_000) == f"180{NARROW_NBSP}000"
    assert format_number(1_234_567) == f"1{NARROW_NBSP}234{NARROW_NBSP}567"
    assert format_number(None) == "—"
    assert format_change(1_204) == f"+1{NARROW_NBSP}204"
    assert format_change(-12) == "\u221212"
    assert format_percent(0.42) == f"42{NBSP}%"
    assert relative_time(NOW - timedelta(minutes=5), NOW) == f"il y a 5{NBSP}min"
    assert relative_time(NOW - timedelta(days=1), NOW) == f"il y a 1{NBSP}j"


def test_what_an_english_wall_shows() -> None:
    assert format_number(180_000, "en") == "180,000"
    assert format_change(-1_204, "en") == "\u22121,204"
    assert format_percent(0.42, "en") == "42%"
    assert relative_time(NOW - timedelta(minutes=5), NOW, "en") == "5 min. ago"
    assert relative_time(NOW - timedelta(days=1), NOW, "en") == "1 day ago"
    assert relative_time(NOW - timedelta(days=3), NOW, "en") == "3 days ago"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_under_a_minute_or_in_the_future_is_just_now(lang: str) -> None:
    just_now = {"fr": "à l'instant", "en": "just now"}[lang]
    for seconds in (-3_600, -1, 0, 1, 30, 59.999):
        assert relative_time(NOW - timedelta(seconds=seconds), NOW, lang) == just_now


def test_another_language_is_shown_in_french() -> None:
    assert format_number(180_000, "de") == format_number(180_000, "fr")
    five_minutes_ago = NOW - timedelta(minutes=5)
    assert relative_time(five_minutes_ago, NOW, "de") == relative_time(five_minutes_ago, NOW, "fr")
