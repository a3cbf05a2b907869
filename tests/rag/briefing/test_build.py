"""Briefings end to end over a made-up week of news (data/briefing/week.jsonl) with the fake
embedder: stories grouped and ranked, lines cited, the window, a topic, a feed's articles, the
JSON contract, how "What's new?" goes through ``RagSystem.ask``, and bad input."""

from __future__ import annotations

import pytest
from support import REPO

from rag import Config, RagSystem
from rag.briefing.build import ArticleSet
from rag.errors import BadInputError
from rag.feeds.state import FeedStore, Item, feed_articles
from rag.index.base import SearchFilters
from rag.types import Answer, StageDone

WEEK = REPO / "data" / "briefing"
AS_OF = "2022-09-11"
FERRY = {"ferry-1", "ferry-2", "ferry-2-copy", "ferry-3", "ferry-4"}
STORM = {"storm-1", "storm-2", "storm-3"}
BUDGET = {"budget-1", "budget-2"}


@pytest.fixture(scope="module")
def week(tmp_path_factory, fake_embedder) -> RagSystem:
    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("week"), reference_date=AS_OF),
                       embedder=fake_embedder)
    assert system.ingest_paths([WEEK]).added == 14
    return system


def test_the_weeks_stories_most_widely_reported_first(week: RagSystem) -> None:
    answer = week.brief("7d")
    briefing = answer.briefing
    assert briefing is not None and (briefing.since, briefing.until, briefing.topic) == (
        "2022-09-04", AS_OF, None)
    assert [set(s.source_ids) for s in briefing.stories] == [FERRY, STORM, BUDGET, {"cup"}]
    assert [s.sources for s in briefing.stories] == [5, 3, 2, 1]
    assert [s.day for s in briefing.stories] == ["2022-09-10", "2022-09-09", "2022-09-09",
                                                 "2022-09-11"]
    ferry = briefing.stories[0]
    assert ferry.source_ids[0] == ferry.citation.article_id
    assert ferry.events > 1  # the walk-out, the talks, the deal: days apart, one story
    assert not answer.abstained and answer.short_answer is None


def test_each_story_quotes_its_article_exactly(week: RagSystem) -> None:
    answer = week.brief("7d")
    assert [c.n for c in answer.citations] == [1, 2, 3, 4]
    for story, citation in zip(answer.briefing.stories, answer.citations, strict=True):
        assert story.citation == citation and citation.verified
        article = week.index.get_article(citation.article_id)
        assert article.text[citation.start:citation.end] == citation.quote == story.headline_text
    assert [p.article_id for p in answer.passages] == [c.article_id for c in answer.citations]
    # The wire copy of a cited article rides along as also_in when it is the one cited.
    assert all(r.article_id in FERRY for c in answer.citations for r in c.also_in
               if c.article_id in FERRY)


def test_the_text_lists_the_stories(week: RagSystem) -> None:
    lines = week.brief("7d").text.splitlines()
    assert len(lines) == 4 and lines[0].startswith("- ")
    assert lines[0].endswith("[1] (5 sources, 2022-09-10)")
    assert lines[3].endswith("[4] (1 source, 2022-09-11)")


def test_the_window_leaves_out_older_and_undated_articles(week: RagSystem) -> None:
    answer = week.brief("2022-08-01", "2022-09-11")
    ids = {i for s in answer.briefing.stories for i in s.source_ids}
    assert "old" in ids and "undated" not in ids
    last_day = week.brief("24h")
    assert [s.source_ids for s in last_day.briefing.stories] == [("cup",), ("ferry-4",)]
    # Ending on --until, counted back from it: 6 and 7 September.
    two_days = week.brief("1d", "2022-09-07").briefing
    assert (two_days.since, two_days.until) == ("2022-09-06", "2022-09-07")
    assert [set(s.source_ids) for s in two_days.stories] == [
        {"storm-1", "storm-2"}, {"ferry-2", "ferry-2-copy"}, {"budget-1"}]


def test_at_most_briefing_stories(week: RagSystem) -> None:
    week.config = week.retriever.config = Config(index_dir=week.config.index_dir,
                                                 reference_date=AS_OF, briefing_stories=2)
    try:
        assert len(week.brief("7d").briefing.stories) == 2
    finally:
        week.config = week.retriever.config = Config(index_dir=week.config.index_dir,
                                                     reference_date=AS_OF)


def test_a_topic_keeps_its_stories_only(week: RagSystem) -> None:
    answer = week.brief("7d", topic="valley flood storm")
    assert answer.briefing.topic == "valley flood storm"
    assert [set(s.source_ids) for s in answer.briefing.stories] == [STORM]


