"""Per-feed state: which feeds, their schedule and validators (ETag / Last-Modified), last sync
and error, which entry became which article, and each feed's stored briefing; beside them the
collection's followed topics and their stored briefings (``rag.feeds.topics.TopicState``).
Every change is one transaction, so a restart resumes where the last sync left off.

:class:`FeedState` is the interface; :class:`FeedStore` keeps it in its own SQLite file beside
a FAISS index (one machine syncs it), ``rag.feeds.pg_state.PostgresFeedStore`` in the tables of
a pgvector collection's schema, where every server over the database reads and syncs the same
feeds and takes a lease on a feed before syncing it (docs/deploy.md).
``rag.feeds.stores.index_feed_store`` chooses by the index's backend.

>>> import tempfile, pathlib
>>> store = FeedStore(pathlib.Path(tempfile.mkdtemp()) / "feeds.sqlite")
>>> feed = store.add("https://example.com/rss", every_s=1800)
>>> [f.url for f in store.feeds()], feed.every_s
(['https://example.com/rss'], 1800)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rag.briefing.build import ArticleSet
from rag.errors import BadInputError
from rag.feeds.topics import FollowedTopic, TopicState, topic_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    every_s INTEGER NOT NULL,
    keep_days REAL,
    added_at REAL NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_sync_at REAL,
    last_ok_at REAL,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    last_counts TEXT
);
CREATE TABLE IF NOT EXISTS items (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entry_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    link TEXT,
    article_id TEXT,
    published_at TEXT,
    seen_at REAL NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (feed_id, entry_key)
);
CREATE INDEX IF NOT EXISTS items_article ON items(article_id);
CREATE TABLE IF NOT EXISTS topics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    topic_key TEXT NOT NULL UNIQUE,
    since TEXT NOT NULL,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS topic_briefings (
    topic_id INTEGER PRIMARY KEY REFERENCES topics(id) ON DELETE CASCADE,
    built_at TEXT NOT NULL,
    body TEXT NOT NULL
);
"""
# A failing feed is retried sooner than its schedule: 1, 2, 4... minutes, at most its interval.
RETRY_BASE_S = 60
BRIEFINGS_FOLDER = "feed-briefings"  # beside feeds.sqlite: <feed id>.json


# Ids are 64-bit integers in both stores: a larger number names no feed or topic (and would
# overflow SQLite's INTEGER).
MAX_ID = 2**63 - 1


def storable_id(value: str | int) -> int | None:
    """``value`` as a feed or topic id, or None when no store could hold it.

    >>> storable_id("12"), storable_id(0), storable_id("99999999999999999999")
    (12, None, None)
    """
    number = int(value)
    return number if 0 < number <= MAX_ID else None


