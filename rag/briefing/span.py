"""The period a briefing covers: ``since`` as an ISO date or a span counted back from "today"
("24h", "7d", "2w", "yesterday", "this week"), ``until`` as an ISO date (default: today; a
span given with one counts back from it).

Articles carry publication days, not times, so hours count in whole days: "24h" is yesterday
and today, "7d" the seven days before today and today (as "the past week" is in a timeline).
"""

from __future__ import annotations

import math
import re
from datetime import date

from rag.errors import BadInputError
from rag.retrieval.dates import parse_day, shift_day
from rag.timeline.window import Window

DEFAULT_SINCE = "24h"
_SPAN = re.compile(
    r"(?:(?:the )?(?:last|past) )?(?P<n>\d{1,4}) ?(?P<unit>h|hours?|d|days?|w|weeks?)")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


def since_day(since: str, today: date) -> date:
    """The first day of a briefing that starts ``since``, counted back from ``today``; input
    that is neither a date nor a span is a BadInputError naming it.

    >>> today = date(2022, 9, 11)
    >>> [since_day(s, today).isoformat() for s in ("24h", "7d", "yesterday", "this week")]
    ['2022-09-10', '2022-09-04', '2022-09-10', '2022-09-05']
    >>> since_day("2022-09-01", today)
    datetime.date(2022, 9, 1)
    >>> since_day("a while", today)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.errors.BadInputError: since 'a while' is neither a date (YYYY-MM-DD) nor a span ...
    """
    text = " ".join(str(since).split()).lower()
    span = _SPAN.fullmatch(text)
    if span is not None:
        hours = int(span.group("n")) * _UNIT_HOURS[span.group("unit")[0]]
        return shift_day(today, -max(1, math.ceil(hours / 24)))
    named = {"today": today, "yesterday": shift_day(today, -1),
             "this week": shift_day(today, -today.weekday()),
             "this month": today.replace(day=1),
             "last week": shift_day(today, -7), "last month": shift_day(today, -30)}
    if text in named:
        return named[text]
    if re.fullmatch(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[t ].*)?", text):
        return parse_day(text, "since")
    raise BadInputError(f"since {since!r} is neither a date (YYYY-MM-DD) nor a span such as "
                        "24h, 7d, 2w, yesterday or this week")


def briefing_window(since: str | None, until: str | None, today: date) -> Window:
    """The window of a briefing: from ``since`` (default ``DEFAULT_SINCE``, a span counted back
    from ``until`` when given) to ``until`` (an ISO date; default ``today``). ``until``
    before ``since`` is a BadInputError naming both.

    >>> briefing_window("7d", None, date(2022, 9, 11)).to_iso()
    ('2022-09-04', '2022-09-11')
    >>> briefing_window("2022-09-10", "2022-09-01", date(2022, 9, 11))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.errors.BadInputError: the briefing's window is empty: until 2022-09-01 is before ...
    """
    end = parse_day(until, "until") if until else today
    start = since_day(since or DEFAULT_SINCE, end)
    if end < start:
        raise BadInputError(f"the briefing's window is empty: until {end.isoformat()} is "
                            f"before since {start.isoformat()}")
    return Window(start, end, since or DEFAULT_SINCE)

