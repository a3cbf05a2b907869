"""Syncing feeds into an index: fetch (conditionally), parse with feedparser, fetch the pages
of new or changed entries, extract, ingest, apply retention, record the state.

>>> parse_interval("30m"), parse_interval("2h"), parse_interval("45")
(1800, 7200, 2700)
>>> format_interval(5400)
'1h30m'
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rag.articles import Article, LoadFailure, LoadReport
from rag.config import parse_interval
from rag.errors import BadInputError, RagError
from rag.feeds.briefs import FeedBriefings
from rag.feeds.extract import article_from_entry, article_from_page, entry_date, entry_info
from rag.feeds.fetch import (
    FEED_TYPES,
    HTML_TYPES,
    FetchError,
    FetchLimits,
    FetchResult,
    SafeFetcher,
    check_url,
)
from rag.feeds.state import Feed, FeedState, Item
from rag.feeds.stores import index_feed_store
from rag.feeds.topic_briefs import FollowedTopics

if TYPE_CHECKING:
    from rag.system import RagSystem

log = logging.getLogger("rag.feeds")


def format_interval(seconds: int) -> str:
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"


@dataclass
class FeedSyncReport:
    """What one sync of one feed did."""

    url: str
    status: str = "synced"  # synced | not modified | failed | busy (another server syncs it)
    entries: int = 0
    fetched: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    too_old: int = 0  # entries older than the feed keeps: not fetched
    failures: list[LoadFailure] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    briefed: bool = False  # the feed's stored briefing was rebuilt (rag.feeds.briefs)
    # Followed topics whose stored briefing was rebuilt after this sync (rag.feeds.topics;
    # of a batch of syncs, counted on the last one that changed articles).
    topics_briefed: int = 0

    @property
    def changed(self) -> bool:
        """Whether the sync added, changed or removed articles."""
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        if self.status == "failed":
            error = self.error or ""
            return f"{self.url}: failed: {error.removeprefix(self.url + ': ')}"
        if self.status == "busy":
            return f"{self.url}: being synced by another server: skipped"
        if self.status == "not modified":
            return f"{self.url}: not modified (HTTP 304) in {self.seconds:.1f}s"
        old = f", {self.too_old} older than kept" if self.too_old else ""
        return (f"{self.url}: {self.entries} entries; added {self.added}, updated "
                f"{self.updated}, unchanged {self.unchanged}, failed {len(self.failures)}"
                f"{old}, removed {self.removed} (retention) in {self.seconds:.1f}s")

    def counts(self) -> str:
        return json.dumps({"entries": self.entries, "added": self.added,
                           "updated": self.updated, "unchanged": self.unchanged,
                           "failed": len(self.failures), "removed": self.removed})


@dataclass
class _Fetched:
    """What the network half of a sync brought: the feed's answer, its title, and (key,
    fingerprint, link, article) for each new or changed entry."""

    result: FetchResult
    title: str | None = None
    articles: list[tuple[str, str, str | None, Article]] = field(default_factory=list)


def fetcher_for(config: Any) -> SafeFetcher:
    return SafeFetcher(FetchLimits.from_config(config))


def load_urls(urls: Iterable[str], fetcher: SafeFetcher) -> LoadReport:
    """The article of each page URL (fetched, extracted); a URL that fails is a named failure,
    never a stop."""
    report = LoadReport()
    for url in urls:
        try:
            result = fetcher.fetch(url, accept=HTML_TYPES)
            report.articles.append(article_from_page(result))
        except FetchError as exc:
            report.failures.append(LoadFailure(exc.url, exc.reason))
        except BadInputError as exc:
            report.failures.append(LoadFailure(url, str(exc)))
    return report


def is_url(text: str) -> bool:
    """Whether a command-line input names a URL rather than a file (``scheme://``)."""
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", str(text)) is not None


class FeedService:
    """The feeds of one index: follow, unfollow, sync, and sync in the background on each
    feed's schedule.

    Syncs fetch side by side and write one at a time. A failing feed is recorded
    (``Feed.last_error``) and retried later; it never stops the others. Articles are ingested
    through ``system.ingest``, so only changed chunks are embedded and questions keep being
    answered meanwhile. A sync that adds, changes or removes a feed's articles rebuilds the
    feed's stored briefing (``briefings``, ``rag.feeds.briefs``) and then those of the
    collection's followed topics (``topics``, ``rag.feeds.topic_briefs``); the background sync
    also rebuilds any that is out of date (the day has turned, an upload changed the index).

    Each sync holds the feed's lease (``FeedState.lease``): with pgvector several servers
    share the feeds, and a feed another server is syncing is skipped (``busy``); a due feed
    is synced only if it is still due once leased, so it is fetched once per period.

    >>> FeedService.start.__name__
    'start'
    """

    def __init__(self, system: RagSystem, *, store: FeedState | None = None,
                 fetcher: SafeFetcher | None = None) -> None:
        config = system.config
        self.system = system
        self.store = store or index_feed_store(config)  # its one collection's
        self.fetcher = fetcher or fetcher_for(config)
        self.briefings = FeedBriefings(system, self.store)
        self.topics = FollowedTopics(system, self.store)
        self.default_every = parse_interval(config.feed_every)
        self.tick_s = config.feeds_tick_s
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- following ---------------------------------------------------------------------------
    def add(self, url: str, *, every: str | int | None = None,
            keep_days: float | None = None) -> Feed:
        url = check_url(url)
        every_s = parse_interval(every) if every not in (None, "") else self.default_every
        return self.store.add(url, every_s=every_s, keep_days=keep_days or None)

    def feed(self, url_or_id: str | int) -> Feed:
        feed = self.store.get(url_or_id)
        if feed is None:
            raise BadInputError(f"no feed {url_or_id!r} is followed (see `rag feeds list`)")
        return feed

    def remove(self, url_or_id: str | int, *, purge: bool = False) -> tuple[Feed, int]:
        """Stop following a feed; ``purge``: also delete the articles only it brought in.
        Returns the feed and the number of articles deleted."""
        feed = self.feed(url_or_id)
        deleted = 0
        with self._write_lock:
            if purge:
                ids = sorted({i.article_id for i in self.store.items(feed.id).values()
                              if i.article_id and not i.removed})
                held = self.store.articles_held_by_others(feed.id, ids)
                deleted = self.system.delete([i for i in ids if i not in held])
            self.store.remove(feed.id)
            self.briefings.forget(feed.id)
        return feed, deleted

    def feeds(self) -> list[Feed]:
        return self.store.feeds()

    # --- syncing -----------------------------------------------------------------------------
    def sync(self, feeds: Iterable[Feed] | None = None, *,
             due_only: bool = False) -> list[FeedSyncReport]:
        """Sync ``feeds`` (default: all followed; ``due_only``: those whose time has come);
        then, once, rebuild the followed topics' briefings if a sync changed articles."""
        chosen = list(self.store.feeds() if feeds is None else feeds)
        if due_only:
            now = time.time()
            chosen = [f for f in chosen if f.is_due(now)]
        done = [self.sync_feed(f, due_only=due_only, topics=False) for f in chosen]
        reports = [r for r in done if r is not None]
        changed = [r for r in reports if r.changed]
        if changed:
            changed[-1].topics_briefed = self.refresh_topic_briefings()
        return reports

    def sync_feed(self, feed: Feed, *, due_only: bool = False,
                  topics: bool = True) -> FeedSyncReport | None:
        """One sync of one feed, under its lease: a feed another server is syncing is a
        ``busy`` report (None with ``due_only``, as is one no longer due once leased: another
        server has just synced it). Every error is caught and recorded in its state. A sync
        that changed articles rebuilds the followed topics' briefings after it (unless
        ``topics`` is false: :meth:`sync` does it once for all)."""
        report = self._leased_sync(feed, due_only=due_only)
        if topics and report is not None and report.changed:
            report.topics_briefed = self.refresh_topic_briefings()
        return report

    def _leased_sync(self, feed: Feed, *, due_only: bool) -> FeedSyncReport | None:
        with self.store.lease(feed.id) as current:
            if current is not None:
                return None if due_only and not current.is_due() else self._synced(current)
        if due_only:
            return None
        if self.store.get(feed.id) is None:  # removed meanwhile: said as a failure, as ever
            return self._synced(feed)
        return FeedSyncReport(feed.url, status="busy")

    def _synced(self, feed: Feed) -> FeedSyncReport:
        """The sync itself. The fetching (the feed, its entries' pages) holds no lock: only
        the writes that follow take turns, so a slow host holds up neither another feed's
        sync nor a removal."""
        started = time.perf_counter()
        report = FeedSyncReport(feed.url)
        try:
            fetched = self._fetch(self._followed(feed), report)
            with self._write_lock:  # the feed may have been removed or changed meanwhile
                self._save(self._followed(feed), fetched, report)
        except (RagError, ValueError) as exc:
            report.status, report.error = "failed", str(exc)
        except Exception as exc:  # a bug must not stop the other feeds or the scheduler
            report.status = "failed"
            report.error = f"unexpected {type(exc).__name__}: {exc}"
        if report.status == "failed":
            with self._write_lock:
                self.store.record_sync(feed.id, error=report.error)
        elif report.changed:
            report.briefed = self.refresh_briefing(feed)
        report.seconds = time.perf_counter() - started
        return report

    def refresh_briefing(self, feed: Feed) -> bool:
        """Rebuild ``feed``'s stored briefing unless it is fresh; True when rebuilt. A failure
        is logged, never raised: the sync is done, and a request rebuilds it."""
        try:
            return self.briefings.refresh(feed)
        except RagError as exc:  # an empty index...
            log.debug("no briefing of feed %s: %s", feed.id, exc)
        except Exception:
            log.exception("the briefing of feed %s failed", feed.id)
        return False

    def refresh_topic_briefings(self) -> int:
        """Rebuild the followed topics' briefings that are stale (each under its lease); how
        many were built. A failure is logged, never raised."""
        try:
            return self.topics.refresh_stale()
        except Exception:  # the state store unreadable...: the next round tries again
            log.exception("the followed topics' briefings could not be refreshed")
            return 0

    def _followed(self, feed: Feed) -> Feed:
        current = self.store.get(feed.id)
        if current is None:
            raise BadInputError("the feed is no longer followed")
        return current

    def _fetch(self, feed: Feed, report: FeedSyncReport) -> _Fetched:
        """The network half of a sync: the feed (conditionally), then the article of each new
        or changed entry; an entry that fails is a named failure in ``report``."""
        import feedparser

        result = self.fetcher.fetch(feed.url, accept=FEED_TYPES | HTML_TYPES, etag=feed.etag,
                                    last_modified=feed.last_modified)
        if result.not_modified:
            return _Fetched(result)
        if result.content_type in HTML_TYPES:
            raise FetchError(feed.url, f"an HTML page ({result.content_type}), not a feed: "
                                       "give the URL of its RSS or Atom feed")
        # content-location: relative links of entries are resolved against the feed's URL.
        parsed = feedparser.parse(io.BytesIO(result.body), response_headers={
            "content-type": result.content_type or "application/xml",
            "content-location": result.url})
        usable = [e for e in parsed.entries if e.get("link") or e.get("content")]
        if parsed.bozo and not usable:
            raise FetchError(feed.url, f"malformed feed: {_parse_error(parsed)}")
        if not parsed.get("version"):
            raise FetchError(feed.url, "not an RSS or Atom feed")
        fetched = _Fetched(result, parsed.feed.get("title") or None)
        report.entries = len(parsed.entries)
        seen = self.store.items(feed.id)
        cutoff = time.time() - feed.keep_days * 86400 if feed.keep_days else None
        for entry in parsed.entries:
            key, fingerprint = _entry_key(entry), _fingerprint(entry)
            before = seen.get(key)
            if before is not None and before.fingerprint == fingerprint and (
                    before.article_id or before.removed):
                report.unchanged += 1
                continue
            if cutoff is not None and _epoch(entry_date(entry)) < cutoff:
                report.too_old += 1  # not fetched: retention would remove it
                continue
            link = entry.get("link") or None
            try:
                article = self._article(entry, link, fetched.title)
            except FetchError as exc:
                report.failures.append(LoadFailure(exc.url, exc.reason))
                continue
            except BadInputError as exc:
                report.failures.append(LoadFailure(link or key, str(exc)))
                continue
            fetched.articles.append((key, fingerprint, link, article))
        return fetched

    def _save(self, feed: Feed, fetched: _Fetched, report: FeedSyncReport) -> None:
        """The writing half of a sync: ingest the articles, record the entries, apply
        retention and record the sync."""
        result = fetched.result
        if result.not_modified:  # the counts of the last sync that read the feed are kept
            report.status = "not modified"
            self._retain(feed, report)
            self.store.record_sync(feed.id, error=None)
            return
        articles = fetched.articles
        if articles:
            ingested = self.system.ingest([a for *_, a in articles])
            report.added, report.updated = ingested.added, ingested.updated
            report.unchanged += ingested.skipped
            report.failures.extend(ingested.failures)
        now = time.time()
        self.store.save_items([Item(feed.id, key, fp, link, a.id, a.published_at, now)
                               for key, fp, link, a in articles])
        self._retain(feed, report)
        self.store.record_sync(feed.id, error=None, counts=report.counts(),
                               title=fetched.title, etag=result.etag,
                               last_modified=result.last_modified, validators=True)

    def _article(self, entry: Any, link: str | None, feed_title: str | None) -> Article:
        if link:
            check_url(link)
        article = article_from_entry(entry, link, feed_title) if link else None
        if article is not None:
            return article
        if not link:
            raise BadInputError("the entry has neither a link nor its full text")
        page = self.fetcher.fetch(link, accept=HTML_TYPES)
        return article_from_page(page, entry_info(entry, feed_title))

    def _retain(self, feed: Feed, report: FeedSyncReport) -> None:
        """Delete this feed's articles older than its ``keep_days`` (by published date, else
        by when they were first seen), unless another feed also brought them in."""
        if not feed.keep_days:
            return
        cutoff = time.time() - feed.keep_days * 86400
        old = [i for i in self.store.items(feed.id).values() if i.article_id and not i.removed
               and (_epoch(i.published_at) if i.published_at else i.seen_at) < cutoff]
        if not old:
            return
        held = self.store.articles_held_by_others(feed.id, [i.article_id or "" for i in old])
        report.removed = self.system.delete(
            sorted({i.article_id for i in old if i.article_id and i.article_id not in held}))
        self.store.mark_removed(feed.id, [i.entry_key for i in old])

    # --- background --------------------------------------------------------------------------
    def start(self, tick_s: float | None = None) -> None:
        """Sync due feeds in a daemon thread every ``tick_s`` seconds (default: the config's
        ``feeds_tick_s``) until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(tick_s or self.tick_s,),
                                        daemon=True, name="feed-sync")
        self._thread.start()

    def _run(self, tick_s: float) -> None:
        while not self._stop.is_set():
            try:
                for report in self.sync(due_only=True):
                    (log.warning if report.status == "failed" else log.info)(report.summary())
                for feed in self.store.feeds():  # the day has turned: a new window
                    self._refresh_stale_briefing(feed)
                self.refresh_topic_briefings()  # the day turned, or the index changed
            except Exception:  # the state store unreadable...: said, then tried again
                log.exception("feed sync failed")
            self._stop.wait(tick_s)

    def _refresh_stale_briefing(self, feed: Feed) -> None:
        """Rebuild ``feed``'s stored briefing if it is stale, under the feed's lease (one
        server rebuilds a shared one; a feed being synced is rebuilt by its sync)."""
        try:
            if not self.briefings.needs_refresh(feed):
                return
        except Exception:
            log.exception("the briefing of feed %s could not be read", feed.id)
            return
        with self.store.lease(feed.id) as current:
            if current is not None:
                self.refresh_briefing(current)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


class CollectionFeeds:
    """The feeds of each collection of ``system``'s index (feeds belong to one): a FeedService
    per collection, made on first use and, with ``background``, syncing in a thread of its own
    from then on (``start`` starts those of every collection that exists), which also keeps
    the collection's followed topics' briefings current. The page and the ``/v1/feeds`` and
    ``/v1/topics`` routes share one, so their syncs of a collection take turns.
    """

    def __init__(self, system: RagSystem, first: FeedService | None = None, *,
                 background: bool = False) -> None:
        self.system = system
        self.background = background
        self._services: dict[str, FeedService] = {}
        self._lock = threading.Lock()
        if first is not None:
            self._services[first.system.collection] = first

    def __call__(self, collection: str) -> FeedService:
        with self._lock:
            service = self._services.get(collection)
            if service is None:
                service = FeedService(self.system.over(collection))
                self._services[collection] = service
                if self.background:
                    service.start()
            return service

    def start(self) -> int:
        """Sync every collection's due feeds in the background; returns how many are followed."""
        self.background = True
        services = [self(name) for name in self.system.collection_names()]
        for service in services:
            service.start()
        return sum(len(service.feeds()) for service in services)

    def forget(self, collection: str) -> None:
        """Stop and drop ``collection``'s service (it is being deleted): no thread is left
        syncing nothing, and one made again under the name gets a service of its own."""
        with self._lock:
            service = self._services.pop(collection, None)
        if service is not None:
            service.stop()

    def stop(self) -> None:
        for service in self._services.values():
            service.stop()


def _parse_error(parsed: Any) -> str:
    """feedparser's complaint, said plainly (line and column when it knows them)."""
    exc = parsed.get("bozo_exception")
    if exc is None:
        return "unreadable"
    if hasattr(exc, "getMessage"):  # an XML syntax error (its line counts a line feedparser
        return f"not well-formed XML ({exc.getMessage()})"  # may add: not shown)
    return str(exc) or type(exc).__name__


def _entry_key(entry: Any) -> str:
    return str(entry.get("id") or entry.get("link") or entry.get("title") or "")


def _fingerprint(entry: Any) -> str:
    """What makes an entry changed: its link, title, dates, summary and content."""
    # dict.get: feedparser's own get() maps a missing "updated" to "published", with a warning.
    parts = [dict.get(entry, k) or "" for k in ("link", "title", "updated", "published",
                                                "summary")]
    parts += [c.get("value") or "" for c in entry.get("content") or []]
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()


def _epoch(iso: str | None) -> float:
    """Epoch seconds of an ISO date or datetime (naive: UTC); +inf when unknown."""
    if not iso:
        return float("inf")
    try:
        parsed = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
