"""The article store: articles, chunks, their vectors and a generation, in SQL.

One implementation, two databases. Every query below is written once; what SQLite and PostgreSQL
do differently (placeholders, the schema, the transaction and its lock, where vectors live, bulk
inserts) is in the two small subclasses at the end of this file.

Plain SQL rather than SQLAlchemy Core: the queries are few and portable as written, and the two
places that differ most (PostgreSQL's binary ``COPY`` of pgvector values, SQLite's
``BEGIN IMMEDIATE`` under a file lock) are below SQLAlchemy's abstraction anyway.

Readers never take the write lock: SQLite's WAL lets them read while a writer writes, and a
store opened read-only (``read_only=True``, or a folder that cannot be written) reads through a
connection that cannot write. Writers wait at most ``lock_timeout_s`` for the lock; a busy, full
or read-only store raises a named ``IndexWriteError`` and its transaction is rolled back.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.articles import Article
from rag.chunking import Chunk
from rag.config import DEFAULT_COLLECTION
from rag.errors import (
    BadInputError,
    DiskFullError,
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexReadOnlyError,
    IndexWriteError,
    RagError,
)
from rag.index.base import ArticleWrite, Hit, SearchFilters

FORMAT_VERSION = 1
ARTICLE_COLUMNS = ("id", "title", "text", "source", "url", "published_at", "author", "origin")
BATCH = 500  # ids per IN (...) list: within SQLite's variable limit on every version
LOCK_TIMEOUT_S = 60.0  # how long a writer waits for another's write lock (Config.lock_timeout_s)
STORE = "store.sqlite"  # the SQLite store in an index folder
LOCK = "write.lock"  # its writers' lock, held until the folder's derived files are saved
DSN_ENV = "RAG_PG_DSN"  # the PostgreSQL connection string, when none is given
logger = logging.getLogger(__name__)


def _columns(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + c for c in ARTICLE_COLUMNS)


HIT_COLUMNS = f'c.id, c.ordinal, c.start, c."end", {_columns("a")}'


class ArticleStore:
    """Articles and their chunks with one vector each, written in transactions; a generation
    number that every commit increments; filters that narrow a search to candidate chunk ids.

    Subclasses say how to talk to their database; this class holds every query.
    """

    backend = ""
    where = ""  # the store's location, for messages and stats
    read_only = False  # opened for reading only: every write raises IndexReadOnlyError

    def __init__(self, db: Any, model: str, dimension: int) -> None:
        self._db = db
        self.model = model
        self.dimension = int(dimension)
        # Guards the connection; a vector index searching the store's own tables takes it too.
        self.lock = threading.RLock()

    # --- what a subclass provides -----------------------------------------------------------
    PARAM = "?"
    PREFIX = ""  # a schema, with its dot
    TITLE_ORDER = "a.title"
    VECTOR_BY_KEY = ""  # (key, vector) rows for keys in {marks}
    VECTOR_BY_CHUNK = ""  # (chunk id, vector) rows in chunk id order

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """All statements inside commit together, one writer at a time, or not at all."""
        raise NotImplementedError

    def write_lock(self) -> contextlib.AbstractContextManager[Any]:
        """Held by a writer from its commit until every derived file is saved (none needed when
        the transaction itself serializes writers and nothing is derived outside it)."""
        return contextlib.nullcontext()

    def try_write_lock(self) -> contextlib.AbstractContextManager[bool]:
        """The write lock if it is free at once (True inside), else nothing (False): for saving
        derived files, which a reader leaves to a writer rather than wait for one."""
        return contextlib.nullcontext(not self.read_only)

    def _insert(self, upserts: list[ArticleWrite]) -> list[int]:
        """Insert articles, chunks and vectors; the new chunk ids in the order of the chunks."""
        raise NotImplementedError

    def _delete_orphan_vectors(self, keys: list[str]) -> None:
        """Drop cached vectors of ``keys`` no chunk uses any more."""

    def _decode(self, vector: Any) -> np.ndarray:
        raise NotImplementedError

    def size_bytes(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def describe(self) -> dict[str, str]:
        """Where the store is, for stats: ``path`` at least."""
        return {"path": self.where}

    @property
    def folder(self) -> Path | None:
        """The folder the store is in, where derived data is kept beside it; None when the
        store is in a database server."""
        return None

    def problems(self) -> list[str]:
        """What is inconsistent inside the store (empty when nothing is)."""
        orphans = self.orphan_chunks()
        return [f"{orphans} chunk(s) without their article"] if orphans else []

    # --- SQL, written once ------------------------------------------------------------------
    def _sql(self, template: str) -> str:
        return template.replace("{p}", self.PREFIX).replace("?", self.PARAM)

    def _rows(self, template: str, args: Sequence = ()) -> list[tuple]:
        with self.lock:
            cursor = self._db.execute(self._sql(template), tuple(args))
            return cursor.fetchall() if cursor.description is not None else []

    def _batched(self, template: str, items: Sequence, extra: Sequence = ()) -> Iterator[tuple]:
        """Rows of ``template`` (with ``{marks}`` for an IN list) over ``items`` in batches."""
        items = list(items)
        for i in range(0, len(items), BATCH):
            batch = items[i:i + BATCH]
            yield from self._rows(template.replace("{marks}", ",".join("?" * len(batch))),
                                  [*batch, *extra])

    def meta(self) -> dict[str, str]:
        return dict(self._rows("SELECT key, value FROM {p}meta"))

    def _check_identity(self, name: str) -> None:
        """Record model and dimension in a new store; refuse a store built with others."""
        meta = self.meta()
        if "model" not in meta:
            for key, value in (("model", self.model), ("dimension", str(self.dimension)),
                               ("format", str(FORMAT_VERSION)), ("generation", "0")):
                self._rows("INSERT INTO {p}meta VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                           (key, value))
            return
        if meta["model"] != self.model or int(meta.get("dimension") or 0) != self.dimension:
            raise IndexMismatchError(
                f"index {name} was built with model {meta['model']!r} "
                f"({meta.get('dimension')} dims), not {self.model!r} ({self.dimension} dims): "
                "use that model, or another index")

    def generation(self) -> int:
        """A number that changes with every committed write (derived data is keyed to it)."""
        row = self._rows("SELECT value FROM {p}meta WHERE key='generation'")
        return int(row[0][0]) if row else 0

    # --- writes (inside ``transaction()``) -------------------------------------------------
    def delete_articles(self, article_ids: Iterable[str]) -> list[int]:
        """Delete articles with their chunks; returns the removed chunk ids."""
        ids = sorted(set(article_ids))
        rows = list(self._batched("SELECT id, key FROM {p}chunks WHERE article_id IN ({marks})",
                                  ids))
        for i in range(0, len(ids), BATCH):
            batch = ids[i:i + BATCH]
            marks = ",".join("?" * len(batch))
            self._rows(f"DELETE FROM {{p}}chunks WHERE article_id IN ({marks})", batch)
            self._rows(f"DELETE FROM {{p}}articles WHERE id IN ({marks})", batch)
        self._delete_orphan_vectors(sorted({key for _, key in rows}))
        return [int(chunk_id) for chunk_id, _ in rows]

    def insert(self, upserts: list[ArticleWrite]) -> list[int]:
        """Insert new articles (delete old versions first); their chunk ids, in chunk order."""
        for w in upserts:
            if w.vectors.size and w.vectors.shape[1] != self.dimension:
                raise IndexMismatchError(
                    f"vectors of {w.vectors.shape[1]} dims for an index of {self.dimension}")
        return self._insert(upserts) if upserts else []

    def bump_generation(self) -> int:
        generation = self.generation() + 1
        self._rows("UPDATE {p}meta SET value=? WHERE key='generation'", (str(generation),))
        return generation

    # --- filters ------------------------------------------------------------------------------
    def candidate_ids(self, f: SearchFilters) -> np.ndarray:
        """The chunk ids a search under ``f`` may return (sorted)."""
        return self._filtered_chunks(f)

    def lead_chunk_ids(self, f: SearchFilters) -> np.ndarray:
        """The first chunk of each article ``f`` lets through (a briefing reads the articles
        of a window, one report each), newest article first; undated articles only when ``f``
        names no dates."""
        return np.array([i for i, _ in self.lead_chunks(f)], dtype=np.int64)

    def lead_chunks(self, f: SearchFilters) -> list[tuple[int, str | None]]:
        """``(chunk id, published_at)`` of :meth:`lead_chunk_ids`, in its order (the leads of
        several collections merge by date)."""
        return [(int(i), day) for i, day in self._filtered_rows(
            f, "c.id, a.published_at", "c.ordinal = 0", "a.published_at DESC NULLS LAST, c.id")]

    def _filtered_chunks(self, f: SearchFilters) -> np.ndarray:
        return np.array([r[0] for r in self._filtered_rows(f, "c.id")], dtype=np.int64)

    def _filtered_rows(self, f: SearchFilters, columns: str, extra: str = "",
                       order: str = "c.id") -> list[tuple]:
        where, args = ["1=1", *([extra] if extra else [])], []
        for column, values in (("a.source", f.sources), ("a.id", f.article_ids)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if f.date_from:
            where.append("substr(a.published_at, 1, 10) >= ?")
            args.append(f.date_from[:10])
        if f.date_to:
            where.append("substr(a.published_at, 1, 10) <= ?")
            args.append(f.date_to[:10])
        return self._rows(f"SELECT {columns} FROM {{p}}chunks c JOIN {{p}}articles a "
                          f"ON a.id=c.article_id WHERE {' AND '.join(where)} ORDER BY {order}",
                          args)

    # --- reads --------------------------------------------------------------------------------
    def hits(self, found: list[tuple[int, float]],
             collection: str = DEFAULT_COLLECTION) -> list[Hit]:
        """Hits for ``(chunk id, score)`` pairs, in that order, of the index of ``collection``;
        unknown ids are left out."""
        rows = self._batched(f"SELECT {HIT_COLUMNS} FROM {{p}}chunks c JOIN {{p}}articles a "
                             "ON a.id=c.article_id WHERE c.id IN ({marks})",
                             [int(i) for i, _ in found])
        by_id = {int(r[0]): r for r in rows}
        articles: dict[str, Article] = {}  # several chunks of one article share one Article
        hits = []
        for chunk_id, score in found:
            row = by_id.get(int(chunk_id))
            if row is None:
                continue
            article = articles.get(row[4]) or articles.setdefault(row[4], _article(row[4:12]))
            start, end = row[2], row[3]
            chunk = Chunk(article.id, row[1], start, end, article.text[start:end], article.title)
            hits.append(Hit(chunk, article, float(score), collection=collection))
        return hits

    def all_chunks(self) -> list[tuple[int, Chunk, Article]]:
        """Every chunk as (chunk id, chunk, article), in id order, from one snapshot."""
        with self.lock, self.snapshot():
            articles = {r[0]: _article(r) for r in self._rows(
                f"SELECT {_columns()} FROM {{p}}articles")}
            rows = self._rows('SELECT id, article_id, ordinal, start, "end" FROM {p}chunks '
                              "ORDER BY id")
        out = []
        for chunk_id, article_id, ordinal, start, end in rows:
            a = articles[article_id]
            out.append((int(chunk_id),
                        Chunk(a.id, ordinal, start, end, a.text[start:end], a.title), a))
        return out

    def snapshot(self) -> contextlib.AbstractContextManager[None]:
        """Reads inside see one committed state."""
        return self.transaction()

    def chunk_ids(self) -> np.ndarray:
        return np.array([r[0] for r in self._rows("SELECT id FROM {p}chunks ORDER BY id")],
                        dtype=np.int64)

    def chunk_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, their vectors) in id order: what a vector index is rebuilt from."""
        rows = self._rows(self.VECTOR_BY_CHUNK)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = (np.vstack([self._decode(r[1]) for r in rows]) if rows
                   else np.zeros((0, self.dimension), dtype=np.float32))
        return ids, vectors

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Vectors already stored for these chunk keys (so no text is embedded twice)."""
        return {key: self._decode(v) for key, v in self._batched(self.VECTOR_BY_KEY, keys)}

    def article_hashes(self) -> dict[str, tuple[str, str | None]]:
        """{article id: (content hash, origin)} for everything stored."""
        return {r[0]: (r[1], r[2])
                for r in self._rows("SELECT id, content_hash, origin FROM {p}articles")}

    def article_urls(self) -> dict[str, str]:
        """{url: article id} for every article that has a url."""
        return dict(self._rows("SELECT url, id FROM {p}articles WHERE url IS NOT NULL"))

    def get_article(self, article_id: str) -> Article | None:
        rows = self._rows(f"SELECT {_columns()} FROM {{p}}articles WHERE id=?", (article_id,))
        return _article(rows[0]) if rows else None

    def list_articles(self) -> list[tuple[Article, int]]:
        """Every article with its chunk count, newest first (undated last), then by title."""
        rows = self._rows(
            f"SELECT {_columns('a')}, (SELECT COUNT(*) FROM {{p}}chunks c "
            "WHERE c.article_id=a.id) FROM {p}articles a "
            f"ORDER BY a.published_at DESC NULLS LAST, {self.TITLE_ORDER}")
        return [(_article(r[:8]), int(r[8])) for r in rows]

    def chunks_of(self, article_id: str) -> list[Chunk]:
        article = self.get_article(article_id)
        if article is None:
            return []
        rows = self._rows('SELECT ordinal, start, "end" FROM {p}chunks WHERE article_id=? '
                          "ORDER BY ordinal", (article_id,))
        return [Chunk(article.id, o, s, e, article.text[s:e], article.title) for o, s, e in rows]

    def counts(self) -> tuple[int, int]:
        """(articles, chunks)."""
        (articles, chunks), = self._rows("SELECT (SELECT COUNT(*) FROM {p}articles), "
                                         "(SELECT COUNT(*) FROM {p}chunks)")
        return int(articles), int(chunks)

    def orphan_chunks(self) -> int:
        """Chunks whose article is missing (0 in a consistent store)."""
        return int(self._rows("SELECT COUNT(*) FROM {p}chunks WHERE article_id NOT IN "
                              "(SELECT id FROM {p}articles)")[0][0])


def _busy_error(name: str, waited_s: float) -> IndexBusyError:
    return IndexBusyError(
        f"{name} is busy: another process kept writing to it for over {waited_s:g} s, so "
        "nothing was written; try again when it has finished, or wait longer with "
        "RAG_LOCK_TIMEOUT_S")


def _disk_full_error(name: str) -> DiskFullError:
    return DiskFullError(
        f"no disk space left for the {name}: the write was rolled back, so the index keeps "
        "its last committed state; free some space and run the command again")


def _article(row: Sequence) -> Article:
    id_, title, text, source, url, published_at, author, origin = row
    return Article.stored(title=title, text=text, id=id_, source=source, url=url,
                          published_at=published_at, author=author, origin=origin)


def _article_row(a: Article) -> tuple:
    return (a.id, a.title, a.text, a.source, a.url, a.published_at, a.author, a.origin,
            a.content_hash)


# --- the two databases ------------------------------------------------------------------------
SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, source TEXT, url TEXT,
    published_at TEXT, author TEXT, origin TEXT, content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE INDEX IF NOT EXISTS articles_origin ON articles(origin);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id),
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE INDEX IF NOT EXISTS chunks_key ON chunks(key);
CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL);
"""