def test_a_feeds_articles_only(week: RagSystem, tmp_path) -> None:
    store = FeedStore(tmp_path / "feeds.sqlite")
    feed = store.add("https://coast-news.example/rss", every_s=1800)
    store.save_items([Item(feed.id, f"e{i}", "f", None, article_id, None, 0.0)
                      for i, article_id in enumerate(("storm-1", "storm-3", "ferry-2"))]
                     + [Item(feed.id, "gone", "f", None, "storm-2", None, 0.0, removed=True)])
    articles = feed_articles(store, feed.url)
    assert articles == ArticleSet(str(feed.id), ("ferry-2", "storm-1", "storm-3"))
    answer = week.brief("7d", articles=articles)
    assert answer.briefing.feed == str(feed.id)
    assert {i for s in answer.briefing.stories for i in s.source_ids} <= {
        "ferry-2", "ferry-2-copy", "storm-1", "storm-3"}
    assert answer.question.startswith(f"What's new from feed {feed.id}")
    with pytest.raises(BadInputError, match="no followed feed 'nope'"):
        feed_articles(store, "nope")
    nothing = week.brief("7d", articles=ArticleSet("9"))
    assert nothing.briefing.stories == () and nothing.abstained
    assert nothing.text == "No articles were published from 2022-09-04 to 2022-09-11 from feed 9."


def test_the_json_contract(week: RagSystem) -> None:
    data = week.brief("7d").to_json()
    assert data["timeline"] is None
    briefing = data["briefing"]
    assert set(briefing) == {"since", "until", "topic", "feed", "built_at", "cached",
                             "stories"}
    # Built for this request, not stored (a followed feed's stored one says when it was built).
    assert (briefing["built_at"], briefing["cached"]) == (None, False)
    story = briefing["stories"][0]
    assert set(story) == {"headline_text", "day", "sources", "source_ids", "events", "citation"}
    assert [s["citation"] for s in briefing["stories"]] == data["citations"]
    assert week.ask("Where is the ferry?").to_json()["briefing"] is None


def test_whats_new_is_answered_with_a_briefing(week: RagSystem) -> None:
    answer = week.ask("What's new this week?")
    assert answer.briefing is not None and answer.timeline is None
    assert answer.question == "What's new this week?"
    assert set(answer.briefing.stories[0].source_ids) == FERRY
    # A topic is a timeline's, a factoid an answer's, as before.
    assert week.ask("What happened with the Lakeside ferry strike?").briefing is None
    assert week.ask("What's new this week?", timeline=False).briefing is None
    stages = [e for e in week.ask_stream("Brief me") if not isinstance(e, str)]
    assert [s.name for s in stages[:-1] if isinstance(s, StageDone)] == ["retrieve", "answer"]
    assert isinstance(stages[-1], Answer) and stages[-1].briefing is not None
    assert set(stages[-1].timings_ms) == {"retrieve", "answer", "total"}


def test_an_empty_window_says_so(week: RagSystem) -> None:
    answer = week.brief("24h", as_of="2022-10-11")
    assert answer.abstained and answer.briefing.stories == () and answer.citations == []
    assert answer.text == "No articles were published from 2022-10-10 to 2022-10-11."


def test_lead_chunks_newest_first(week: RagSystem) -> None:
    ids = week.index.lead_chunk_ids(SearchFilters(date_from="2022-09-09", date_to="2022-09-11"))
    hits = week.index.hits([(int(i), 0.0) for i in ids])
    assert [h.article.published_at for h in hits] == sorted(
        (h.article.published_at for h in hits), reverse=True)
    assert {h.article.id for h in hits} == {"cup", "ferry-4", "storm-3", "budget-2"}
    assert all(h.chunk.ordinal == 0 for h in hits)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"since": "soon"}, "since 'soon' is neither a date"),
    ({"since": "7d", "until": "2022-13-01"}, "until '2022-13-01' is not a date"),
    ({"since": "2022-09-10", "until": "2022-09-01"}, "until 2022-09-01 is before since"),
    ({"as_of": "someday"}, "reference date 'someday' is not a date"),
])
def test_bad_input_is_named(week: RagSystem, kwargs: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        week.brief(**kwargs)


def test_an_empty_index_is_refused(tmp_path, fake_embedder) -> None:
    system = RagSystem(Config(index_dir=tmp_path / "empty"), embedder=fake_embedder)
    with pytest.raises(BadInputError, match="the index holds no articles to brief on"):
        system.brief("7d", as_of=AS_OF)


def test_the_real_model_finds_the_same_stories(tmp_path, embedder) -> None:
    system = RagSystem(Config(index_dir=tmp_path / "real", reference_date=AS_OF),
                       embedder=embedder)
    system.ingest_paths([WEEK])
    stories = system.brief("7d").briefing.stories
    assert [set(s.source_ids) for s in stories[:3]] == [FERRY, STORM, BUDGET]
    assert "ferry" in stories[0].headline_text.lower()
