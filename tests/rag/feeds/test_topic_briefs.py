"""Each followed topic's stored briefing (rag/feeds/topic_briefs.py) with the fake embedder:
built once and then served from the store while fresh, rebuilt after a write to the index,
another day, another period or other settings; a damaged one ignored; asked for by topic
(``brief_topic``) over its period only; refreshed by the background sync of a real feed (a
local feed server, tests/feedsite.py) after the sync that brought articles in and whenever it
is stale; and, with several servers over one PostgreSQL, built by one of them."""

from __future__ import annotations

import json
import threading
import time

import pytest
from feedsite import FeedSite
from support import REPO

from rag import Config, RagSystem
from rag.articles import Article
from rag.errors import BadInputError
from rag.feeds import FeedService, FollowedTopics, brief_topic
from rag.feeds.topic_briefs import StoredTopicBriefing

AS_OF = "2022-09-11"
TOPIC = "ferry strike"


@pytest.fixture
def week(tmp_path, fake_embedder) -> FeedService:
    """The made-up week of news (data/briefing/week.jsonl) as of its last day, following the
    ferry strike over the last 7 days (nothing built yet)."""
    system = RagSystem(Config(index_dir=tmp_path / "index", reference_date=AS_OF),
                       embedder=fake_embedder)
    system.ingest_paths([REPO / "data" / "briefing"])
    service = FeedService(system)
    service.topics.follow(TOPIC, "7d")
    return service


def sources(answer) -> set[str]:
    return {i for s in answer.briefing.stories for i in s.source_ids}


def test_the_briefing_is_built_once_then_served_from_the_store(week):
    topics, system = week.topics, week.system
    topic, = topics.list()
    assert topic.built_at is None and topics.stored(topic) is None
    first = topics.briefing(topic.id)
    briefing = first.briefing
    assert (briefing.topic, briefing.since, briefing.until) == (TOPIC, "2022-09-04", AS_OF)
    assert briefing.feed is None and briefing.cached is False and briefing.built_at
    assert {"ferry-1", "ferry-4"} <= sources(first) and "storm-1" not in sources(first)
    assert first.text == system.brief("7d", topic=TOPIC).text  # what a request would build
    assert topics.list()[0].built_at == briefing.built_at

    for asked in (topic.id, str(topic.id), "Ferry  STRIKE"):  # by id or by its text
        again = topics.briefing(asked)
        assert again.briefing.cached and again.briefing.built_at == briefing.built_at
        got, kept = again.to_json(), first.to_json()
        assert got.pop("timings_ms").keys() == {"total"}
        kept.pop("timings_ms")
        assert got["briefing"].pop("cached") and not kept["briefing"].pop("cached")
        assert got == kept
    with pytest.raises(BadInputError, match="no followed topic 'storm'"):
        topics.briefing("storm")


def test_a_write_another_day_period_or_settings_makes_it_stale(week, monkeypatch):
    topics, system = week.topics, week.system
    topic, = topics.list()
    stored = topics.build(topic)
    assert topics.is_fresh(stored, topic) and not topics.needs_refresh(topic)

    fares = Article(title="Ferry strike ballot called", published_at="2022-09-11",
                    text="The ferry union called a new strike ballot over pay on Sunday.")
    system.ingest([fares])  # the index changed: the stored briefing may miss this
    assert not topics.is_fresh(stored, topic) and topics.needs_refresh(topic)
    assert topics.refresh(topic) and not topics.refresh(topic)
    rebuilt = topics.briefing(topic.id)
    assert rebuilt.briefing.cached and fares.id in sources(rebuilt)

    stored = topics.stored(topic)
    monkeypatch.setattr(FollowedTopics, "window", lambda self, since: ("2022-09-05", "2022-09-12"))
    assert not topics.is_fresh(stored, topic)  # the day turned
    monkeypatch.undo()
    day = topics.follow("Ferry strike", "24h")  # the same topic over another period
    assert day.id == topic.id and not topics.is_fresh(stored, day)
    answer = topics.briefing(day.id)
    assert not answer.briefing.cached and answer.briefing.since == "2022-09-10"
    assert topics.briefing(day.id).briefing.cached
    other = FollowedTopics(system.over(system.collection), topics.store)
    other.system = RagSystem(system.config.replace(briefing_stories=2),
                             embedder=system.embedder)
    assert not other.is_fresh(other.stored(day), day)  # other settings


@pytest.mark.parametrize("damage", ["", "{not json", "[]", '{"version": 1}',
                                    '{"version": 99, "topic_id": 1}'])
def test_a_damaged_stored_briefing_is_ignored_and_rebuilt(week, damage, caplog):
    topics = week.topics
    topic, = topics.list()
    topics.store.write_topic_briefing(topic.id, damage, built_at="2022-09-11T08:00:00+00:00")
    answer = topics.briefing(topic.id)
    assert not answer.briefing.cached and answer.briefing.stories
    assert "ignoring the stored briefing of topic 1" in caplog.text
    assert StoredTopicBriefing.from_json(json.loads(
        topics.store.read_topic_briefing(topic.id))).topic_id == topic.id
    assert topics.briefing(topic.id).briefing.cached


def test_a_stored_answer_of_the_wrong_shape_or_topic_is_ignored(week):
    topics = week.topics
    topic, = topics.list()
    data = topics.build(topic).to_json()
    data["answer"]["briefing"]["stories"][0]["sources"] = "many"
    topics.store.write_topic_briefing(topic.id, json.dumps(data), built_at="x")
    assert topics.stored(topic) is None
    data = topics.build(topic).to_json()
    data["topic_id"] = topic.id + 1  # another topic's
    topics.store.write_topic_briefing(topic.id, json.dumps(data), built_at="x")
    assert topics.stored(topic) is None


