"""Timelines end to end over a small made-up story (tests/synthetic.py's TUNNEL_STORY), with the
fake embedder: grouping, dating, ranking, citing, the window, the JSON contract, and how a
timeline question goes through ``RagSystem.ask``."""

from __future__ import annotations

import pytest
from synthetic import TUNNEL_AS_OF, TUNNEL_DAYS, TUNNEL_STORY

from rag import Config, RagSystem
from rag.errors import BadInputError
from rag.types import Answer, StageDone

TOPIC = "Norrvik harbour tunnel"


@pytest.fixture(scope="module")
def story(tmp_path_factory, fake_embedder) -> RagSystem:
    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("tunnel"),
                              reference_date=TUNNEL_AS_OF), embedder=fake_embedder)
    assert system.ingest(TUNNEL_STORY).added == len(TUNNEL_STORY)
    return system


def test_the_story_in_order_each_event_dated_cited_and_counted(story: RagSystem) -> None:
    answer = story.timeline(TOPIC)
    timeline = answer.timeline
    assert timeline is not None and (timeline.topic, timeline.since, timeline.until) == (
        TOPIC, None, None)
    assert [e.day for e in timeline.events] == TUNNEL_DAYS
    assert {e.date_source for e in timeline.events} == {"stated"}
    closed = timeline.events[0]
    # Two outlets and a wire copy reported the closure: one event, three sources.
    assert closed.sources == 3 and set(closed.source_ids) == {"closed", "closed-copy", "leak"}
    assert closed.source_ids[0] == closed.citation.article_id
    assert [e.sources for e in timeline.events[1:]] == [1, 1, 1]
    # The bank story of the same weeks is no event of the tunnel's.
    assert all("rates" not in e.source_ids for e in timeline.events)
    assert answer.notes == ["left out: 1 event with no date (their articles have no "
                            "publication date)"]


def test_each_event_quotes_its_article_exactly(story: RagSystem) -> None:
    answer = story.timeline(TOPIC)
    assert [c.n for c in answer.citations] == [1, 2, 3, 4]
    for event, citation in zip(answer.timeline.events, answer.citations, strict=True):
        assert event.citation == citation and citation.verified
        article = story.index.get_article(citation.article_id)
        assert article.text[citation.start:citation.end] == citation.quote == event.text
        assert citation.published_at == article.published_at
    # The passages shown are the cited ones, in the citations' order.
    assert [p.article_id for p in answer.passages] == [c.article_id for c in answer.citations]


def test_the_text_is_the_dated_list(story: RagSystem) -> None:
    answer = story.timeline(TOPIC)
    lines = answer.text.splitlines()
    assert len(lines) == 4 and answer.short_answer is None and not answer.abstained
    assert lines[0].startswith("- 2022-08-29 (stated): ") and lines[0].endswith(
        "[1] (3 sources)")
    assert lines[1].endswith("[2] (1 source)")


def test_the_json_contract(story: RagSystem) -> None:
    data = story.timeline(TOPIC).to_json()
    assert set(data["timeline"]) == {"topic", "since", "until", "events"}
    event = data["timeline"]["events"][0]
    assert set(event) == {"day", "date_source", "text", "sources", "source_ids", "citation"}
    assert event["day"] == "2022-08-29" and event["date_source"] == "stated"
    assert event["sources"] == 3 and isinstance(event["source_ids"], list)
    assert event["citation"] == data["citations"][0]
    assert story.ask("Where does the tunnel run?", timeline=False).to_json()["timeline"] is None


def test_the_window_keeps_the_events_dated_in_it(story: RagSystem) -> None:
    answer = story.timeline(TOPIC, since="2022-09-01", until="2022-09-15")
    assert (answer.timeline.since, answer.timeline.until) == ("2022-09-01", "2022-09-15")
    # The closure was reported on Sept. 1 but happened on Aug. 29: outside.
    assert [e.day for e in answer.timeline.events] == ["2022-09-08", "2022-09-13"]
    assert answer.notes == ["left out: 1 dated outside the window"]


def test_at_most_timeline_events_are_shown_the_widest_reported_kept(story: RagSystem) -> None:
    story.config = story.retriever.config = story.config.replace(timeline_events=2)
    try:
        days = [e.day for e in story.timeline(TOPIC).timeline.events]
    finally:
        story.config = story.retriever.config = story.config.replace(timeline_events=8)
    assert len(days) == 2 and days == sorted(days) and days[0] == "2022-08-29"


def test_a_timeline_question_is_told_and_its_window_read(story: RagSystem) -> None:
    answer = story.ask("What happened with the harbour tunnel since September?")
    assert answer.timeline is not None
    assert (answer.timeline.topic, answer.timeline.since, answer.timeline.until) == (
        "the harbour tunnel", "2022-09-01", TUNNEL_AS_OF)
    assert [e.day for e in answer.timeline.events] == TUNNEL_DAYS[1:]
    assert answer.question == "What happened with the harbour tunnel since September?"