class SqliteStore(ArticleStore):
    """The store in one SQLite file (WAL). Vectors are cached by chunk key in their own table, so
    identical text in two articles is stored once. Writers hold ``lock_path`` (a file lock) from
    their transaction until the derived files next to the store are saved, waiting at most
    ``lock_timeout_s`` for it; opening and reading never wait for it.

    ``read_only`` (also when the folder cannot be written: a read-only mount) reads through a
    ``mode=ro`` connection, ``immutable`` when a read-only mount leaves no room for the WAL's
    shared-memory file, and refuses every write by name."""

    backend = "sqlite"
    VECTOR_BY_KEY = "SELECT key, vector FROM vectors WHERE key IN ({marks})"
    VECTOR_BY_CHUNK = ("SELECT c.id, v.vector FROM chunks c JOIN vectors v ON v.key=c.key "
                       "ORDER BY c.id")

    def __init__(self, path: str | Path, model: str, dimension: int,
                 lock_path: str | Path | None = None, *, read_only: bool = False,
                 lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
        from filelock import FileLock

        self.path = Path(path)
        self.where = str(self.path.parent)
        self.lock_timeout_s = float(lock_timeout_s)
        self.read_only = read_only or not _writable(self.path)
        if self.read_only and not read_only:
            if not self.path.exists():
                raise IndexReadOnlyError(f"no index at {self.where}, and none can be created "
                                         "there: the folder cannot be written")
            logger.info("index at %s: its folder cannot be written, so it is opened read-only",
                        self.where)
        self.file_lock = FileLock(lock_path or self.path.with_name("write.lock"))
        with self._named_errors():
            db = self._connect()
        super().__init__(db, model, dimension)
        try:
            with self._named_errors():
                self._open()
        except BaseException:
            db.close()  # a refused or broken store leaves no open connection behind
            raise

    @classmethod
    def in_folder(cls, folder: str | Path, model: str, dimension: int, *,
                  derived: Sequence[str] = (), create: bool = True, read_only: bool = False,
                  lock_timeout_s: float = LOCK_TIMEOUT_S) -> SqliteStore:
        """The store of the index folder ``folder`` (``store.sqlite``, its writers locked by
        ``write.lock``), the folder made if need be: see :func:`check_index_folder` for the
        errors, and ``derived`` for the files a vector index keeps beside the store.

        >>> import tempfile
        >>> SqliteStore.in_folder(tempfile.mkdtemp(), model="m", dimension=2).counts()
        (0, 0)
        """
        path = check_index_folder(folder, derived=derived, create=create and not read_only)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IndexWriteError(f"cannot create the index folder {path} "
                                  f"({exc.strerror}): choose another --index") from None
        try:
            return cls(path / STORE, model, dimension, path / LOCK, read_only=read_only,
                       lock_timeout_s=lock_timeout_s)
        except sqlite3.DatabaseError as exc:
            raise IndexDamagedError(
                f"index at {path} is damaged: {STORE} is not a readable SQLite database "
                f"({exc}); restore it, or ingest into a new --index folder") from None

    @property
    def folder(self) -> Path:
        """The folder the store is in (an index folder: derived files are kept beside it)."""
        return self.path.parent

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return self._connection(str(self.path), False, "PRAGMA journal_mode=WAL",
                                    "PRAGMA synchronous=FULL")
        uri, check = self.path.resolve().as_uri(), "SELECT COUNT(*) FROM sqlite_master"
        try:
            return self._connection(f"{uri}?mode=ro", True, check)
        except sqlite3.OperationalError:  # a read-only mount without the WAL's -shm file
            logger.info("index at %s: read as immutable (a read-only mount)", self.where)
            return self._connection(f"{uri}?mode=ro&immutable=1", True, check)

    def _connection(self, target: str, uri: bool, *statements: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, uri=uri, check_same_thread=False, isolation_level=None,
                             timeout=self.lock_timeout_s)
        try:
            for statement in statements:
                db.execute(statement).fetchall()
        except BaseException:
            db.close()
            raise
        return db

    def _open(self) -> None:
        """Check the model and dimension the store was built with. Only a new store waits for
        the write lock (to record them); an existing one is read, and gets any table a newer
        version added only if the lock is free at once."""
        if self._identity_recorded():
            self._check_identity(f"at {self.where}")
            with self.try_write_lock() as locked:
                if locked:
                    self._db.executescript(SQLITE_SCHEMA)
            return
        with self.write_lock():
            self._db.executescript(SQLITE_SCHEMA)
            with self.transaction():
                self._check_identity(f"at {self.where}")

    def _identity_recorded(self) -> bool:
        tables = self._rows("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'")
        return bool(tables) and "model" in self.meta()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock, self._named_errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already (disk full)
                    self._db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        with self.lock:  # a deferred read transaction: one WAL snapshot, no write lock
            self._db.execute("BEGIN")
            try:
                yield
            finally:
                self._db.execute("COMMIT")

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        from filelock import Timeout

        if self.read_only:
            raise IndexReadOnlyError(self._read_only_message())
        try:
            self.file_lock.acquire(timeout=self.lock_timeout_s)
        except Timeout:
            raise _busy_error(f"index at {self.where}", self.lock_timeout_s) from None
        except OSError as exc:  # the lock file cannot be made: a read-only mount, a directory
            raise IndexReadOnlyError(
                f"{self._read_only_message()} (its lock file {self.file_lock.lock_file}: "
                f"{exc.strerror})") from None
        try:
            yield
        finally:
            self.file_lock.release()

    @contextlib.contextmanager
    def try_write_lock(self) -> Iterator[bool]:
        from filelock import Timeout

        locked = False
        if not self.read_only:
            with contextlib.suppress(Timeout, OSError):
                self.file_lock.acquire(timeout=0)
                locked = True
        try:
            yield locked
        finally:
            if locked:
                self.file_lock.release()

    @contextlib.contextmanager
    def _named_errors(self) -> Iterator[None]:
        """SQLite's full, busy and read-only errors as the named errors that say what to do."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary result code
            if code == sqlite3.SQLITE_FULL:
                raise _disk_full_error(f"index at {self.where}") from None
            if code == sqlite3.SQLITE_BUSY:
                raise _busy_error(f"index at {self.where}", self.lock_timeout_s) from None
            if code == sqlite3.SQLITE_READONLY:
                raise IndexReadOnlyError(self._read_only_message()) from None
            raise

    def _read_only_message(self) -> str:
        return (f"index at {self.where} is read-only (opened read-only, or its folder cannot "
                "be written): nothing was written; to change it, use a writable copy of the "
                "folder")

    def _insert(self, upserts: list[ArticleWrite]) -> list[int]:
        ids = []
        for w in upserts:
            self._db.execute(f"INSERT INTO articles ({_columns()}, content_hash) "
                             "VALUES (?,?,?,?,?,?,?,?,?)", _article_row(w.article))
            for chunk, vector in zip(w.chunks, w.vectors, strict=True):
                cur = self._db.execute(
                    'INSERT INTO chunks (article_id, ordinal, start, "end", key) '
                    "VALUES (?,?,?,?,?)",
                    (w.article.id, chunk.ordinal, chunk.start, chunk.end, chunk.key))
                ids.append(int(cur.lastrowid or 0))
                self._db.execute("INSERT OR IGNORE INTO vectors VALUES (?, ?)",
                                 (chunk.key, np.asarray(vector, dtype=np.float32).tobytes()))
        return ids

    def _delete_orphan_vectors(self, keys: list[str]) -> None:
        for i in range(0, len(keys), BATCH):
            batch = keys[i:i + BATCH]
            self._db.execute(f"DELETE FROM vectors WHERE key IN ({','.join('?' * len(batch))}) "
                             "AND key NOT IN (SELECT key FROM chunks)", batch)

    def _decode(self, vector: Any) -> np.ndarray:
        return np.frombuffer(vector, dtype=np.float32)

    def unvectored_chunks(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM chunks WHERE key NOT IN "
                              "(SELECT key FROM vectors)")[0][0])

    def problems(self) -> list[str]:
        """Chunks without their article, and chunks without a cached vector."""
        unvectored = self.unvectored_chunks()
        return super().problems() + (
            [f"{unvectored} chunk(s) without a vector"] if unvectored else [])

    def size_bytes(self) -> int:
        folder = self.path.parent
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def check_index_folder(path: str | Path, *, derived: Sequence[str] = (),
                       create: bool = True) -> Path:
    """``path`` as an index folder, or a named error: a file, a typo (``create=False``), or a
    folder whose ``store.sqlite`` is gone while files ``derived`` from it are there (they are
    never overwritten).

    >>> import tempfile
    >>> check_index_folder(Path(tempfile.mkdtemp()) / "typo", create=False)
    Traceback (most recent call last):
    ...
    rag.errors.IndexNotFoundError: no index at ...
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BadInputError(f"index path {path} is a file, not an index folder")
    if (path / STORE).exists():
        _check_sqlite_file(path)
        return path
    if any((path / name).exists() for name in derived):
        raise IndexDamagedError(
            f"index at {path} is damaged: {STORE} (its articles) is missing; the other files "
            f"are left untouched. Restore {STORE}, or ingest into a new --index folder")
    if not create:
        raise IndexNotFoundError(
            f"no index at {path}: check --index, or build one with `rag ingest FILES --index "
            f"{path}`")
    return path


def _check_sqlite_file(folder: Path) -> None:
    """Refuse a ``store.sqlite`` in ``folder`` that is not a file or has no SQLite header."""
    if not (folder / STORE).is_file():
        raise IndexDamagedError(f"index at {folder} is damaged: {STORE} is not a file")
    with open(folder / STORE, "rb") as fh:
        header = fh.read(16)
    if header and header != b"SQLite format 3\x00":
        raise IndexDamagedError(
            f"index at {folder} is damaged: {STORE} is not a readable SQLite database "
            "(no SQLite header); restore it, or ingest into a new --index folder")


def _writable(path: Path) -> bool:
    """Whether the store at ``path`` (and its folder, for the WAL files) can be written: not on
    a read-only mount (which even root cannot write), nor denied to this user."""
    folder_ok = os.access(path.parent, os.W_OK) if path.parent.exists() else True
    return folder_ok and (not path.exists() or os.access(path, os.W_OK))


POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.articles (
    id text PRIMARY KEY, title text NOT NULL, text text NOT NULL, source text, url text,
    published_at text, author text, origin text, content_hash text NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_url ON {s}.articles (url);
CREATE INDEX IF NOT EXISTS articles_origin ON {s}.articles (origin);
CREATE INDEX IF NOT EXISTS articles_source ON {s}.articles (source);
CREATE TABLE IF NOT EXISTS {s}.chunks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id text NOT NULL REFERENCES {s}.articles (id) ON DELETE CASCADE,
    ordinal integer NOT NULL, start integer NOT NULL, "end" integer NOT NULL, key text NOT NULL,
    embedding vector({dim}) NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON {s}.chunks (article_id);
CREATE INDEX IF NOT EXISTS chunks_key ON {s}.chunks (key);
"""


def schema_for(name: str | Path) -> str:
    """The Postgres schema of the index called ``name``: readable, and distinct per name.

    >>> schema_for("news")
    'rag_news'
    >>> schema_for(".rag-index")
    'rag_rag_index_267de49f'
    """
    name = str(name)
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if slug != name or len(slug) > 40:
        slug = f"{slug[-40:].strip('_')}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return f"rag_{slug.strip('_')}"


def describe_dsn(dsn: str) -> str:
    """``host:port/dbname`` of a connection string, without user or password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(dsn)
    except Exception:  # a malformed DSN: say so without echoing it (it may hold a password)
        return "(unparsable connection string)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class PostgresStore(ArticleStore):
    """The store in one PostgreSQL schema (pgvector's ``vector`` type). Each chunk row carries
    its vector, which a pgvector index can search in place. Writers are serialized by an
    advisory lock taken inside their transaction; readers see every commit at once.

    One index is one schema, named from the index name (:func:`schema_for`), so several indexes
    live in one database: ``meta`` (model, dimension, format, generation, name), ``articles``
    and ``chunks`` (one row per chunk with its ``vector(dimension)``).
    """

    backend = "postgres"
    PARAM = "%s"
    TITLE_ORDER = 'a.title COLLATE "C"'  # SQLite's order: byte-wise
    VECTOR_BY_KEY = "SELECT key, embedding FROM {p}chunks WHERE key IN ({marks})"
    VECTOR_BY_CHUNK = "SELECT id, embedding FROM {p}chunks ORDER BY id"

    def __init__(self, db: Any, schema: str, model: str, dimension: int, name: str,
                 where: str, lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
        from pgvector.psycopg import register_vector
        from psycopg import sql

        super().__init__(db, model, dimension)
        self.name, self.schema, self.where = name, schema, where
        self.lock_timeout_s = float(lock_timeout_s)
        self.PREFIX = f'"{schema}".'
        self._s = sql.Identifier(schema)
        register_vector(db)
        with self.transaction():
            db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {s}").format(s=self._s))
            db.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {s}.meta "
                               "(key text PRIMARY KEY, value text NOT NULL)").format(s=self._s))
            self._check_identity(f"{name!r} (schema {schema} at {self.where})")
            if "name" not in self.meta():
                self._rows("INSERT INTO {p}meta VALUES ('name', ?)", (name,))
            db.execute(sql.SQL(POSTGRES_SCHEMA).format(s=self._s, dim=sql.Literal(dimension)))

    @classmethod
    def connect(cls, name: str, model: str, dimension: int, *, dsn: str | None = None,
                lock_timeout_s: float = LOCK_TIMEOUT_S) -> PostgresStore:
        """The store of the index ``name`` in the database at ``dsn`` (default ``$RAG_PG_DSN``),
        its schema and the pgvector extension made if need be; named errors for a missing
        connection string, an unreachable server or a missing extension (never the password).
        """
        db, where = _pg_connect(dsn)
        try:
            _ensure_extension(db, where)
            return cls(db, schema_for(name), model, dimension, name, where, lock_timeout_s)
        except BaseException:
            db.close()
            raise

    def describe(self) -> dict[str, str]:
        return {"path": f"{self.where} schema {self.schema}", "database": self.where,
                "schema": self.schema}

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        from psycopg import errors

        name = f"index {self.schema} at {self.where}"
        try:
            with self.lock, self._db.transaction():
                # At least 1 ms: PostgreSQL reads a lock_timeout of 0 as "wait forever".
                self._db.execute("SELECT set_config('lock_timeout', %s, true)",
                                 (f"{max(1, round(self.lock_timeout_s * 1000))}ms",))
                self._db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
                yield
        except errors.LockNotAvailable:
            raise _busy_error(name, self.lock_timeout_s) from None
        except errors.DiskFull:
            raise _disk_full_error(name) from None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        with self.lock, self._db.transaction():
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield

    def _insert(self, upserts: list[ArticleWrite]) -> list[int]:
        from psycopg import sql

        cur = self._db.cursor()
        with cur.copy(sql.SQL(f"COPY {{s}}.articles ({_columns()}, content_hash) "
                              "FROM STDIN").format(s=self._s)) as copy:
            for w in upserts:
                copy.write_row(_article_row(w.article))
        with cur.copy(sql.SQL('COPY {s}.chunks (article_id, ordinal, start, "end", key, '
                              "embedding) FROM STDIN WITH (FORMAT BINARY)").format(
                                  s=self._s)) as copy:
            copy.set_types(["text", "int4", "int4", "int4", "text", "vector"])
            for w in upserts:
                for chunk, vector in zip(w.chunks, w.vectors, strict=True):
                    copy.write_row((w.article.id, chunk.ordinal, chunk.start, chunk.end,
                                    chunk.key, np.asarray(vector, dtype=np.float32)))
        ids = {(aid, o): int(i) for aid, o, i in self._rows(
            "SELECT article_id, ordinal, id FROM {p}chunks WHERE article_id = ANY(?)",
            ([w.article.id for w in upserts],))}
        return [ids[(w.article.id, c.ordinal)] for w in upserts for c in w.chunks]

    def _decode(self, vector: Any) -> np.ndarray:
        # pgvector-python 0.5 reads `pgvector.Vector`, older ones numpy
        to_numpy = getattr(vector, "to_numpy", None)
        return np.asarray(to_numpy() if to_numpy else vector, dtype=np.float32)

    def size_bytes(self) -> int:
        return int(self._rows(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ? AND c.relkind = 'r'", (self.schema,))[0][0])

    @property
    def connection(self) -> Any:
        """The psycopg connection (take ``lock`` to use it): a pgvector index searches the
        store's chunk table through it, inside the store's transactions."""
        return self._db

    def drop(self) -> None:
        """Delete the schema and everything in it."""
        from psycopg import sql

        with self.lock:
            self._db.execute(sql.SQL("DROP SCHEMA IF EXISTS {s} CASCADE").format(s=self._s))


def _pg_connect(dsn: str | None) -> tuple[Any, str]:
    """An autocommit connection to ``dsn`` (default ``$RAG_PG_DSN``) and where it is
    (``host:port/dbname``); named errors for a missing connection string or an unreachable
    server (never the password)."""
    import psycopg

    dsn = dsn or os.environ.get(DSN_ENV)
    if not dsn:
        raise RagError(f"the pgvector backend needs a PostgreSQL connection string: set "
                       f"{DSN_ENV} (e.g. postgresql://user@127.0.0.1:5432/dbname)")
    where = describe_dsn(dsn)
    try:
        return psycopg.connect(dsn, autocommit=True), where
    except psycopg.OperationalError as exc:
        raise RagError(f"cannot connect to PostgreSQL at {where}: "
                       f"{str(exc).strip().splitlines()[-1]}") from None


def postgres_index_names(dsn: str | None = None, *, prefix: str = "") -> list[str]:
    """The names of the indexes in the database at ``dsn`` (each schema's recorded name) that
    start with ``prefix``, sorted; a schema that is no index is left out."""
    from psycopg import sql

    db, _ = _pg_connect(dsn)
    try:
        schemas = [r[0] for r in db.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE n.nspname LIKE %s AND c.relname = 'meta' AND c.relkind = 'r'",
            ("rag\\_%",))]
        names = []
        for schema in schemas:
            row = db.execute(sql.SQL("SELECT value FROM {s}.meta WHERE key = 'name'").format(
                s=sql.Identifier(schema))).fetchone()
            if row and row[0].startswith(prefix) and schema_for(row[0]) == schema:
                names.append(row[0])
        return sorted(names)
    finally:
        db.close()


def drop_postgres_index(name: str, dsn: str | None = None, *,
                        lock_timeout_s: float = LOCK_TIMEOUT_S) -> bool:
    """Drop the index ``name`` (its schema and everything in it) in one transaction, after its
    writers (their advisory lock, at most ``lock_timeout_s``); False when there was none."""
    from psycopg import errors, sql

    db, where = _pg_connect(dsn)
    schema = schema_for(name)
    try:
        with db.transaction():
            db.execute("SELECT set_config('lock_timeout', %s, true)",
                       (f"{max(1, round(lock_timeout_s * 1000))}ms",))
            if not db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                              (schema,)).fetchone():
                return False
            db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
            db.execute(sql.SQL("DROP SCHEMA {s} CASCADE").format(s=sql.Identifier(schema)))
        return True
    except errors.LockNotAvailable:
        raise _busy_error(f"index {schema} at {where}", lock_timeout_s) from None
    finally:
        db.close()


def _ensure_extension(db: Any, where: str) -> None:
    import psycopg

    if db.execute("SELECT 1 FROM pg_extension WHERE extname='vector'").fetchone():
        return
    try:
        db.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise RagError(f"the pgvector extension is not installed in {where} and cannot "
                       f"be created by this user ({exc.sqlstate}): run CREATE EXTENSION "
                       "vector as a superuser") from None
