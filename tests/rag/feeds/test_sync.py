"""Feeds synced into a real index from a real HTTP server on 127.0.0.1 (tests/feedsite.py):
what is ingested, changed pages, 304s, per-item errors, wire duplicates, retention, private
addresses, and the background sync. The fake embedder vectors the articles; the real model
syncs feeds in tests/rag_cli/test_feeds.py."""

from __future__ import annotations

import threading
import time

import pytest
from feedsite import MALFORMED_LINKS, FeedSite

from rag import Config, RagSystem
from rag.articles import Article
from rag.feeds import FeedService, FetchLimits, SafeFetcher, load_urls

pytestmark = pytest.mark.slow

PAGES = ("/news/harbour.html", "/news/library.html", "/news/wire-a.html", "/news/bridge.html",
         "/herald/wire-b.html", "/herald/orchard.html")


@pytest.fixture
def site():
    site = FeedSite(slow_s=3.0)
    yield site
    site.close()


def make_service(tmp_path, embedder, **settings) -> FeedService:
    config = Config(index_dir=tmp_path / "index", **{
        "allow_private_urls": True, "fetch_timeout_s": 1.0, "fetch_max_bytes": 100_000,
        **settings})
    return FeedService(RagSystem(config, embedder=embedder))


def urls(service: FeedService) -> dict[str, Article]:
    return {a.url: a for a, _ in service.system.index.list_articles()}


def test_rss_and_atom_ingested_bad_items_named_304_and_changed_page(site, tmp_path,
                                                                   fake_embedder):
    service = make_service(tmp_path, fake_embedder)
    service.add(site.url("/rss.xml"))
    service.add(site.url("/atom.xml"), every="2h")
    rss, atom = service.sync()

    assert rss.status == "synced" and rss.entries == 8 and rss.added == 4
    failures = {f.input: f.reason for f in rss.failures}
    assert failures == {
        site.url("/loop/1"):
            f"redirect loop: {site.url('/loop/2')} sends back to {site.url('/loop/1')}",
        site.url("/news/huge.html"): "409,445 bytes, more than the 100,000 allowed",
        site.url("/news/slow.html"): "no answer within 1 s",
        site.url("/files/report.pdf"):
            "content type application/pdf is not one of application/xhtml+xml, text/html",
    }
    assert atom.status == "synced" and atom.entries == 3 and atom.added == 3 and not atom.failures
    ingested = urls(service)
    assert set(ingested) == {site.url(p) for p in PAGES} | {site.url("/herald/ferry.html")}
    # The Atom entry with its full text was ingested from the feed: its page never fetched.
    assert site.hits["/herald/ferry.html"] == 0
    ferry = ingested[site.url("/herald/ferry.html")]
    assert "every twenty minutes" in ferry.text and ferry.source == "Evening Herald"
    harbour = ingested[site.url("/news/harbour.html")]
    assert harbour.title == "Harbour tunnel reopens after repairs"
    assert harbour.source == "Daily Tidings" and harbour.published_at
    assert "30,000 vehicles" in harbour.text and "Copyright" not in harbour.text

    # Unchanged feeds: one conditional request each, answered 304; nothing else is fetched.
    before = dict(site.hits)
    again = service.sync()
    assert [r.status for r in again] == ["not modified", "not modified"]
    assert {p: n - before.get(p, 0) for p, n in site.hits.items() if n != before.get(p, 0)} == {
        "/rss.xml": 1, "/atom.xml": 1}

    # The bridge story changes (page and entry): its article is replaced, nothing else refetched.
    bridge_url = site.url("/news/bridge.html")
    old_id = ingested[bridge_url].id
    site.bridge_version = 2
    before = dict(site.hits)
    rss = service.sync_feed(service.feed(site.url("/rss.xml")))
    assert (rss.status, rss.added, rss.updated, rss.unchanged) == ("synced", 0, 1, 3)
    assert len(rss.failures) == 4  # the bad items are retried, and fail again by name
    assert site.hits["/news/bridge.html"] == before["/news/bridge.html"] + 1
    assert site.hits["/news/harbour.html"] == before["/news/harbour.html"]
    after = urls(service)
    assert len(after) == 7 and after[bridge_url].id == old_id
    assert "September" in after[bridge_url].text and "in May" not in after[bridge_url].text
    feeds = {f.url: f for f in service.feeds()}
    assert feeds[site.url("/rss.xml")].last_error is None
    assert feeds[site.url("/rss.xml")].title == "Daily Tidings"
    assert feeds[site.url("/atom.xml")].every_s == 7200


def test_wire_story_in_two_feeds_is_collapsed_with_both_sources_kept(site, tmp_path,
                                                                    fake_embedder):
    service = make_service(tmp_path, fake_embedder)
    service.add(site.url("/rss.xml"))
    service.add(site.url("/atom.xml"))
    service.sync()
    copies = [a for a in urls(service).values() if "80,000 homes" in a.text]
    assert sorted(a.source for a in copies) == ["Daily Tidings", "Evening Herald"]
    answer = service.system.ask("How many homes will the Kestrel Valley dam turbines supply?")
    assert "80,000 homes" in answer.text
    kestrel = [c for c in answer.citations if "Kestrel" in c.quote or "80,000" in c.quote]
    assert kestrel and kestrel[0].url in {a.url for a in copies}
    cited = {kestrel[0].url} | {r.url for r in kestrel[0].also_in}
    assert cited == {a.url for a in copies}
    assert len({c.article_id for c in answer.citations} & {a.id for a in copies}) == 1


