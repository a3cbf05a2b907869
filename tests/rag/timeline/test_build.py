"""Timelines end to end over a small made-up story (tests/synthetic.py's TUNNEL_STORY), with the
fake embedder: grouping, dating, ranking, citing, the window, the JSON contract, and how a
timeline question goes through ``RagSystem.ask``."""

from __future__ import annotations

import pytest
from synthetic import TUNNEL_AS_OF, TUNNEL_DAYS, TUNNEL_STORY

from rag import Config, RagSystem
from rag.articles import Article
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


WATER_POLO = "What happened with Iran's water polo team?"


def line_of(events, words: str) -> int:
    """The index of the one event whose sentence has ``words``."""
    found = [i for i, e in enumerate(events) if words in e.text]
    assert len(found) == 1, (words, [e.text for e in events])
    return found[0]


def test_undated_articles_give_a_timeline_in_the_order_they_tell_it(
        fake_sample_system: RagSystem) -> None:
    """The sample corpus has no publication dates and its water polo article states no day
    with its year: the question still gets a timeline, of undated events, in the order the
    article reports them (the group stage it had won before the loss, then what goes on)."""
    answer = fake_sample_system.ask(WATER_POLO)
    timeline = answer.timeline
    assert timeline is not None and timeline.undated and not answer.abstained
    events = timeline.events
    assert {(e.day, e.date_source) for e in events} == {(None, "undated")}
    assert {e.citation.article_id for e in events} == {events[0].citation.article_id}
    wins, loss = line_of(events, "impressive victories"), line_of(events, "lost to Japan 16-13")
    runs = line_of(events, "runs until March 2")
    assert wins < loss < runs
    # The date the sentence states is shown as stated, never given a year.
    assert events[runs].stated == "until March 2"
    assert [e.stated for i, e in enumerate(events) if i != runs] == [None] * (len(events) - 1)
    assert timeline.note == ("Undated: the article carries no date, so its events are in the "
                             "order it reports them.")
    lines = answer.text.splitlines()
    assert lines[runs].startswith('- undated (states "until March 2"): The tournament')
    assert lines[wins].startswith("- undated: Iran had impressive victories")
    # Cited and verified like any line: the exact sentence at its offsets.
    assert [c.n for c in answer.citations] == list(range(1, len(events) + 1))
    for event, citation in zip(events, answer.citations, strict=True):
        article = fake_sample_system.index.get_article(citation.article_id)
        assert event.citation == citation and citation.verified
        assert article.text[citation.start:citation.end] == citation.quote == event.text
    stages = [i for i in fake_sample_system.ask_stream(WATER_POLO) if isinstance(i, StageDone)]
    assert [s.name for s in stages] == ["retrieve", "answer"]


def test_an_undated_timeline_s_json(fake_sample_system: RagSystem) -> None:
    data = fake_sample_system.timeline("Iran's water polo team").to_json()
    timeline = data["timeline"]
    assert set(timeline) == {"topic", "since", "until", "events", "note"}
    assert timeline["note"].startswith("Undated: the article carries no date")
    runs = next(e for e in timeline["events"] if "March 2" in e["text"])
    assert (runs["day"], runs["date_source"], runs["stated"]) == (None, "undated",
                                                                 "until March 2")
    others = [e for e in timeline["events"] if e is not runs]
    assert all(set(e) == {"day", "date_source", "text", "sources", "source_ids", "citation"}
               for e in others)
    assert [e["citation"] for e in timeline["events"]] == data["citations"]


def test_a_window_cannot_place_undated_articles(fake_sample_system: RagSystem) -> None:
    """Asked for a period, undated articles cannot be in it: the question is answered as a
    question, saying why; asked for a timeline outright, it has no event, and says why."""
    question = "What happened with Iran's water polo team since June?"
    answer = fake_sample_system.ask(question, reference_date="2025-09-01")
    assert answer.timeline is None and answer.citations
    assert answer.notes[-2] == (
        "1 article about Iran's water polo team has no date, so it cannot be placed from "
        "2025-06-01 to 2025-09-01; asked without a period, the timeline shows its events in "
        "the order the article reports them")
    assert answer.notes[-1].startswith("asked as a timeline, but the articles report no dated")
    plain = fake_sample_system.ask(question, reference_date="2025-09-01", timeline=False)
    assert (answer.text, answer.citations) == (plain.text, plain.citations)
    forced = fake_sample_system.timeline("Iran's water polo team", since="2025-01-01")
    assert forced.abstained and forced.timeline is not None and forced.timeline.events == ()
    assert forced.text == ("The articles report no dated event of Iran's water polo team since "
                           "2025-01-01.")
    assert forced.notes == ["1 article about Iran's water polo team has no date, so it cannot "
                            "be placed since 2025-01-01; asked without a period, the timeline "
                            "shows its events in the order the article reports them"]
    assert forced.to_json()["timeline"]["events"] == []


