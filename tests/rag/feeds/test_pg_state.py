"""The feed state on PostgreSQL (rag/feeds/pg_state.py) against a real server: the same answers
as the SQLite store for the same calls, the lease (one holder; renewed while held; a crashed
holder's lease taken over once expired), stored briefings, and the one-time import of a
machine's old feeds.sqlite."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from rag.feeds.pg_state import PostgresFeedStore
from rag.feeds.state import FeedStore, Item

pytestmark = pytest.mark.pgvector


def exercise(store) -> list:
    """The same calls on any FeedState; what each returned (times left out)."""
    seen = []
    a = store.add("https://a.example/rss", every_s=1800)
    b = store.add("https://b.example/atom", every_s=600, keep_days=7)
    store.add("https://a.example/rss", every_s=900)  # again: schedule changed
    seen.append([(f.id, f.url, f.every_s, f.keep_days) for f in store.feeds()])
    store.save_items([Item(a.id, "e1", "f1", "https://a.example/1", "art1", "2025-01-01", 1.0),
                      Item(a.id, "e2", "f2", None, "art2", None, 2.0),
                      Item(b.id, "x1", "g1", None, "art2", None, 3.0)])
    store.save_items([Item(a.id, "e2", "f2b", None, "art2", "2025-02-01", 2.0)])  # changed
    seen.append(sorted((k, i.fingerprint, i.article_id, i.removed)
                       for k, i in store.items(a.id).items()))
    seen.append(store.article_ids(a.id))
    seen.append(store.coverage(a.id))
    seen.append(store.articles_held_by_others(a.id, ["art1", "art2"]))
    store.mark_removed(b.id, ["x1"])
    seen.append(store.articles_held_by_others(a.id, ["art1", "art2"]))
    store.record_sync(a.id, error=None, counts='{"entries": 2}', title="A", etag='"e"',
                      last_modified="yesterday", validators=True)
    store.record_sync(b.id, error="boom")
    store.record_sync(b.id, error="boom again")
    got = store.get("https://a.example/rss")
    seen.append((got.title, got.etag, got.last_modified, got.last_error, got.failures,
                 got.last_counts))
    got = store.get(str(b.id))
    seen.append((got.title, got.last_error, got.failures))
    store.write_briefing(a.id, '{"v": 1}')
    store.write_briefing(a.id, '{"v": 2}')
    seen.append(store.read_briefing(a.id))
    store.forget_briefing(a.id)  # FeedService.remove forgets it (PostgreSQL: by cascade too)
    store.remove(a.id)
    seen.append((store.get(a.id), store.items(a.id), store.read_briefing(a.id),
                 [f.url for f in store.feeds()]))
    return seen


def test_postgres_answers_as_sqlite_does(schema, tmp_path):
    assert exercise(PostgresFeedStore(None, schema)) == exercise(
        FeedStore(tmp_path / "feeds.sqlite"))


def test_reads_before_any_feed_make_nothing(schema):
    import psycopg

    store = PostgresFeedStore(None, schema)
    assert store.feeds() == [] and store.get(1) is None and store.read_briefing(1) is None
    with psycopg.connect(os.environ["RAG_PG_DSN"]) as db:
        assert db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                          (schema,)).fetchone() is None


def test_one_holder_at_a_time(schema):
    a, b = PostgresFeedStore(None, schema), PostgresFeedStore(None, schema)
    feed = a.add("https://a.example/rss", every_s=60)
    with a.lease(feed.id) as held:
        assert held is not None and held.url == feed.url
        assert a.lease_holder(feed.id).startswith(a.owner_prefix)
        with b.lease(feed.id) as other:
            assert other is None
        with a.lease(feed.id) as again:  # not re-entrant: one sync per feed, even in-process
            assert again is None
    assert a.lease_holder(feed.id) is None
    with b.lease(feed.id) as held:
        assert held is not None


def test_many_contenders_one_winner(schema):
    stores = [PostgresFeedStore(None, schema) for _ in range(6)]
    feed = stores[0].add("https://a.example/rss", every_s=60)
    gate, won = threading.Barrier(len(stores)), []

    def contend(store, n):
        gate.wait()
        if store.take(feed.id, f"contender-{n}") is not None:
            won.append(n)

    threads = [threading.Thread(target=contend, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_a_held_lease_is_renewed_and_a_crashed_ones_expires(schema):
    a = PostgresFeedStore(None, schema, lease_s=1)
    b = PostgresFeedStore(None, schema, lease_s=1)
    feed = a.add("https://a.example/rss", every_s=60)
    with a.lease(feed.id) as held:  # renewed every third of a second meanwhile
        assert held is not None
        time.sleep(2.5)
        assert b.take(feed.id, "b") is None
    # A crash: taken, never renewed nor released (what a killed process leaves).
    assert b.take(feed.id, "crashed") is not None
    assert a.take(feed.id, "a") is None
    deadline = time.monotonic() + 30
    while (got := a.take(feed.id, "a")) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert got is not None and a.lease_holder(feed.id) == "a"
    b.release(feed.id, "crashed")  # another's lease is left alone
    assert a.lease_holder(feed.id) == "a"
    assert not b.renew(feed.id, "crashed") and a.renew(feed.id, "a")


def test_the_old_feeds_sqlite_is_imported_once(schema, tmp_path, caplog):
    legacy = tmp_path / "feeds.sqlite"
    old = FeedStore(legacy)
    first = old.add("https://a.example/rss", every_s=1800)
    second = old.add("https://b.example/atom", every_s=600, keep_days=3)
    old.save_items([Item(second.id, "e1", "f1", None, "art1", None, 1.0)])
    old.record_sync(second.id, error=None, counts='{"entries": 1}', etag='"x"',
                    validators=True)
    old.remove(first.id)  # ids need not start at 1
    with caplog.at_level(logging.WARNING, logger="rag.feeds"):
        store = PostgresFeedStore(None, schema, legacy=legacy)
        assert store.feeds() == old.feeds()
    assert f"imported 1 followed feed(s) and 1 entries from {legacy}" in caplog.text
    assert store.items(second.id) == old.items(second.id)
    assert store.add("https://c.example/rss", every_s=60).id == second.id + 1
    store.remove(second.id)
    again = PostgresFeedStore(None, schema, legacy=legacy)  # another server, a restart
    assert [f.url for f in again.feeds()] == ["https://c.example/rss"]
