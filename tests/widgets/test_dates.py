"""The dates and times the clock and the header show: Qt's QLocale, the same words as Babel's.

The screen stopped loading Babel (issue 14); what it shows must not change, so each day of two
years (every weekday with every month, a leap day) and each minute of a day is checked against
Babel, the oracle, in both of the wall's languages.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time

from wall.core.i18n import LANGUAGES
from widgets.dates import day_and_month, full_date, hours_and_minutes

DAYS = [date(2027, 1, 1) + timedelta(days=n) for n in range(2 * 366)]  # 2028 is a leap year


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_clocks_full_date_is_babels(lang: str) -> None:
    for day in DAYS:
        assert full_date(day, lang) == format_date(day, format="full", locale=lang), day


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_headers_date_is_babels(lang: str) -> None:
    for day in DAYS:
        assert day_and_month(day, lang) == format_date(day, "EEEE d MMMM", locale=lang), day


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_time_is_babels_in_the_walls_zone(lang: str) -> None:
    paris = ZoneInfo("Europe/Paris")
    for minute in range(24 * 60):
        moment = datetime.combine(date(2025, 6, 3), time(minute // 60, minute % 60), paris)
        assert hours_and_minutes(moment, lang) == format_time(moment, "HH:mm", locale=lang), moment


def test_what_the_screen_shows() -> None:
    assert full_date(date(2025, 6, 3), "fr") == "mardi 3 juin 2025"
    assert full_date(date(2025, 6, 3), "en") == "Tuesday, June 3, 2025"
    assert day_and_month(date(2025, 12, 25), "fr") == "jeudi 25 décembre"
    assert day_and_month(date(2025, 12, 25), "en") == "Thursday 25 December"
    assert hours_and_minutes(datetime(2025, 6, 3, 8, 5), "en") == "08:05"
