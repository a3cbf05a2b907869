"""Time phrases -> date ranges relative to a reference date; date filters and boosts."""

from __future__ import annotations

from datetime import date

import pytest
from synthetic import ingest_budget_stories

from rag.errors import BadInputError
from rag.retrieval import make_filters
from rag.retrieval.dates import DateRange, parse_day, reference_day, time_range

REF = date(2022, 6, 17)  # a Friday


@pytest.mark.parametrize(("question", "start", "end"), [
    ("What happened yesterday in Kyiv?", date(2022, 6, 15), date(2022, 6, 17)),
    ("Who resigned this week?", date(2022, 6, 10), REF),
    ("What did the Fed do last week?", date(2022, 6, 3), date(2022, 6, 10)),
    ("Who won the vote in June 2022?", date(2022, 6, 1), date(2022, 6, 30)),
    ("What happened in early March 2021?", date(2021, 3, 1), date(2021, 3, 31)),
    ("Which team won in 2021?", date(2021, 1, 1), date(2021, 12, 31)),
    ("What did the court rule on Tuesday?", date(2022, 6, 10), REF),
    ("What was announced 3 days ago?", date(2022, 6, 13), date(2022, 6, 15)),
    ("How did markets do this month?", date(2022, 6, 1), date(2022, 6, 30)),
])
def test_time_phrases_become_ranges(question, start, end):
    found = time_range(question, REF)
    assert found is not None
    assert (found.start, found.end) == (start, end)
    assert found.phrase.lower() in question.lower()


@pytest.mark.parametrize("question", [
    "The Fed raised rates. This was the highest hike since 1994?",
    "Warner Bros. axed the $90 million movie. Why?",
    "After more than 60 years, which beverage got a new bottle?",
    "A 2013 poll found what?",
    "Who may run for the Senate?",
])
def test_numbers_that_are_not_time_phrases_are_ignored(question):
    assert time_range(question, REF) is None


def test_reference_day_and_parse_day():
    assert reference_day("2022-06-17") == REF
    assert reference_day("") == date.today()
    assert parse_day("2022/06/17T08:00") == REF
    with pytest.raises(BadInputError, match="'next tuesday'"):
        parse_day("next tuesday", "--since date")


def test_date_range_contains_published_dates():
    r = DateRange(date(2022, 6, 1), date(2022, 6, 30), "in June")
    assert r.contains("2022-06-30T23:00:00") and r.contains("2022-06-01")
    assert not r.contains("2022-07-01") and not r.contains(None)


def test_make_filters_checks_its_input():
    f = make_filters(["cnn.com", " "], since="2022-06-01", until="2022/06/30")
    assert (f.sources, f.date_from, f.date_to) == (("cnn.com",), "2022-06-01", "2022-06-30")
    assert make_filters(None, None, None) is None
    with pytest.raises(BadInputError, match="empty"):
        make_filters(since="2022-07-01", until="2022-06-01")
    with pytest.raises(BadInputError, match="--until"):
        make_filters(until="soon")


def test_time_phrase_filters_or_boosts_retrieval(writable_fake_sample_system):
    system = writable_fake_sample_system
    ingest_budget_stories(system, ("Council budget", "2022-06-15"),
                           ("Council budget vote", "2021-03-02"))
    question = "What did the city council approve this week?"
    cfg = system.config.replace(reference_date="2022-06-17")
    system.retriever.config = cfg.replace(date_mode="filter")
    filtered = system.retriever.retrieve(question, 5)
    assert {h.article.title for h in filtered} == {"Council budget"}
    # A phrase that matches nothing falls back to the unfiltered search.
    assert system.retriever.retrieve("What did the city council approve in May 2019?", 5)
    system.retriever.config = cfg.replace(date_mode="boost", date_boost=5.0)
    assert system.retriever.retrieve(question, 1)[0].article.title == "Council budget"


@pytest.mark.slow
def test_ask_takes_the_reference_date_per_question(writable_sample_system):
    """"this week" means the week of the question's own date, passed through ask()."""
    system = writable_sample_system
    ingest_budget_stories(system, ("Budget of June", "2022-06-15"),
                           ("Budget of March", "2022-03-02"))
    system.retriever.config = system.config.replace(date_mode="filter")
    question = "What did the city council approve this week?"
    june = system.ask(question, reference_date="2022-06-17")
    march = system.ask(question, reference_date="2022-03-04")
    assert june.citations and march.citations
    assert {c.title for c in june.citations} == {"Budget of June"}
    assert {c.title for c in march.citations} == {"Budget of March"}