def test_the_flag_forces_or_refuses_a_timeline(story: RagSystem) -> None:
    question = "Why was the harbour tunnel closed?"
    plain = story.ask(question)
    assert plain.timeline is None
    assert story.ask(question, timeline=False).to_json() | {"timings_ms": None} == \
        plain.to_json() | {"timings_ms": None}
    assert story.ask(question, timeline=True).timeline is not None
    assert story.ask("What happened with the harbour tunnel?", timeline=False).timeline is None


def test_a_timeline_streams_its_stages(story: RagSystem) -> None:
    items = list(story.ask_stream("Timeline of the harbour tunnel"))
    assert [type(i).__name__ for i in items] == ["StageDone", "StageDone", "Answer"]
    retrieve, answered, answer = items
    assert isinstance(retrieve, StageDone) and isinstance(answered, StageDone)
    assert (retrieve.name, retrieve.query, answered.name) == ("retrieve", "the harbour tunnel",
                                                              "answer")
    assert retrieve.passages >= 6
    assert isinstance(answer, Answer) and len(answer.timeline.events) == 4
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}


def test_no_dated_event_answers_the_question_instead(fake_sample_system: RagSystem) -> None:
    """The sample corpus has no publication dates: a question that asks what happened is
    answered as a question, saying so; asked for a timeline outright, it says there is none."""
    question = "What happened with Iran's water polo team?"
    answer = fake_sample_system.ask(question)
    assert answer.timeline is None and answer.citations
    assert answer.notes[-1].startswith("asked as a timeline, but the articles report no dated")
    plain = fake_sample_system.ask(question, timeline=False)
    assert (answer.text, answer.citations) == (plain.text, plain.citations)
    stages = [i for i in fake_sample_system.ask_stream(question) if isinstance(i, StageDone)]
    assert [s.name for s in stages] == ["retrieve", "answer"]  # one retrieval reported, not two
    forced = fake_sample_system.timeline("Iran's water polo team")
    assert forced.abstained and forced.timeline is not None and forced.timeline.events == ()
    assert forced.text == "The articles report no dated event of Iran's water polo team."
    assert forced.to_json()["timeline"]["events"] == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"since": "2022-13-01"}, "since '2022-13-01' is not a date: write it as YYYY-MM-DD"),
    ({"until": "June"}, "until 'June' is not a date"),
    ({"since": "2022-09-10", "until": "2022-09-01"},
     "the date range is empty: since 2022-09-10 is after until 2022-09-01"),
    ({"as_of": "tomorrow"}, "reference date 'tomorrow' is not a date"),
])
def test_bad_dates_are_named(story: RagSystem, kwargs: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        story.timeline(TOPIC, **kwargs)


def test_a_bad_topic_or_flag_is_named(story: RagSystem) -> None:
    with pytest.raises(BadInputError, match="the question is empty"):
        story.timeline("  ")
    with pytest.raises(BadInputError, match="timeline must be true, false or null"):
        story.ask("What happened?", timeline="yes")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="window is empty: since 2022-09-01 is after until "
                                            "2022-06-30"):
        story.timeline("What happened with the tunnel in June 2022?", since="2022-09-01")


@pytest.fixture(scope="module")
def real_story(tmp_path_factory, embedder) -> RagSystem:
    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("tunnel-real"),
                              reference_date=TUNNEL_AS_OF), embedder=embedder)
    system.ingest(TUNNEL_STORY)
    return system


def test_the_real_model_tells_the_story(real_story: RagSystem) -> None:
    """With the real model, as a user asks: the four events, the closure's three reports one
    event, every line a verified quote of its article."""
    answer = real_story.ask("What happened with the Norrvik harbour tunnel this month?")
    assert answer.timeline is not None and answer.timeline.since == "2022-09-01"
    answer = real_story.ask("What happened with the Norrvik harbour tunnel?")
    events = answer.timeline.events
    assert [e.day for e in events] == TUNNEL_DAYS
    assert events[0].sources == 3 and "rates" not in {a for e in events for a in e.source_ids}
    for event in events:
        article = real_story.index.get_article(event.citation.article_id)
        assert event.citation.verified
        assert article.text[event.citation.start:event.citation.end] == event.text


def test_the_real_sample_corpus_answers_the_water_polo_question(sample_system: RagSystem
                                                                ) -> None:
    """The sample articles carry no publication date and state no day of the water polo
    matches: no timeline can be dated, so the question is answered (cited) as a question."""
    answer = sample_system.ask("What happened with Iran's water polo team?")
    assert answer.timeline is None and not answer.abstained
    assert any("16-13" in c.quote for c in answer.citations)
    assert "asked as a timeline" in answer.notes[-1]
