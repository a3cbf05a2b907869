"""A briefing's window: dates and spans counted back from today (or --until), bad input named."""

from __future__ import annotations

from datetime import date

import pytest

from rag.briefing import briefing_window, since_day
from rag.errors import BadInputError

TODAY = date(2022, 9, 11)  # a Sunday


@pytest.mark.parametrize(("since", "day"), [
    ("24h", "2022-09-10"), ("48 hours", "2022-09-09"), ("1h", "2022-09-10"),
    ("7d", "2022-09-04"), ("the past 3 days", "2022-09-08"), ("2w", "2022-08-28"),
    ("today", "2022-09-11"), ("yesterday", "2022-09-10"), ("This week", "2022-09-05"),
    ("this month", "2022-09-01"), ("last week", "2022-09-04"), ("2022-09-01", "2022-09-01"),
])
def test_spans_and_dates(since: str, day: str) -> None:
    assert since_day(since, TODAY).isoformat() == day


@pytest.mark.parametrize("since", ["a while", "", "7 fortnights", "2022-13-01", "-7d"])
def test_bad_since_is_named(since: str) -> None:
    with pytest.raises(BadInputError, match="since"):
        since_day(since, TODAY)


def test_the_window_defaults_to_the_last_day_and_counts_back_from_until() -> None:
    assert briefing_window(None, None, TODAY).to_iso() == ("2022-09-10", "2022-09-11")
    assert briefing_window("7d", "2022-09-08", TODAY).to_iso() == ("2022-09-01", "2022-09-08")


def test_until_before_since_is_refused() -> None:
    with pytest.raises(BadInputError, match="until 2022-09-01 is before since 2022-09-10"):
        briefing_window("2022-09-10", "2022-09-01", TODAY)
    with pytest.raises(BadInputError, match="until 'soon' is not a date"):
        briefing_window("7d", "soon", TODAY)