def test_brief_topic_serves_the_stored_briefing_for_the_topics_period_only(week):
    topics, system = week.topics, week.system
    topic, = topics.list()
    built_at = topics.build(topic).answer.briefing.built_at
    for since in (None, "", "7d", "7 days", "2022-09-04"):  # the same window today
        answer = brief_topic(system, " FERRY strike", since=since)
        assert answer.briefing.cached and answer.briefing.built_at == built_at, since
    for options in ({"since": "24h"}, {"since": "this week"}, {"until": AS_OF},
                    {"as_of": AS_OF}, {"since": "7d", "as_of": "2022-09-10"}):
        answer = brief_topic(system, TOPIC, **options)
        assert (answer.briefing.cached, answer.briefing.built_at) == (False, None), options
    unfollowed = brief_topic(system, "valley floods")
    assert (unfollowed.briefing.built_at, unfollowed.briefing.since) == (None, "2022-09-10")
    system.create_collection("desk")
    both = system.over([system.collection, "desk"])  # no collection's topic: built
    assert brief_topic(both, TOPIC, since="7d").briefing.built_at is None
    with pytest.raises(BadInputError, match="since 'soon' is neither"):
        brief_topic(system, TOPIC, since="soon")


def test_a_read_only_index_reads_stored_briefings_and_writes_none(week, fake_embedder):
    topics = week.topics
    topic, = topics.list()
    reader = FollowedTopics(RagSystem(week.system.config, embedder=fake_embedder,
                                      read_only=True), topics.store)
    answer = reader.briefing(topic.id)
    assert answer.briefing.stories and not answer.briefing.cached
    assert topics.store.read_topic_briefing(topic.id) is None  # not stored
    assert not reader.refresh(topic) and reader.refresh_stale() == 0
    topics.build(topic)
    assert reader.briefing(topic.id).briefing.cached


def test_unfollowing_deletes_the_stored_briefing(week):
    topics = week.topics
    topic, = topics.list()
    topics.build(topic)
    assert topics.remove("Ferry Strike").id == topic.id
    assert topics.store.read_topic_briefing(topic.id) is None and topics.list() == []
    with pytest.raises(BadInputError, match="no followed topic 1: `rag topics list` shows them"):
        topics.remove(1)
    topics.store.write_topic_briefing(topic.id, "{}", built_at="x")  # a build that ended late
    assert topics.store.read_topic_briefing(topic.id) is None


# --- refreshed by the sync ------------------------------------------------------------------------
@pytest.fixture
def site():
    site = FeedSite(slow_s=0.5)
    yield site
    site.close()


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.05)


def test_the_background_sync_refreshes_a_followed_topics_briefing(site, tmp_path,
                                                                 fake_embedder):
    """A topic followed before any article: the background sync's first round syncs the feed
    and builds the topic's briefing from what it brought in; a later sync that adds an article
    rebuilds it; a write of the index between syncs (an upload) makes it stale, and the next
    round rebuilds it, without syncing the feed again."""
    config = Config(index_dir=tmp_path / "index", allow_private_urls=True, fetch_timeout_s=5.0)
    service = FeedService(RagSystem(config, embedder=fake_embedder))
    topics = service.topics
    topic = topics.follow("Sandby ferry", "7d")
    feed = service.add(site.url("/atom.xml"))
    service.start(tick_s=0.05)
    try:
        wait_for(lambda: topics.stored(topic) is not None)
    finally:
        service.stop()
    first = topics.stored(topic)
    urls = {service.system.index.get_article(i).url for i in sources(first.answer)}
    assert site.url("/herald/ferry.html") in urls
    assert service.feed(feed.id).last_sync_at is not None and site.hits["/atom.xml"] == 1

    site.breaking = True
    report, = service.sync([feed])
    assert report.added == 1 and report.topics_briefed == 1
    after = topics.stored(topic)
    assert after.generation > first.generation
    fire = {service.system.index.get_article(i).url for i in sources(after.answer)}
    assert site.url("/herald/fire.html") in fire
    report, = service.sync([feed])
    assert report.status == "not modified" and report.topics_briefed == 0

    hits = site.hits["/atom.xml"]
    service.system.ingest([Article(title="Sandby ferry timetable", text="The Sandby ferry "
                                   "timetable for the winter was published on Monday.")])
    assert topics.needs_refresh(topic)
    service.start(tick_s=0.05)
    try:
        wait_for(lambda: not topics.needs_refresh(topic))
    finally:
        service.stop()
    assert topics.stored(topic).generation > after.generation
    assert site.hits["/atom.xml"] == hits  # the feed is not due: not synced again


# --- several servers over one PostgreSQL ------------------------------------------------------
@pytest.mark.pgvector
def test_one_of_several_servers_builds_a_stale_topic(week, schema, monkeypatch):
    """Four servers' background rounds find the same shared topic stale at once: one builds
    it (under the topic's lease), the others skip it or find it fresh once they hold it."""
    from rag.feeds.pg_state import PostgresFeedStore

    system = week.system
    servers = [FollowedTopics(system, PostgresFeedStore(None, schema)) for _ in range(4)]
    servers[0].follow(TOPIC, "7d")
    built, brief = [], system.brief

    def slow_brief(*args, **kwargs):
        built.append(args)
        time.sleep(0.5)  # the others try meanwhile
        return brief(*args, **kwargs)

    monkeypatch.setattr(system, "brief", slow_brief)
    gate, counts = threading.Barrier(len(servers)), []

    def round_of(server):
        gate.wait()
        counts.append(server.refresh_stale())

    threads = [threading.Thread(target=round_of, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and sorted(counts) == [0, 0, 0, 1]
    assert all(s.refresh_stale() == 0 for s in servers)  # fresh for every server
    assert servers[3].briefing(TOPIC).briefing.cached
