"""Followed topics in the feed state (rag/feeds/topics.py, and the topic half of
rag/feeds/state.py and rag/feeds/pg_state.py): the same answers from SQLite and from a real
PostgreSQL for the same calls, a store made before topics (an old feeds.sqlite, an old schema)
read as following none and given its tables on the first write, and the PostgreSQL lease on a
topic (one holder among many, dropped when its block ends)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest

from rag.errors import BadInputError
from rag.feeds.state import FeedStore
from rag.feeds.topic_briefs import FollowedTopics
from rag.feeds.topics import FollowedTopic, check_period, check_topic

# feeds.sqlite as it was made before followed topics (rag/feeds/state.py's SCHEMA then).
OLD_SQLITE = """
CREATE TABLE feeds (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL UNIQUE, title TEXT,
    every_s INTEGER NOT NULL, keep_days REAL, added_at REAL NOT NULL, etag TEXT,
    last_modified TEXT, last_sync_at REAL, last_ok_at REAL, last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0, last_counts TEXT);
CREATE TABLE items (feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entry_key TEXT NOT NULL, fingerprint TEXT NOT NULL, link TEXT, article_id TEXT,
    published_at TEXT, seen_at REAL NOT NULL, removed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (feed_id, entry_key));
INSERT INTO feeds (url, every_s, added_at) VALUES ('https://old.example/rss', 1800, 1.0);
"""


def exercise(store) -> list:
    """The same calls on any TopicState; what each returned (times left out)."""
    seen = []
    topics = FollowedTopics(None, store)  # following only: no briefing is built
    seen.append((store.topics(), store.get_topic(1), store.find_topic("x"),
                 store.read_topic_briefing(1)))
    iran = topics.follow("Iran nuclear talks")
    storm = topics.follow("the  storm\tover Valby", "7d")
    again = topics.follow("IRAN nuclear Talks ", " 2W")  # the same topic: period and case
    seen.append([(t.id, t.topic, t.since, t.built_at) for t in store.topics()])
    seen.append((iran.id == again.id != storm.id, store.find_topic("iran NUCLEAR talks").since))
    store.write_topic_briefing(iran.id, '{"v": 1}', built_at="2025-03-06T08:00:00+00:00")
    store.write_topic_briefing(iran.id, '{"v": 2}', built_at="2025-03-06T09:00:00+00:00")
    store.write_topic_briefing(999, '{"v": 3}', built_at="x")  # no such topic: nothing kept
    seen.append((store.read_topic_briefing(iran.id), store.read_topic_briefing(storm.id),
                 store.read_topic_briefing(999), store.get_topic(iran.id).built_at))
    with store.topic_lease(storm.id) as held:
        seen.append(held.topic)
    with store.topic_lease(999) as held:
        seen.append(held)
    store.unfollow_topic(iran.id)
    seen.append((store.get_topic(iran.id), store.read_topic_briefing(iran.id),
                 [t.topic for t in store.topics()]))
    refollowed = topics.follow("Iran nuclear talks")
    # A new id, no briefing; following again above used up no id.
    seen.append((refollowed.id == storm.id + 1, refollowed.built_at))
    # The feeds beside them are untouched.
    feed = store.add("https://a.example/rss", every_s=60)
    seen.append(([f.url for f in store.feeds()], [t.topic for t in store.topics()]))
    store.remove(feed.id)
    # Ids no store could hold name nothing (SQLite would overflow on them).
    seen.append((store.get_topic(2**64), store.get_topic(0), store.get("99999999999999999999"),
                 store.get(str(2**63))))
    return [_untimed(s) for s in seen]


def _untimed(value):
    if isinstance(value, FollowedTopic):
        return (value.id, value.topic, value.since, value.built_at)
    if isinstance(value, list | tuple):
        return type(value)(_untimed(v) for v in value)
    return value


def test_following_topics_on_sqlite(tmp_path):
    got = exercise(FeedStore(tmp_path / "feeds.sqlite"))
    assert got[0] == ([], None, None, None)
    assert got[1] == [(1, "IRAN nuclear Talks", "2w", None), (2, "the storm over Valby", "7d",
                                                                None)]
    assert got[2] == (True, "2w")
    assert got[3] == ('{"v": 2}', None, None, "2025-03-06T09:00:00+00:00")
    assert got[4:6] == ["the storm over Valby", None]
    assert got[6] == (None, None, ["the storm over Valby"])
    assert got[7] == (True, None)
    assert got[-1] == (None, None, None, None)


def test_postgres_answers_as_sqlite_does(schema, tmp_path):
    from rag.feeds.pg_state import PostgresFeedStore

    assert exercise(PostgresFeedStore(None, schema)) == exercise(
        FeedStore(tmp_path / "feeds.sqlite"))


def test_bad_topics_and_periods_are_refused_by_name():
    with pytest.raises(BadInputError, match="the topic is empty"):
        check_topic(" \t\u202e ")
    with pytest.raises(BadInputError, match="a followed topic is at most 200"):
        check_topic("talks " * 40)
    with pytest.raises(BadInputError, match="the topic must be text, not int"):
        check_topic(3)
    with pytest.raises(BadInputError, match="since 'a while' is neither a date"):
        check_period("a while")
    with pytest.raises(BadInputError, match="the briefing's window is empty: until "):
        check_period("2999-01-01")
    assert (check_period(None), check_period(""), check_period("This  Week")) == (
        "24h", "24h", "this week")


def test_an_old_feeds_sqlite_follows_no_topic_until_one_is_followed(tmp_path):
    path = tmp_path / "feeds.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SQLITE)
    store = FeedStore(path)
    assert store.topics() == [] and store.get_topic(1) is None
    assert store.find_topic("x") is None and store.read_topic_briefing(1) is None
    store.unfollow_topic(1)  # nothing to do, no error
    with store.topic_lease(1) as held:
        assert held is None
    topic = FollowedTopics(None, store).follow("Valby storm")
    assert [t.topic for t in store.topics()] == ["Valby storm"]
    store.write_topic_briefing(topic.id, "{}", built_at="2025-03-06T08:00:00+00:00")
    assert store.read_topic_briefing(topic.id) == "{}"
    assert [f.url for f in store.feeds()] == ["https://old.example/rss"]  # kept as it was


def test_an_old_postgres_schema_follows_no_topic_until_one_is_followed(schema):
    import psycopg

    from rag.feeds.pg_state import PostgresFeedStore

    made = PostgresFeedStore(None, schema)
    made.add("https://old.example/rss", every_s=1800)
    with psycopg.connect(os.environ["RAG_PG_DSN"], autocommit=True) as db:  # as it was before
        db.execute(f'DROP TABLE "{schema}".topic_briefings, "{schema}".topics')
    store = PostgresFeedStore(None, schema)  # another server, or a restart, on the new code
    assert store.topics() == [] and store.get_topic(1) is None
    assert store.find_topic("x") is None and store.read_topic_briefing(1) is None
    topic = FollowedTopics(None, store).follow("Valby storm")
    assert [t.topic for t in store.topics()] == ["Valby storm"]
    store.write_topic_briefing(topic.id, "{}", built_at="2025-03-06T08:00:00+00:00")
    assert store.read_topic_briefing(topic.id) == "{}"
    assert [f.url for f in store.feeds()] == ["https://old.example/rss"]


def test_one_server_holds_a_topic_at_a_time(schema):
    from rag.feeds.pg_state import PostgresFeedStore

    a, b = PostgresFeedStore(None, schema), PostgresFeedStore(None, schema)
    topic = FollowedTopics(None, a).follow("Valby storm")
    with a.topic_lease(topic.id) as held:
        assert held is not None and held.topic == "Valby storm"
        with b.topic_lease(topic.id) as other:
            assert other is None
        with a.topic_lease(topic.id) as again:  # not re-entrant: one build at a time
            assert again is None
        other = FollowedTopics(None, a).follow("another topic")
        with b.topic_lease(other.id) as held_other:  # a lock per topic
            assert held_other is not None
    with b.topic_lease(topic.id) as held:  # dropped when the block ended
        assert held is not None
    with pytest.raises(RuntimeError), a.topic_lease(topic.id):  # a failed build drops it too
        raise RuntimeError("the build failed")
    with b.topic_lease(topic.id) as held:
        assert held is not None


def test_many_servers_one_holder(schema):
    from rag.feeds.pg_state import PostgresFeedStore

    stores = [PostgresFeedStore(None, schema) for _ in range(6)]
    topic = FollowedTopics(None, stores[0]).follow("Valby storm")
    gate, won, lost = threading.Barrier(len(stores)), [], []

    def contend(store, n):
        gate.wait()
        with store.topic_lease(topic.id) as held:
            if held is None:
                lost.append(n)
                return
            won.append(n)
            deadline = time.monotonic() + 30  # held until every other server has tried
            while len(lost) < len(stores) - 1 and time.monotonic() < deadline:
                time.sleep(0.01)

    threads = [threading.Thread(target=contend, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == len(stores) - 1
