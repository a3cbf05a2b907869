"""News priors relative to the reference day: no articles from after it, a boost for a time
phrase's period, and a recency decay."""

from __future__ import annotations

from datetime import date

import pytest
from synthetic import ingest_budget_stories

from rag.articles import Article
from rag.chunking import Chunk
from rag.index.base import Hit
from rag.retrieval import boost_range, boost_recent, drop_future
from rag.retrieval.dates import time_range
from rag.retrieval.recency import recency_factor

REF = date(2022, 6, 17)


def hit(title: str, day: str | None, score: float) -> Hit:
    a = Article(title=title, text="Words of the story.", published_at=day)
    return Hit(Chunk(a.id, 0, 0, 19, a.text, a.title), a, score)


def titles(hits: list[Hit]) -> list[str]:
    return [h.article.title for h in hits]


def test_drop_future_keeps_the_reference_day_the_grace_and_undated_articles():
    hits = [hit("today", "2022-06-17", 0.9), hit("tomorrow", "2022-06-18T09:00:00", 0.8),
            hit("later", "2022-06-20", 0.7), hit("undated", None, 0.6)]
    assert titles(drop_future(hits, REF, 0)) == ["today", "undated"]
    assert titles(drop_future(hits, REF, 1)) == ["today", "tomorrow", "undated"]


def test_recency_factor_halves_the_bonus_every_half_life():
    assert recency_factor("2022-06-17", REF, 7, 1.0) == pytest.approx(2.0)
    assert recency_factor("2022-06-10", REF, 7, 1.0) == pytest.approx(1.5)
    assert recency_factor("2022-06-03", REF, 7, 0.5) == pytest.approx(1.125)
    assert recency_factor("2022-06-20", REF, 7, 1.0) == pytest.approx(2.0)  # future: age 0
    assert recency_factor(None, REF, 7, 1.0) == 1.0
    assert recency_factor("2022-06-10", REF, 0, 1.0) == 1.0  # off


def test_boost_recent_reorders_close_scores_but_not_far_ones():
    hits = [hit("old", "2021-06-17", 0.50), hit("new", "2022-06-16", 0.45),
            hit("weak new", "2022-06-17", 0.20)]
    boosted = boost_recent(hits, REF, 7, 0.5)
    assert titles(boosted) == ["new", "old", "weak new"]
    assert boosted[1].score == pytest.approx(0.50)  # a year old: no bonus left
    assert boost_recent(hits, REF, 0, 0.5) == hits


def test_boost_range_lifts_articles_from_the_phrase_period():
    hits = [hit("old", "2022-01-05", 0.50), hit("recent", "2022-06-15", 0.48)]
    boosted = boost_range(hits, time_range("this week", REF), 0.1)
    assert titles(boosted) == ["recent", "old"]
    assert boosted[0].score == pytest.approx(0.528)


@pytest.mark.slow
def test_retrieval_sees_the_corpus_as_of_the_reference_day(writable_sample_system):
    system = writable_sample_system
    ingest_budget_stories(system, ("Budget of June", "2022-06-15"),
                          ("Budget of March", "2022-03-02"))
    question = "What did the city council approve?"
    april = system.ask(question, reference_date="2022-04-01")
    assert april.citations
    assert {c.title for c in april.citations} == {"Budget of March"}
    system.retriever.config = system.config.replace(as_of_reference=False)
    found = {h.article.title for h in system.retriever.retrieve(question, 6,
                                                                 reference="2022-04-01")}
    assert {"Budget of June", "Budget of March"} <= found


@pytest.mark.slow
def test_recency_prefers_the_newer_of_two_look_alike_stories(writable_sample_system):
    system = writable_sample_system
    # The older story matches the question better (it has more of its words) ...
    ingest_budget_stories(system, ("Budget", "2022-06-15"), ("Budget and protest", "2020-06-15"))
    question = "Did protesters gather when the city council approved the budget?"
    off = system.config.replace(recency_weight=0.0)
    on = system.config.replace(recency_half_life_days=14, recency_weight=1.0)
    system.retriever.config = off
    assert system.retriever.retrieve(question, 1, reference=REF)[0].article.title == (
        "Budget and protest")
    # ... but with no time phrase in the question, news two days old beats news two years old.
    system.retriever.config = on
    assert system.retriever.retrieve(question, 1, reference=REF)[0].article.title == "Budget"
