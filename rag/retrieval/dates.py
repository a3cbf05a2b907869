"""Relative time phrases in a question ("last week", "in June 2022", "yesterday") -> a date range.

Candidate phrases are found by a small pattern of time words (dateparser's own search also fires
on "$90" or "60 years"); dateparser resolves each one against the reference date and says how
wide it is (day, week, month, year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from rag.date_words import MONTHS, WEEKDAYS, published_day
from rag.errors import BadInputError

_PHRASE = re.compile(
    r"\b(?:yesterday|today|tonight|last night"
    r"|(?:this|last|past|previous) (?:week|month|year)"
    r"|\d+ (?:days?|weeks?|months?|years?) ago|a (?:day|week|month|year) ago"
    rf"|(?:on |last )?(?:{WEEKDAYS})"
    rf"|(?:in |during |since )?(?:(?:early|mid|late)[- ])?(?:{MONTHS})\.?(?: \d{{1,2}},?)? \d{{4}}"
    rf"|(?:in|during) (?:{MONTHS})\b(?! \d)"
    r"|in (?:19|20)\d\d\b(?![-\d%$])"
    r")\b",
    re.IGNORECASE,
)

_BARE = re.compile(r"^(?:(?:in|during|since) )?(?:(?:early|mid|late)[- ])?")


@dataclass(frozen=True)
class DateRange:
    """Inclusive range of publication dates meant by ``phrase`` in a question."""

    start: date
    end: date
    phrase: str

    def contains(self, published_at: str | None) -> bool:
        day = published_day(published_at)
        return day is not None and self.start <= day <= self.end


def reference_day(value: str | date | None = None) -> date:
    """The date relative phrases are resolved against: ``value`` (ISO date) or today."""
    if isinstance(value, date):
        return value
    if not value:
        return date.today()
    return parse_day(value, "reference date")


def parse_day(value: str, name: str = "date") -> date:
    """An ISO date (``2022-06-17``; ``2022/06/17`` and ``2022-06-17T10:00`` work too).

    >>> parse_day("2022/06/17")
    datetime.date(2022, 6, 17)
    """
    day = published_day(value)
    if day is None:
        raise BadInputError(f"{name} {value!r} is not a date: write it as YYYY-MM-DD")
    return day


def shift_day(day: date, days: int) -> date:
    """``day`` moved by ``days``, held within the calendar (year 1 to 9999) instead of raising
    OverflowError for "December 9999" or ``--as-of 9999-12-31``.

    >>> shift_day(date(9999, 12, 31), 1)
    datetime.date(9999, 12, 31)
    """
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def time_range(question: str, reference: date) -> DateRange | None:
    """The publication dates a question's time phrase points to, or None if it has none.

    >>> time_range("What happened last week?", date(2022, 6, 17))
    DateRange(start=datetime.date(2022, 6, 3), end=datetime.date(2022, 6, 10), phrase='last week')
    >>> time_range("Who won in June 2022?", date(2022, 9, 1)).end
    datetime.date(2022, 6, 30)
    >>> time_range("Why did it rise 90% since 1994?", date(2022, 9, 1)) is None
    True
    """
    for match in _PHRASE.finditer(question):
        try:
            found = _resolve(match.group(0), reference)
        except (OverflowError, ValueError):  # a date the calendar (or dateparser) cannot hold
            found = None
        if found is not None:
            return found
    return None


def _resolve(phrase: str, reference: date) -> DateRange | None:
    lower = phrase.lower()
    if re.search(WEEKDAYS, lower):
        # "on Thursday" in the news is the latest such day, which may be the reference day.
        return DateRange(shift_day(reference, -7), reference, phrase)
    if lower in {"this week", "past week"}:
        return DateRange(shift_day(reference, -7), reference, phrase)
    data = _parser_for(reference).get_date_data(_BARE.sub("", lower))
    if data is None or data.date_obj is None:
        return None
    day, period = data.date_obj.date(), data.period or "day"
    if period == "day":
        return DateRange(shift_day(day, -1), shift_day(day, 1), phrase)
    if period == "week":
        return DateRange(shift_day(day, -7), day, phrase)
    if period == "month":
        first = day.replace(day=1)
        last = (date(9999, 12, 31) if (first.year, first.month) == (9999, 12)
                else (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        return DateRange(first, last, phrase)
    return DateRange(date(day.year, 1, 1), date(day.year, 12, 31), phrase)


@lru_cache(maxsize=64)
def _parser_for(reference: date):  # type: ignore[no-untyped-def]
    from dateparser.date import DateDataParser

    base = datetime.combine(reference, datetime.min.time())
    return DateDataParser(languages=["en"], settings={
        "RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "RETURN_TIME_AS_PERIOD": False})
