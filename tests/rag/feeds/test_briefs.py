"""Each followed feed's stored briefing (rag/feeds/briefs.py), over a feed synced from a real
HTTP server on 127.0.0.1 (tests/feedsite.py) into a real index with the fake embedder: the sync
builds and stores it, a request serves it while fresh, a new article, a deleted one, another
day or a damaged file has it rebuilt, and a request that is not the default one builds its
own."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from feedsite import FeedSite

from rag import Config, RagSystem
from rag.errors import BadInputError
from rag.feeds import FeedBriefings, FeedService, brief_feed, feed_articles
from rag.feeds.briefs import StoredBriefing
from rag.feeds.state import Feed, write_atomically


@pytest.fixture
def site():
    site = FeedSite(slow_s=0.5)
    yield site
    site.close()


@pytest.fixture
def synced(site, tmp_path, fake_embedder) -> tuple[FeedService, Feed]:
    """A service over a new index that followed the Atom feed and synced it once."""
    config = Config(index_dir=tmp_path / "index", allow_private_urls=True, fetch_timeout_s=5.0)
    service = FeedService(RagSystem(config, embedder=fake_embedder))
    feed = service.add(site.url("/atom.xml"))
    report, = service.sync([feed])
    assert report.added == 3 and report.briefed
    return service, service.feed(feed.id)


def article_ids(service: FeedService, *paths: str) -> set[str]:
    wanted = {service.system.index.get_article(a.id).url: a.id
              for a, _ in service.system.index.list_articles()}
    return {i for url, i in wanted.items() if url.endswith(paths)}


def sources(answer) -> set[str]:
    return {i for s in answer.briefing.stories for i in s.source_ids}


def test_the_sync_stores_the_feeds_briefing_and_requests_are_served_from_it(synced, site):
    service, feed = synced
    stored = service.briefings.stored(feed.id)
    assert stored is not None and service.briefings.path(feed.id).is_file()
    assert service.briefings.path(feed.id).parent == service.store.path.parent / "feed-briefings"
    briefing = stored.answer.briefing
    # The last 24 hours of the feed: the two recent articles, cited; the orchard (40 days
    # old) is outside the window.
    recent = article_ids(service, "/herald/wire-b.html", "/herald/ferry.html")
    assert len(recent) == 2 and sources(stored.answer) == recent
    assert {c.article_id for c in stored.answer.citations} == recent
    assert (briefing.feed, briefing.cached) == (str(feed.id), False)
    assert briefing.built_at.endswith("+00:00")  # UTC, to the second
    assert stored.coverage.articles == 3 and stored.coverage.newest_id in recent

    first = brief_feed(service.system, feed.id)
    again = brief_feed(service.system, site.url("/atom.xml"))  # by its URL: the same one
    for answer in (first, again):
        assert answer.briefing.cached and answer.briefing.built_at == briefing.built_at
        got, kept = answer.to_json(), stored.answer.to_json()
        assert got.pop("timings_ms").keys() == {"total"}
        kept.pop("timings_ms")
        assert got["briefing"].pop("cached") and not kept["briefing"].pop("cached")
        assert got == kept
    # What a request builds for itself is the same briefing.
    built = service.system.brief(articles=feed_articles(service.store, feed.id))
    assert built.text == first.text and built.briefing.built_at is None


def test_a_new_article_rebuilds_it_in_the_sync_and_on_request(synced, site):
    service, feed = synced
    before = service.briefings.stored(feed.id)
    site.breaking = True
    report, = service.sync([feed])
    assert report.added == 1 and report.briefed
    fire = article_ids(service, "/herald/fire.html")
    assert len(fire) == 1
    after = service.briefings.stored(feed.id)
    assert after.coverage != before.coverage and after.coverage.newest_id in fire
    assert fire <= sources(after.answer)
    assert brief_feed(service.system, feed.id).briefing.cached
    # Nothing new: the stored briefing stays as it is.
    report, = service.sync([feed])
    assert report.status == "not modified" and not report.briefed

    # An article the feed brought in that no sync stored a briefing for (another process
    # synced it): the stored one no longer covers the feed, and a request rebuilds it.
    from rag.articles import Article
    from rag.feeds.state import Item

    extra = Article(title="Ferry fares rise", text="Ferry fares rose by five crowns on Friday, "
                    "the ferry company said, the first rise in three years.",
                    published_at=before.window[1], url="https://herald.example/fares")
    service.system.ingest([extra])
    service.store.save_items([Item(feed.id, "fares", "f", extra.url, extra.id, None, 0.0)])
    rebuilt = brief_feed(service.system, feed.id)
    assert not rebuilt.briefing.cached and extra.id in sources(rebuilt)
    assert brief_feed(service.system, feed.id).briefing.cached  # and stored it


@pytest.mark.parametrize("damage", [
    b"", b"{not json", b"\x00\xff\xfe garbage", b"[]", b'{"version": 1}',
    b'{"version": 99, "feed_id": 1}',
])
def test_a_damaged_stored_briefing_is_ignored_and_rebuilt(synced, damage, caplog):
    service, feed = synced
    path = service.briefings.path(feed.id)
    path.write_bytes(damage)
    answer = brief_feed(service.system, feed.id)
    assert not answer.briefing.cached and answer.briefing.stories
    assert "ignoring the stored briefing" in caplog.text  # said in the log, not to the user
    assert StoredBriefing.from_json(json.loads(path.read_text())).feed_id == feed.id
    assert brief_feed(service.system, feed.id).briefing.cached


def test_a_stored_answer_of_the_wrong_shape_is_ignored(synced):
    service, feed = synced
    path = service.briefings.path(feed.id)
    data = json.loads(path.read_text())
    data["answer"]["briefing"]["stories"][0]["sources"] = "many"
    path.write_text(json.dumps(data))
    assert service.briefings.stored(feed.id) is None
    assert not brief_feed(service.system, feed.id).briefing.cached
    data = json.loads(path.read_text())
    data["feed_id"] = feed.id + 1  # another feed's file
    path.write_text(json.dumps(data))
    assert service.briefings.stored(feed.id) is None


def test_another_day_or_a_deleted_article_makes_it_stale(synced, monkeypatch):
    service, feed = synced
    briefings = service.briefings
    stored = briefings.stored(feed.id)
    assert briefings.is_fresh(stored)
    _since, until = stored.window
    monkeypatch.setattr(FeedBriefings, "window", lambda self: (until, "2999-01-01"))
    assert not briefings.is_fresh(stored)
    monkeypatch.undo()
    service.system.delete([stored.answer.citations[0].article_id])
    assert not briefings.is_fresh(stored)
    rebuilt = brief_feed(service.system, feed.id)
    assert not rebuilt.briefing.cached
    assert stored.answer.citations[0].article_id not in sources(rebuilt)


def test_other_periods_and_topics_are_built_for_the_request(synced):
    service, feed = synced
    for options in ({"since": "7d"}, {"topic": "ferry"}, {"as_of": "2999-01-01"},
                    {"until": "2999-01-01"}):
        answer = brief_feed(service.system, feed.id, **options)
        assert (answer.briefing.cached, answer.briefing.built_at) == (False, None), options
    with pytest.raises(BadInputError, match="no followed feed 'nope'"):
        brief_feed(service.system, "nope")


def test_removing_the_feed_deletes_its_stored_briefing(synced):
    service, feed = synced
    path = service.briefings.path(feed.id)
    assert path.is_file()
    service.remove(feed.id)
    assert not path.exists()


def test_a_read_only_index_reads_stored_briefings_and_writes_none(synced, fake_embedder):
    service, feed = synced
    config = service.system.config
    reader = RagSystem(config, embedder=fake_embedder, read_only=True)
    briefings = FeedBriefings(reader, service.store)
    assert brief_feed(reader, feed.id).briefing.cached
    path = briefings.path(feed.id)
    path.unlink()
    answer = brief_feed(reader, feed.id)
    assert answer.briefing.stories and not answer.briefing.cached and not path.exists()
    assert not briefings.refresh(feed) and not path.exists()


def test_the_file_is_written_whole(tmp_path, monkeypatch):
    path = tmp_path / "feed-briefings" / "1.json"
    write_atomically(path, '{"a": 1}')
    assert json.loads(path.read_text()) == {"a": 1}

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, '{"a": 2}')
    # The old file stands, and no temporary file is left behind.
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["1.json"]


def test_a_failed_write_still_serves_the_briefing(synced, monkeypatch, caplog):
    service, feed = synced
    service.briefings.path(feed.id).unlink()

    def fail(*args):
        raise OSError("read-only file system")

    monkeypatch.setattr(os, "replace", fail)
    answer = brief_feed(service.system, feed.id)
    assert answer.briefing.stories and not answer.briefing.cached
    assert "could not store the briefing" in caplog.text


def test_the_stored_json_round_trips(synced):
    service, feed = synced
    stored = service.briefings.stored(feed.id)
    again = StoredBriefing.from_json(json.loads(json.dumps(stored.to_json())))
    assert again == stored
    assert dataclasses.asdict(again.coverage) == json.loads(
        service.briefings.path(feed.id).read_text())["coverage"]


def test_the_background_sync_rebuilds_a_missing_or_stale_one(synced):
    import time

    service, feed = synced
    path = service.briefings.path(feed.id)
    path.unlink()
    service.start(tick_s=0.05)  # the feed is not due: only its briefing is out of date
    try:
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.stop()
    assert service.briefings.stored(feed.id) is not None
    assert service.feed(feed.id).last_sync_at == feed.last_sync_at  # not synced again


def test_the_coverage_changes_with_the_feeds_articles(tmp_path):
    from rag.feeds.state import FeedStore, Item

    store = FeedStore(tmp_path / "feeds.sqlite")
    feed = store.add("https://x.org/rss", every_s=60)
    empty = store.coverage(feed.id)
    assert (empty.articles, empty.newest_id) == (0, None)
    store.save_items([Item(feed.id, "e1", "v1", None, "a", "2022-09-10", 5.0),
                      Item(feed.id, "e2", "v1", None, "b", "2022-09-11", 1.0),
                      Item(feed.id, "e3", "v1", None, None, "2022-09-12", 1.0)])
    first = store.coverage(feed.id)
    assert (first.articles, first.newest_id, first.newest_at) == (2, "b", "2022-09-11")
    store.save_items([Item(feed.id, "e1", "v2", None, "a", "2022-09-10", 5.0)])  # changed
    changed = store.coverage(feed.id)
    assert changed.digest != first.digest and changed.articles == 2
    store.mark_removed(feed.id, ["e2"])  # retention
    removed = store.coverage(feed.id)
    assert removed.digest != changed.digest and (removed.articles, removed.newest_id) == (1, "a")
    assert store.coverage(feed.id) == removed  # the same articles: the same coverage
