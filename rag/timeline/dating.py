"""The day an event happened: the date its sentence states, resolved against the article's
publication date, else the publication date.

"On Monday" is the Monday on or before publication; "Sept. 21" that day of the publication
year (the year before when that would be after publication: "Dec. 28" in a January story);
"yesterday" the day before publication; a weekday naming a month day ("Monday, Aug. 29") is
that day, and a weekday in a sentence about a plan ("will", "aims to") is no event's. Dates
are read with dateparser (``RELATIVE_BASE`` the publication day, ``PREFER_DATES_FROM`` past),
as rag/retrieval/dates.py reads a question's.
A stated date after the publication day (+1, for time zones: "will be held on Sept. 21" is no
event yet), more than a year before it, or without a year more than ``YEARLESS_DAYS`` before it
(an upcoming day read as last year's) is not the event's day. An article without a
publication date gives only a date that states its year; what else its sentences state
("until March 2") is shown as they state it (:func:`stated_phrase`), never resolved.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

from rag.date_words import MONTHS, WEEKDAYS, published_day
from rag.retrieval.dates import shift_day

Dated = tuple[date, Literal["stated", "published"]]

MAX_DAYS_BEFORE = 366
YEARLESS_DAYS = 300
_WEEKDAY_NAMES = WEEKDAYS.split("|")
_ORDINAL = r"(?:st|nd|rd|th)?"
# Candidate day phrases in a sentence, first to last; months capitalized ("may 5 people" and
# "march 2 miles" are no dates).
_MONTH = rf"(?:{MONTHS.title()}|{MONTHS.upper()})"
_DAY_PHRASE = re.compile(
    rf"\b(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})\b"
    rf"|\b(?:{WEEKDAYS.title()}),? (?P<md>{_MONTH}\.? \d{{1,2}}{_ORDINAL}(?:,? \d{{4}})?)(?![\d:])"
    rf"|\b(?P<md2>{_MONTH}\.? \d{{1,2}}{_ORDINAL}(?:,? \d{{4}})?)(?![\d:])"
    rf"|\b(?P<dm>\d{{1,2}}{_ORDINAL} (?:of )?{_MONTH}\b\.?(?:,? \d{{4}})?)"
    rf"|\b(?P<rel>(?i:yesterday|today|tonight|last night|this morning|this afternoon"
    rf"|this evening|earlier today))\b"
    rf"|(?<!\b[Nn]ext )(?<!\b[Tt]his )(?<!\b[Cc]oming )\b(?P<wd>{WEEKDAYS.title()})\b")
_HAS_YEAR = re.compile(r"\b\d{4}\b")
# The word that ties a stated date to what the sentence reports ("until March 2").
_PREPOSITION = re.compile(r"\b(?:on|until|till|through|by|from|since|before|after|in|at|to"
                          r"|between|as of)\s+$", re.IGNORECASE)
# A sentence about a plan: its weekday is the plan's ("NASA aims to launch on Saturday").
_PLANNED = re.compile(r"\b(?:will|is set to|are set to|scheduled|plans? to|planning to|aims? to"
                      r"|aiming to|expected to|targeting|next|upcoming)\b", re.IGNORECASE)


def event_day(sentence: str, published_at: str | None) -> Dated | None:
    """The day ``sentence`` reports, and where it comes from: the first date it states that
    is a plausible event day (resolved against ``published_at``), else the publication day;
    None when there is neither.

    >>> event_day("Police said on Monday that the suspect fled.", "2022-09-14")
    (datetime.date(2022, 9, 12), 'stated')
    >>> event_day("The vote, held Sept. 8, was close.", "2022-09-14T10:00:00")
    (datetime.date(2022, 9, 8), 'stated')
    >>> event_day("The summit will open on Sept. 21.", "2022-09-14")
    (datetime.date(2022, 9, 14), 'published')
    >>> event_day("Iran lost to Japan 16-13.", None) is None
    True
    """
    published = published_day(published_at)
    stated = stated_day(sentence, published)
    if stated is not None:
        return stated, "stated"
    if published is not None:
        return published, "published"
    return None


def stated_day(sentence: str, published: date | None) -> date | None:
    """The first day ``sentence`` states that can be the day of what it reports (see the
    module's docstring), or None.

    >>> stated_day("It happened yesterday.", date(2022, 9, 14))
    datetime.date(2022, 9, 13)
    >>> stated_day("The fire began Dec. 28 and burned for days.", date(2023, 1, 3))
    datetime.date(2022, 12, 28)
    >>> stated_day("The match on May 13, 2025 was close.", None)
    datetime.date(2025, 5, 13)
    >>> stated_day("The match on Monday was close.", None) is None
    True
    >>> stated_day("NASA aims to launch on Saturday.", date(2022, 9, 1)) is None
    True
    >>> stated_day("It launched on Monday, Aug. 29.", date(2022, 9, 1))
    datetime.date(2022, 8, 29)
    """
    for match in _DAY_PHRASE.finditer(sentence):
        if match.group("wd") and _PLANNED.search(sentence):
            continue
        day = _resolve(match, published)
        if day is not None and plausible(day, published, _has_year(match)):
            return day
    return None


def stated_phrase(sentence: str) -> str | None:
    """The first date ``sentence`` states, as it states it, with the word before it that ties
    it to what the sentence reports ("until", "on"); None when it states none. An undated
    event shows it instead of a day: without a year or a publication date it cannot be
    resolved, and is never given a year.

    >>> stated_phrase("The tournament runs until March 2 and is vital for qualifying.")
    'until March 2'
    >>> stated_phrase("The talks resume on Monday, Aug. 29, in Vienna.")
    'on Monday, Aug. 29'
    >>> stated_phrase("Iran lost to Japan 16-13.") is None
    True
    """
    match = _DAY_PHRASE.search(sentence)
    if match is None:
        return None
    before = _PREPOSITION.search(sentence, 0, match.start())
    start = before.start() if before else match.start()
    return sentence[start:match.end()].rstrip(".,")


def plausible(day: date, published: date | None, has_year: bool) -> bool:
    """Whether ``day`` can be the day an article published on ``published`` reports.

    >>> plausible(date(2022, 9, 21), date(2022, 9, 14), True)
    False
    >>> plausible(date(2021, 9, 21), date(2022, 9, 14), False)
    False
    """
    if published is None:
        return has_year
    if day > shift_day(published, 1):
        return False
    return (published - day).days <= (MAX_DAYS_BEFORE if has_year else YEARLESS_DAYS)


def _month_day(match: re.Match[str]) -> str:
    """The month-and-day phrase matched ("Sept. 8", "8 September 2022"), or empty."""
    return match.group("md") or match.group("md2") or match.group("dm") or ""


def _has_year(match: re.Match[str]) -> bool:
    return bool(match.group("iso") or _HAS_YEAR.search(_month_day(match)))


def _resolve(match: re.Match[str], published: date | None) -> date | None:
    if match.group("iso"):
        return published_day(match.group("iso"))
    if match.group("wd"):
        return None if published is None else weekday_before(match.group("wd"), published)
    if match.group("rel"):
        if published is None:
            return None
        return shift_day(published, -1) if match.group("rel").lower() in (
            "yesterday", "last night") else published
    phrase = _month_day(match)
    if published is None and not _HAS_YEAR.search(phrase):
        return None
    found = past_date(phrase, published or date.today())
    return found[0] if found is not None and found[1] == "day" else None


def weekday_before(name: str, day: date) -> date:
    """The latest ``name``-day on or before ``day`` (news say "on Monday" of this week's).

    >>> weekday_before("Monday", date(2022, 9, 14)), weekday_before("wednesday", date(2022, 9, 14))
    (datetime.date(2022, 9, 12), datetime.date(2022, 9, 14))
    """
    wanted = _WEEKDAY_NAMES.index(name.lower())
    return shift_day(day, -((day.weekday() - wanted) % 7))


def past_date(phrase: str, base: date) -> tuple[date, str] | None:
    """``phrase`` read by dateparser as of ``base`` (preferring the past), with its period
    (``day``, ``week``, ``month`` or ``year``), or None when it is no date.

    >>> past_date("Sept. 21", date(2022, 9, 30))
    (datetime.date(2022, 9, 21), 'day')
    >>> past_date("June", date(2022, 9, 30))[1]
    'month'
    """
    try:
        data = _parser_for(base).get_date_data(phrase)
    except (OverflowError, ValueError):
        return None
    if data is None or data.date_obj is None:
        return None
    return data.date_obj.date(), data.period or "day"


@lru_cache(maxsize=512)
def _parser_for(base: date):  # type: ignore[no-untyped-def]
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings={
        "RELATIVE_BASE": datetime.combine(base, datetime.min.time()),
        "PREFER_DATES_FROM": "past", "RETURN_TIME_AS_PERIOD": False})