FERRY_STORY = [
    Article(id="walkout", title="Lakeside ferry crews strike", text=(
        "Lakeside ferry crews strike\n\n"
        "Ferry crews on the Lakeside line walked out on strike over pay. "
        "The union had rejected the operator's offer of a three percent raise. "
        "Union leader Maria Holm said the crews would stay out until the offer improved. "
        "The Lakeside ferry strike continues with no talks planned before Friday.")),
    Article(id="talks", title="Talks on the Lakeside ferry strike", text=(
        "Talks on the Lakeside ferry strike\n\n"
        "Talks to end the Lakeside ferry strike began at the labour court. "
        "Ferry crews on the Lakeside line walked out on strike over pay. "
        "The operator had cancelled all Lakeside ferry crossings before the talks. "
        "Commuters face long detours while the Lakeside ferry strike lasts.")),
    Article(id="rates", title="Bank raises rates", text=(
        "Bank raises rates\n\nThe central bank raised its main rate by half a point. "
        "Economists had expected a smaller rise.")),
]


@pytest.fixture(scope="module")
def ferry(tmp_path_factory, fake_embedder) -> RagSystem:
    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("ferry")),
                       embedder=fake_embedder)
    assert system.ingest(FERRY_STORY).added == 3
    return system


def test_each_undated_article_s_events_stay_together(ferry: RagSystem) -> None:
    """Two undated articles of one story: each article's events together, each in the order
    it tells them; the sentence both report is one event with both as sources."""
    timeline = ferry.timeline("the Lakeside ferry strike").timeline
    articles = [e.citation.article_id for e in timeline.events]
    assert "rates" not in articles and set(articles) == {"walkout", "talks"}
    first = articles[0]
    cut = articles.index(next(a for a in articles if a != first))
    assert set(articles[:cut]) == {first} and first not in articles[cut:]  # two blocks
    walked = timeline.events[line_of(timeline.events, "walked out on strike")]
    assert walked.sources == 2 and set(walked.source_ids) == {"walkout", "talks"}
    for article in ("walkout", "talks"):
        told = [e.text for e in timeline.events if e.citation.article_id == article]
        had = next(i for i, t in enumerate(told) if " had " in t)
        assert had == 0, told  # what had happened comes first
        assert "face" in told[-1] or "continues" in told[-1], told  # what goes on, last
    assert "cannot be ordered among themselves" in timeline.note
    assert next(e for e in timeline.events if "before Friday" in e.text).stated == \
        "before Friday"


def test_an_undated_timeline_shows_at_most_timeline_events(ferry: RagSystem) -> None:
    ferry.config = ferry.retriever.config = ferry.config.replace(timeline_events=3)
    try:
        events = ferry.timeline("the Lakeside ferry strike").timeline.events
    finally:
        ferry.config = ferry.retriever.config = ferry.config.replace(timeline_events=8)
    assert len(events) == 3
    # Each article's best line is kept before the lead article's others.
    assert {e.citation.article_id for e in events} == {"walkout", "talks"}


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


def test_the_real_sample_corpus_tells_the_water_polo_story(sample_system: RagSystem) -> None:
    """The sample articles carry no publication date and state no day of the water polo
    matches with its year: the timeline is the water polo article's events, undated, in the
    order it tells them: the group-stage wins, then the 16-13 loss to Japan, then what goes
    on (the tournament runs until March 2)."""
    answer = sample_system.ask(WATER_POLO)
    timeline = answer.timeline
    assert timeline is not None and timeline.undated
    events = timeline.events
    titles = {e.citation.title for e in events}
    assert titles == {"Iran Falls to Japan in Thrilling Match at 2025 Asian Water Polo "
                      "Championship"}
    wins = line_of(events, "South Korea (19-6), Chinese Taipei (37-5), and Uzbekistan (33-9)")
    assert "second in Group B" in events[wins].text
    loss, runs = line_of(events, "lost to Japan 16-13"), line_of(events, "until March 2")
    assert wins == 0 and wins < loss < runs
    assert events[runs].stated == "until March 2" and events[runs].day is None
    assert answer.text.splitlines()[runs].startswith('- undated (states "until March 2"): ')
    for event in events:
        article = sample_system.index.get_article(event.citation.article_id)
        assert event.citation.verified and event.date_source == "undated"
        assert article.text[event.citation.start:event.citation.end] == event.text
    assert "carries no date" in timeline.note


def test_the_real_sample_corpus_tells_the_u20_story(sample_system: RagSystem) -> None:
    """The U-20 story: the 3-0 opening win over Indonesia and its scorers, then the coach's
    remarks, then what the team aims for; no other article's events."""
    answer = sample_system.ask("Give me a timeline of Iran's U-20 team at the Asian Cup")
    timeline = answer.timeline
    assert timeline is not None and timeline.topic == "Iran's U-20 team at the Asian Cup"
    texts = [e.text for e in timeline.events]
    assert {e.citation.title for e in timeline.events} == {
        "Abdi Calls for Greater Performance from Iran’s U-20 Team in Asian Cup Showdown"}
    assert "Iran defeated Indonesia 3-0" in texts[0]
    assert texts[1].startswith("Goals from Hesam Nafari, Esmaeil Gholizadeh, and Mobin Dehghan")
    remarks = [line_of(timeline.events, w) for w in ("Abdi noted", "Abdi emphasized",
                                                     "He praised")]
    assert remarks == [2, 3, 4]
    assert "aim to enhance their scoring" in texts[-1]
    assert all(e.citation.verified and e.day is None for e in timeline.events)
