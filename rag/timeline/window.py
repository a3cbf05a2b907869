"""The period a timeline covers: from the question's time phrase, and the dates it is asked
between (``since``/``until``), as one inclusive window of publication days.

A timeline reads a phrase as a stretch up to the reference day where a question asks about a
course ("since June": June 1 to today; "over the past month": the last 30 days); any other time
phrase is read as ``rag.retrieval.dates.time_range`` reads it ("in June 2022", "last week").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rag.date_words import MONTHS, WEEKDAYS
from rag.errors import BadInputError
from rag.retrieval.dates import parse_day, shift_day, time_range
from rag.timeline.dating import past_date, weekday_before

_UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365}
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "few": 3, "several": 5, "couple of": 2}
# "the past month", "past few weeks", "last 3 days": a stretch up to today ("last week", without
# "the" or a number, is the week before this one: time_range's).
_PAST = re.compile(
    r"\b(?:(?:over|in|during|for|from) )?(?P<the>the )?(?P<word>past|last|previous) "
    r"(?P<n>\d{1,3}|a|one|two|three|four|five|six|seven|eight|nine|ten|few|several|couple of)? ?"
    r"(?P<unit>days?|weeks?|fortnights?|months?|years?)\b", re.IGNORECASE)
_SINCE = re.compile(
    rf"\bsince (?P<when>(?:(?:early|mid|late)[- ])?(?:{MONTHS})\.?(?: \d{{1,2}}(?:st|nd|rd|th)?)?"
    rf"(?:,? \d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}}|(?:19|20)\d\d|(?:last )?(?:{WEEKDAYS})|yesterday"
    r"|last (?:week|month|year)|the (?:start|beginning) of (?:the )?(?:week|month|year))\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class Window:
    """Inclusive publication days a timeline covers (None: open on that side), and the time
    ``phrase`` of the question it came from, if any.

    >>> Window(date(2022, 6, 1), None, "since June").to_iso()
    ('2022-06-01', None)
    """

    since: date | None = None
    until: date | None = None
    phrase: str | None = None

    def to_iso(self) -> tuple[str | None, str | None]:
        return (self.since.isoformat() if self.since else None,
                self.until.isoformat() if self.until else None)

    @property
    def is_open(self) -> bool:
        """Whether it is open on both sides (no period asked for).

        >>> Window().is_open, Window(date(2022, 6, 1)).is_open
        (True, False)
        """
        return self.since is None and self.until is None

    def contains(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (self.until is None
                                                              or day <= self.until)

    def within(self, since: str | None, until: str | None) -> Window:
        """This window narrowed to the dates ``since``/``until`` (ISO) as well; an empty
        intersection is a BadInputError naming both."""
        start = max(filter(None, (self.since, since and parse_day(since, "since date"))),
                    default=None)
        end = min(filter(None, (self.until, until and parse_day(until, "until date"))),
                  default=None)
        if start and end and start > end:
            raise BadInputError(f"the timeline's window is empty: since {start.isoformat()} is "
                                f"after until {end.isoformat()}")
        return Window(start, end, self.phrase)


def question_window(question: str, reference: date) -> Window:
    """The window a question's time phrase names, counted from ``reference`` ("today"); an
    open window when it names none.

    >>> question_window("What happened with the strike since June?", date(2022, 9, 1))
    Window(since=datetime.date(2022, 6, 1), until=datetime.date(2022, 9, 1), phrase='since June')
    >>> question_window("Timeline of the heat wave over the past month", date(2022, 9, 1)).since
    datetime.date(2022, 8, 2)
    >>> question_window("Timeline of the heat wave in June 2022", date(2022, 9, 1)).until
    datetime.date(2022, 6, 30)
    >>> question_window("Timeline of the heat wave", date(2022, 9, 1))
    Window(since=None, until=None, phrase=None)
    """
    since = _SINCE.search(question)
    if since is not None:
        start = _since_day(since.group("when"), reference)
        if start is not None and start <= reference:
            return Window(start, reference, since.group(0))
    past = _PAST.search(question)
    if past is not None and not (past.group("word").lower() != "past" and not past.group("the")
                                 and not past.group("n")):
        count = _NUMBERS.get((past.group("n") or "a").lower()) or int(past.group("n"))
        days = count * _UNIT_DAYS[past.group("unit").lower().rstrip("s")]
        return Window(shift_day(reference, -days), reference, past.group(0))
    found = time_range(question, reference)
    if found is None:
        return Window()
    return Window(found.start, found.end, found.phrase)


def _since_day(phrase: str, reference: date) -> date | None:
    """The first day of ``phrase`` as of ``reference``: "June" -> June 1, "mid-June" -> June 15,
    "Monday" -> the latest Monday, "last week" -> a week ago, "the start of the month" -> its
    first day.

    >>> _since_day("mid-June", date(2022, 9, 1)), _since_day("Sept. 1", date(2022, 9, 12))
    (datetime.date(2022, 6, 15), datetime.date(2022, 9, 1))
    """
    lower = phrase.lower()
    if lower.startswith("the "):
        unit = lower.rsplit(" ", 1)[-1]
        return {"week": shift_day(reference, -reference.weekday()),
                "month": reference.replace(day=1),
                "year": reference.replace(month=1, day=1)}[unit]
    weekday = re.fullmatch(rf"(?:last )?({WEEKDAYS})", lower)
    if weekday:
        return weekday_before(weekday.group(1), shift_day(reference, -1))
    part = re.match(r"(early|mid|late)[- ]", lower)
    found = past_date(lower[part.end():] if part else lower, reference)
    if found is None:
        return None
    day, period = found
    if period == "month":
        return day.replace(day={"early": 1, "mid": 15, "late": 21}[part.group(1)] if part else 1)
    if period == "year":
        return day.replace(month=1, day=1)
    return day
