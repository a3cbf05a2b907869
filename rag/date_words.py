"""Month and weekday names as regex alternations, shared by the date filter of retrieval
(rag/retrieval/dates.py) and the answer typing and rules reader of answering.

>>> import re
>>> bool(re.fullmatch(MONTHS, "sept")), bool(re.fullmatch(WEEKDAYS, "sunday"))
(True, True)
"""

from __future__ import annotations

MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
          "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
