"""The period a timeline covers (rag/timeline/window.py): from the question's time phrase, as
a stretch up to the reference day for "since ..." and "the past ...", narrowed to the dates
asked for."""

from __future__ import annotations

from datetime import date

import pytest

from rag.errors import BadInputError
from rag.timeline.window import Window, question_window

MONDAY = date(2022, 9, 12)


@pytest.mark.parametrize(("question", "since", "until"), [
    ("What happened with the strike since June?", "2022-06-01", "2022-09-12"),
    ("What happened since mid-June?", "2022-06-15", "2022-09-12"),
    ("News on the strike since Sept. 1", "2022-09-01", "2022-09-12"),
    ("What happened since 2022-08-01?", "2022-08-01", "2022-09-12"),
    ("What happened since August 3, 2022?", "2022-08-03", "2022-09-12"),
    ("What happened since 2020?", "2020-01-01", "2022-09-12"),
    ("What happened since the start of the month?", "2022-09-01", "2022-09-12"),
    ("What happened since yesterday?", "2022-09-11", "2022-09-12"),
    ("What happened since Friday?", "2022-09-09", "2022-09-12"),
    ("Developments over the past month", "2022-08-13", "2022-09-12"),
    ("What happened in the last 3 days?", "2022-09-09", "2022-09-12"),
    ("Timeline of the strike over the past few weeks", "2022-08-22", "2022-09-12"),
    ("What happened this week?", "2022-09-05", "2022-09-12"),
    # Other phrases are read as retrieval reads them (rag/retrieval/dates.py).
    ("What happened last week?", "2022-08-29", "2022-09-05"),
    ("Timeline of the strike in June 2022", "2022-06-01", "2022-06-30"),
    ("Timeline of the strike", None, None),
])
def test_question_window(question: str, since: str | None, until: str | None) -> None:
    assert question_window(question, MONDAY).to_iso() == (since, until)


def test_the_window_narrows_to_the_dates_asked() -> None:
    window = question_window("What happened since June?", MONDAY)
    assert window.within("2022-07-01", None).to_iso() == ("2022-07-01", "2022-09-12")
    assert window.within(None, "2022-08-01").to_iso() == ("2022-06-01", "2022-08-01")
    assert Window().within("2022-07-01", None).to_iso() == ("2022-07-01", None)
    with pytest.raises(BadInputError, match="window is empty: since 2022-06-01 is after until "
                                            "2022-05-01"):
        window.within(None, "2022-05-01")
    with pytest.raises(BadInputError, match="until date 'May' is not a date"):
        window.within(None, "May")


def test_contains_is_inclusive_and_open_ended() -> None:
    window = Window(date(2022, 9, 1), None)
    assert window.contains(date(2022, 9, 1)) and window.contains(date(2030, 1, 1))
    assert not window.contains(date(2022, 8, 31))