def test_retention_removes_only_that_feeds_old_articles(site, tmp_path, fake_embedder):
    service = make_service(tmp_path, fake_embedder)
    service.add(site.url("/rss.xml"))
    service.add(site.url("/atom.xml"))
    service.sync()
    mine = Article(title="An old note", text="An article added by hand, long ago.",
                   published_at="2020-01-01", url="https://example.com/note")
    service.system.ingest([mine])
    assert len(urls(service)) == 8

    service.add(site.url("/atom.xml"), keep_days=10)  # now keep 10 days of the Herald
    rss, atom = service.sync()
    assert (rss.status, atom.status) == ("not modified", "not modified")
    assert (rss.removed, atom.removed) == (0, 1)
    left = urls(service)
    assert site.url("/herald/orchard.html") not in left  # 40 days old, from the Atom feed
    assert site.url("/news/library.html") in left  # 40 days old, but from the RSS feed
    assert site.url("/herald/wire-b.html") in left and mine.url in left
    assert len(left) == 7
    # Not fetched back on the next sync: the entry is unchanged and older than kept.
    assert service.sync()[1].added == 0 and site.url("/herald/orchard.html") not in urls(service)


def test_private_address_refused_unless_allowed(site, tmp_path, fake_embedder):
    service = make_service(tmp_path, fake_embedder, allow_private_urls=False)
    feed = service.add(site.url("/rss.xml"))
    [report] = service.sync()
    reason = "127.0.0.1 is a loopback address: refused (set RAG_ALLOW_PRIVATE_URLS=1"
    assert report.status == "failed" and reason in report.error
    assert site.hits["/rss.xml"] == 0
    assert reason in service.feed(feed.id).last_error
    with SafeFetcher(FetchLimits()) as fetcher:
        loaded = load_urls([site.url("/news/harbour.html")], fetcher)
    assert not loaded.articles and reason in loaded.failures[0].reason
    assert Config.from_env({"RAG_ALLOW_PRIVATE_URLS": "1"}).allow_private_urls is True
    assert Config.from_env({}).allow_private_urls is False


def test_a_failing_feed_is_reported_and_retried_and_never_stops_the_others(
        site, tmp_path, fake_embedder, monkeypatch):
    monkeypatch.setattr("rag.feeds.state.RETRY_BASE_S", 0.3)
    service = make_service(tmp_path, fake_embedder)
    broken = service.add(site.url("/broken.xml"))
    atom = service.add(site.url("/atom.xml"))
    service.start(tick_s=0.2)
    try:
        deadline = time.monotonic() + 120
        while service.feed(broken.id).failures < 3 or service.feed(atom.id).last_ok_at is None:
            assert time.monotonic() < deadline, service.feeds()
            time.sleep(0.2)
    finally:
        service.stop()
    failed = service.feed(broken.id)
    assert failed.last_error == (f"{site.url('/broken.xml')}: malformed feed: not "
                                 "well-formed XML (no element found)")
    assert site.hits["/broken.xml"] >= 3  # retried
    assert service.feed(atom.id).last_error is None and site.hits["/atom.xml"] == 1
    assert len(urls(service)) == 3


def test_entries_linking_to_malformed_urls_fail_by_name_and_the_rest_go_in(site, tmp_path,
                                                                           fake_embedder):
    service = make_service(tmp_path, fake_embedder)
    feed = service.add(site.url("/malformed-links.xml"))
    [report] = service.sync()
    assert report.status == "synced" and report.entries == 3 and report.added == 1
    assert [f.input for f in report.failures] == list(MALFORMED_LINKS)
    assert all(f.reason.startswith("not a valid URL (") for f in report.failures)
    assert set(urls(service)) == {site.url("/news/harbour.html")}
    assert service.feed(feed.id).last_error is None


def wait_for_slow_page(site) -> None:
    """Until a sync has asked the test site for its slow page (at most 60 s)."""
    deadline = time.monotonic() + 60
    while site.hits["/news/slow.html"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_slow_feed_holds_up_neither_another_sync_nor_a_removal(site, tmp_path,
                                                                  fake_embedder):
    """The sync lock guards the writes only: while one feed waits on a slow page, another
    feed syncs and a third is removed."""
    site.slow_s = 10
    service = make_service(tmp_path, fake_embedder, fetch_timeout_s=15.0)
    rss, atom = service.add(site.url("/rss.xml")), service.add(site.url("/atom.xml"))
    broken = service.add(site.url("/broken.xml"))
    reports = []
    slow = threading.Thread(target=lambda: reports.append(service.sync_feed(rss)))
    slow.start()
    try:
        wait_for_slow_page(site)
        other = service.sync_feed(atom)
        service.remove(broken.id)
        assert slow.is_alive(), "the other sync and the removal waited for the slow feed"
    finally:
        slow.join(60)
    assert (other.status, other.added) == ("synced", 3)
    assert [f.url for f in service.feeds()] == [rss.url, atom.url]
    assert reports[0].status == "synced" and reports[0].added == 5  # the slow page too


def test_background_sync_never_blocks_questions(site, tmp_path, fake_embedder):
    """While a sync waits on a slow page, questions are answered."""
    site.slow_s = 12
    service = make_service(tmp_path, fake_embedder, fetch_timeout_s=10.0)
    service.system.ingest([Article(
        title="New ferry for Sandby", text="The new Sandby ferry carries 150 passengers and 40 "
        "cars, the ferry company said on Monday. It replaces a diesel ferry built in 1979.")])
    service.add(site.url("/rss.xml"))
    syncing = threading.Thread(target=service.sync)
    syncing.start()
    try:
        wait_for_slow_page(site)
        started = time.monotonic()
        answer = service.system.ask("How many passengers does the new Sandby ferry carry?")
        assert "150 passengers" in answer.text
        assert syncing.is_alive(), "the sync ended before the question was answered"
        assert time.monotonic() - started < 10
    finally:
        syncing.join(60)