@dataclass(frozen=True)
class Feed:
    """One followed feed and where its syncing stands."""

    id: int
    url: str
    title: str | None
    every_s: int
    keep_days: float | None
    added_at: float
    etag: str | None = None
    last_modified: str | None = None
    last_sync_at: float | None = None
    last_ok_at: float | None = None
    last_error: str | None = None
    failures: int = 0
    last_counts: str | None = None

    def next_due(self) -> float:
        """When the next sync is due (epoch seconds): at once if never synced; after a
        failure, sooner than the schedule (backing off), so a broken feed is retried."""
        if self.last_sync_at is None:
            return self.added_at
        if self.failures:
            delay = min(self.every_s, RETRY_BASE_S * 2 ** min(self.failures - 1, 10))
            return self.last_sync_at + delay
        return self.last_sync_at + self.every_s

    def status(self) -> str:
        """The last sync in words: its error, or what the last read of the feed found."""
        if self.last_error:
            return "error: " + self.last_error.removeprefix(self.url + ": ")
        if not self.last_counts:
            return "not synced yet"
        c = json.loads(self.last_counts)
        return (f"ok: {c['entries']} entries, added {c['added']}, updated {c['updated']}, "
                f"failed {c['failed']}, removed {c['removed']}")

    def is_due(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.next_due()


@dataclass(frozen=True)
class FeedCoverage:
    """What a followed feed holds at one moment: a ``digest`` of its kept articles (their ids
    and their entries' fingerprints: it changes when one is added, changed or removed), how
    many ``articles``, and the newest (``newest_id``, published ``newest_at``: by
    publication date, else by when it was first seen)."""

    digest: str
    articles: int
    newest_id: str | None = None
    newest_at: str | None = None


@dataclass(frozen=True)
class Item:
    """An entry of a feed, once ingested (or removed by retention)."""

    feed_id: int
    entry_key: str
    fingerprint: str
    link: str | None
    article_id: str | None
    published_at: str | None
    seen_at: float
    removed: bool = False


class FeedState(TopicState, Protocol):
    """Where the feeds of one collection and their items are kept, and its followed topics
    (:class:`rag.feeds.topics.TopicState`). Every method is one transaction. ``shared``:
    several servers read and sync this state (pgvector), so a sync takes the feed's
    :meth:`lease` first; a local store's lease is always granted.

    >>> import tempfile, pathlib
    >>> state: FeedState = FeedStore(pathlib.Path(tempfile.mkdtemp()) / "feeds.sqlite")
    >>> state.shared, state.feeds()
    (False, [])
    """

    shared: bool

    def add(self, url: str, *, every_s: int, keep_days: float | None = None) -> Feed: ...

    def feeds(self) -> list[Feed]: ...

    def get(self, url_or_id: str | int) -> Feed | None: ...

    def remove(self, feed_id: int) -> None: ...

    def record_sync(self, feed_id: int, *, error: str | None, counts: str | None = None,
                    title: str | None = None, etag: str | None = None,
                    last_modified: str | None = None, validators: bool = False) -> None: ...

    def items(self, feed_id: int) -> dict[str, Item]: ...

    def save_items(self, items: list[Item]) -> None: ...

    def article_ids(self, feed_id: int) -> list[str]: ...

    def coverage(self, feed_id: int) -> FeedCoverage: ...

    def mark_removed(self, feed_id: int, entry_keys: list[str]) -> None: ...

    def articles_held_by_others(self, feed_id: int, article_ids: list[str]) -> set[str]: ...

    def lease(self, feed_id: int) -> contextlib.AbstractContextManager[Feed | None]:
        """The feed, held by this process until the block ends (renewed meanwhile), or None
        when another holds it (or it is no longer followed)."""
        ...

    def read_briefing(self, feed_id: int) -> str | None:
        """The feed's stored briefing (JSON text), None when there is none."""
        ...

    def write_briefing(self, feed_id: int, text: str) -> None:
        """Store the feed's briefing whole: a reader sees the old one or the new one."""
        ...

    def forget_briefing(self, feed_id: int) -> None: ...

    def where(self, feed_id: int) -> str:
        """Where the feed's briefing is kept, for messages."""
        ...


class FeedStore:
    """The feeds and their items, in one SQLite file (created on first use), and the feeds'
    stored briefings, one JSON file each in ``feed-briefings/`` beside it; the followed topics
    and their stored briefings in the file's ``topics`` and ``topic_briefings`` tables (a file
    made before them gains them on its next write). One machine syncs it: the leases are
    always granted (the index's write lock keeps two processes' writes apart).

    >>> import tempfile, pathlib
    >>> store = FeedStore(pathlib.Path(tempfile.mkdtemp()) / "feeds.sqlite")
    >>> with store.lease(store.add("https://example.com/rss", every_s=60).id) as feed:
    ...     feed.url
    'https://example.com/rss'
    """

    shared = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextmanager
    def lease(self, feed_id: int) -> Iterator[Feed | None]:
        yield self.get(feed_id)

    # --- stored briefings ----------------------------------------------------------------------
    def briefing_path(self, feed_id: int) -> Path:
        return self.path.parent / BRIEFINGS_FOLDER / f"{int(feed_id)}.json"

    def where(self, feed_id: int) -> str:
        return str(self.briefing_path(feed_id))

    def read_briefing(self, feed_id: int) -> str | None:
        try:
            return self.briefing_path(feed_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_briefing(self, feed_id: int, text: str) -> None:
        write_atomically(self.briefing_path(feed_id), text)

    def forget_briefing(self, feed_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.briefing_path(feed_id).unlink()

    def _ensure(self) -> None:
        """The file and its tables, made on the first write (an index that follows no feed
        gets no feeds.sqlite)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db(create=True) as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction (committed on success); one per call, so threads
        (the scheduler, the page) and processes (`rag feeds sync`) can share the file."""
        if not create and not self.path.exists():
            db = sqlite3.connect(":memory:")
            db.executescript(SCHEMA)  # nothing followed yet: read as empty
        else:
            db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        try:
            with db:
                yield db
        finally:
            db.close()

    # --- feeds -------------------------------------------------------------------------------
    def add(self, url: str, *, every_s: int, keep_days: float | None = None) -> Feed:
        """Follow ``url``; a feed already followed has its schedule and retention updated."""
        if every_s <= 0:
            raise BadInputError(f"the sync interval must be positive, not {every_s} s")
        if keep_days is not None and keep_days <= 0:
            raise BadInputError(f"--keep-days must be greater than 0, not {keep_days}")
        self._ensure()
        with self._db() as db:
            db.execute("INSERT INTO feeds (url, every_s, keep_days, added_at) VALUES (?,?,?,?) "
                       "ON CONFLICT(url) DO UPDATE SET every_s=excluded.every_s, "
                       "keep_days=excluded.keep_days", (url, every_s, keep_days, time.time()))
        feed = self.get(url)
        assert feed is not None
        return feed

    def feeds(self) -> list[Feed]:
        with self._db() as db:
            rows = db.execute(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY id").fetchall()
        return [Feed(*row) for row in rows]

    def get(self, url_or_id: str | int) -> Feed | None:
        """A feed by its URL or its id (as shown by `rag feeds list`)."""
        key = str(url_or_id).strip()
        column = "id" if key.isdigit() else "url"
        if column == "id" and storable_id(key) is None:
            return None
        with self._db() as db:
            row = db.execute(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE {column} = ?",
                             (int(key) if key.isdigit() else key,)).fetchone()
        return Feed(*row) if row else None

    def remove(self, feed_id: int) -> None:
        with self._db() as db:
            db.execute("DELETE FROM items WHERE feed_id = ?", (feed_id,))
            db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))

    def record_sync(self, feed_id: int, *, error: str | None, counts: str | None = None,
                    title: str | None = None, etag: str | None = None,
                    last_modified: str | None = None, validators: bool = False) -> None:
        """The outcome of a sync attempt: ``error`` None on success. ``validators``: store
        ``etag`` and ``last_modified`` (a fresh 200 answer) for the next conditional request."""
        now = time.time()
        with self._db() as db:
            if error is None:
                db.execute("UPDATE feeds SET last_sync_at=?, last_ok_at=?, last_error=NULL, "
                           "failures=0, last_counts=COALESCE(?, last_counts), "
                           "title=COALESCE(?, title) WHERE id=?",
                           (now, now, counts, title, feed_id))
                if validators:
                    db.execute("UPDATE feeds SET etag=?, last_modified=? WHERE id=?",
                               (etag, last_modified, feed_id))
            else:
                db.execute("UPDATE feeds SET last_sync_at=?, last_error=?, "
                           "failures=failures+1 WHERE id=?", (now, error, feed_id))

    # --- items -------------------------------------------------------------------------------
    def items(self, feed_id: int) -> dict[str, Item]:
        with self._db() as db:
            rows = db.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE feed_id = ?",
                              (feed_id,)).fetchall()
        return {row[1]: Item(*row[:7], removed=bool(row[7])) for row in rows}

    def save_items(self, items: list[Item]) -> None:
        with self._db() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO items ({_ITEM_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                [(i.feed_id, i.entry_key, i.fingerprint, i.link, i.article_id, i.published_at,
                  i.seen_at, int(i.removed)) for i in items])

    def article_ids(self, feed_id: int) -> list[str]:
        """The articles a feed brought in and still keeps (a briefing of the feed reads
        them), each once."""
        with self._db() as db:
            rows = db.execute("SELECT DISTINCT article_id FROM items WHERE feed_id = ? AND "
                              "removed = 0 AND article_id IS NOT NULL ORDER BY article_id",
                              (feed_id,)).fetchall()
        return [row[0] for row in rows]

    def coverage(self, feed_id: int) -> FeedCoverage:
        """The feed's kept articles now, as a digest (what a stored briefing of the feed was
        built from: ``rag.feeds.briefs``)."""
        with self._db() as db:
            rows = db.execute("SELECT article_id, fingerprint, published_at, seen_at FROM items "
                              "WHERE feed_id = ? AND removed = 0 AND article_id IS NOT NULL "
                              "ORDER BY article_id, fingerprint", (feed_id,)).fetchall()
        return coverage_of(rows)

    def mark_removed(self, feed_id: int, entry_keys: list[str]) -> None:
        with self._db() as db:
            db.executemany("UPDATE items SET removed=1 WHERE feed_id=? AND entry_key=?",
                           [(feed_id, key) for key in entry_keys])

    def articles_held_by_others(self, feed_id: int, article_ids: list[str]) -> set[str]:
        """Those of ``article_ids`` that another feed also brought in (and still keeps)."""
        if not article_ids:
            return set()
        marks = ",".join("?" * len(article_ids))
        with self._db() as db:
            rows = db.execute(f"SELECT DISTINCT article_id FROM items WHERE feed_id != ? AND "
                              f"removed = 0 AND article_id IN ({marks})",
                              (feed_id, *article_ids)).fetchall()
        return {row[0] for row in rows}


    # --- followed topics (rag.feeds.topics) ----------------------------------------------------
    def follow_topic(self, topic: str, *, since: str) -> FollowedTopic:
        self._ensure()
        with self._db() as db:  # an update first: a topic followed again uses no new id
            if not db.execute("UPDATE topics SET topic=?, since=? WHERE topic_key=?",
                              (topic, since, topic_key(topic))).rowcount:
                db.execute("INSERT INTO topics (topic, topic_key, since, added_at) "
                           "VALUES (?,?,?,?)", (topic, topic_key(topic), since, time.time()))
        found = self.find_topic(topic)
        assert found is not None
        return found

    def topics(self) -> list[FollowedTopic]:
        return self._topic_rows("", ())

    def get_topic(self, topic_id: int) -> FollowedTopic | None:
        if storable_id(topic_id) is None:
            return None
        found = self._topic_rows("WHERE t.id = ?", (int(topic_id),))
        return found[0] if found else None

    def find_topic(self, topic: str) -> FollowedTopic | None:
        found = self._topic_rows("WHERE t.topic_key = ?", (topic_key(topic),))
        return found[0] if found else None

    def _topic_rows(self, where: str, args: tuple) -> list[FollowedTopic]:
        with self._db() as db:
            if not _has_table(db, "topics"):  # a file made before topics: none followed
                return []
            rows = db.execute(f"SELECT {TOPIC_ROW} FROM topics t LEFT JOIN topic_briefings b "
                              f"ON b.topic_id = t.id {where} ORDER BY t.id", args).fetchall()
        return [FollowedTopic(*row) for row in rows]

    def unfollow_topic(self, topic_id: int) -> None:
        with self._db() as db:
            if _has_table(db, "topics"):
                db.execute("DELETE FROM topic_briefings WHERE topic_id = ?", (topic_id,))
                db.execute("DELETE FROM topics WHERE id = ?", (topic_id,))

    @contextmanager
    def topic_lease(self, topic_id: int) -> Iterator[FollowedTopic | None]:
        yield self.get_topic(topic_id)

    def read_topic_briefing(self, topic_id: int) -> str | None:
        with self._db() as db:
            if not _has_table(db, "topic_briefings"):
                return None
            row = db.execute("SELECT body FROM topic_briefings WHERE topic_id = ?",
                             (topic_id,)).fetchone()
        return row[0] if row else None

    def write_topic_briefing(self, topic_id: int, text: str, *, built_at: str) -> None:
        self._ensure()
        with self._db() as db:
            db.execute("INSERT INTO topic_briefings (topic_id, built_at, body) SELECT ?, ?, ? "
                       "WHERE EXISTS (SELECT 1 FROM topics WHERE id = ?) "
                       "ON CONFLICT(topic_id) DO UPDATE SET built_at=excluded.built_at, "
                       "body=excluded.body", (topic_id, built_at, text, topic_id))


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (name,)).fetchone() is not None


# A followed topic with when its stored briefing was built (t: topics, b: topic_briefings).
TOPIC_ROW = "t.id, t.topic, t.since, t.added_at, b.built_at"
_FEED_COLUMNS = ("id, url, title, every_s, keep_days, added_at, etag, last_modified, "
                 "last_sync_at, last_ok_at, last_error, failures, last_counts")
_ITEM_COLUMNS = ("feed_id, entry_key, fingerprint, link, article_id, published_at, seen_at, "
                 "removed")


def state_path(index_backend: str, index_dir: str | Path, feeds_dir: str = "") -> Path:
    """Where the feed state of an index lives: ``feeds.sqlite`` in ``feeds_dir`` when set,
    else in the index folder (FAISS). A pgvector index keeps its feeds in its schema
    (``rag.feeds.stores.index_feed_store``); this is where its state was kept before, per
    machine, in ``~/.local/state/news-rag/feeds/<index name>/`` (or RAG_FEEDS_DIR), imported
    from there once.

    >>> state_path("faiss", "idx").as_posix()
    'idx/feeds.sqlite'
    """
    if feeds_dir:
        return Path(feeds_dir).expanduser() / "feeds.sqlite"
    if index_backend == "pgvector":
        name = Path(index_dir).name or "default"
        return Path.home() / ".local" / "state" / "news-rag" / "feeds" / name / "feeds.sqlite"
    return Path(index_dir) / "feeds.sqlite"


def feed_articles(store: FeedState, feed: str | int) -> ArticleSet:
    """The articles a followed feed (its id or URL) brought in and keeps, for its briefing
    (``RagSystem.brief(articles=...)``); an unknown feed is a BadInputError naming it.

    >>> import tempfile, pathlib
    >>> store = FeedStore(pathlib.Path(tempfile.mkdtemp()) / "feeds.sqlite")
    >>> feed_articles(store, store.add("https://example.com/rss", every_s=1800).id)
    ArticleSet(name='1', article_ids=())
    """
    found = followed_feed(store, feed)
    return ArticleSet(str(found.id), tuple(store.article_ids(found.id)))


def followed_feed(store: FeedState, feed: str | int) -> Feed:
    """The followed feed ``feed`` (its id or URL); an unknown one is a BadInputError naming
    it."""
    found = store.get(feed)
    if found is None:
        raise BadInputError(f"no followed feed {feed!r}: `rag feeds list` shows them")
    return found


def coverage_of(rows: list[tuple]) -> FeedCoverage:
    """The coverage of a feed's kept items, as (article_id, fingerprint, published_at, seen_at)
    rows ordered by article id and fingerprint (every store computes it so).

    >>> coverage_of([]).articles
    0
    """
    digest = hashlib.sha1("\n".join(f"{a}\x1f{f}" for a, f, *_ in rows).encode())
    newest = max(rows, key=lambda r: (r[2] or "", r[3]), default=None)
    return FeedCoverage(digest.hexdigest(), len({r[0] for r in rows}),
                        newest[0] if newest else None, newest[2] if newest else None)


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` whole: written to a temporary file beside it, flushed to disk,
    then renamed over it (``os.replace``), so readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
