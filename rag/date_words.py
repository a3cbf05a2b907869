"""Month and weekday names as regex alternations, shared by the date filter of retrieval
(rag/retrieval/dates.py) and the answer typing and rules reader of answering; and the day of an
ISO date, which retrieval and the check of ``Config.reference_date`` read alike.

>>> import re
>>> bool(re.fullmatch(MONTHS, "sept")), bool(re.fullmatch(WEEKDAYS, "sunday"))
(True, True)
"""

from __future__ import annotations

from datetime import date

MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
          "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"


def published_day(value: str | None) -> date | None:
    """The day of an ISO date or timestamp (``2022/06/17`` works too), or None.

    >>> published_day("2022/06/17T10:00"), published_day("June 17")
    (datetime.date(2022, 6, 17), None)
    """
    if not value:
        return None
    text = str(value).strip()[:10].replace("/", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
