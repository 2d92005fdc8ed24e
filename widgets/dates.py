"""Dates and times on screen, in the wall's language, from Qt's own CLDR data (QLocale).

Babel's locale data cost the screen's process ~8 MB for these few formats (issue 14); Qt carries
CLDR already. The patterns are written out rather than taken from `QLocale.LongFormat` so that a
Qt upgrade with newer CLDR data does not change the screen: they are what the wall showed with
Babel (`format="full"` and `EEEE d MMMM`), checked against Babel in tests/widgets/test_dates.py.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from PySide6.QtCore import QDate, QLocale, QTime

# Qt's date patterns (`dddd` the day's name, `MMMM` the month's), per language; French otherwise.
FULL_DATE = {"fr": "dddd d MMMM yyyy", "en": "dddd, MMMM d, yyyy"}  # CLDR's "full" without the era
DAY_AND_MONTH = "dddd d MMMM"  # the header's, in both languages: "mardi 3 juin", "Tuesday 3 June"
LOCALES = {"fr": "fr_FR", "en": "en_US"}  # what Babel's "fr" and "en" stand for


@cache
def _locale(language: str) -> QLocale:
    """The QLocale of `language` (French for a language the wall does not speak)."""
    return QLocale(LOCALES.get(language, LOCALES["fr"]))


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def full_date(day: date, language: str) -> str:
    """`mardi 3 juin 2025` / `Tuesday, June 3, 2025`."""
    return _locale(language).toString(_qdate(day), FULL_DATE.get(language, FULL_DATE["fr"]))


def day_and_month(day: date, language: str) -> str:
    """`mardi 3 juin` / `Tuesday 3 June`: the header's date."""
    return _locale(language).toString(_qdate(day), DAY_AND_MONTH)


def hours_and_minutes(moment: datetime, language: str) -> str:
    """`14:30` (24 hours, in both languages): the time as `moment` shows it, in its own zone."""
    return _locale(language).toString(QTime(moment.hour, moment.minute), "HH:mm")
