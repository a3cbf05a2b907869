"""The default backend: FAISS for vectors, SQLite for articles, chunks and vector cache.

Layout of the index folder::

    store.sqlite    articles, chunks, vectors (the source of truth; transactional)
    vectors.faiss   FAISS index over chunk ids (derived; rebuilt from SQLite if stale)
    manifest.json   model, dimension, backend, generation, library versions

No pickle anywhere. A write commits SQLite first, then replaces the FAISS file atomically and then
the manifest; a crash in between leaves a generation mismatch, and the next open rebuilds the FAISS
file from the vectors in SQLite, so the last committed state always loads.

Several processes may share one folder (the app and `rag ingest`, two ingests): writes hold a
cross-process lock (``write.lock``) from the SQLite commit to the manifest, temp files are unique
per writer, and a process whose in-memory FAISS index is older than SQLite's generation reloads it
before it searches or writes, so it never saves a stale index over another process's commit.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from filelock import FileLock

from rag.articles import Article
from rag.chunking import Chunk
from rag.errors import BadInputError, IndexDamagedError, IndexMismatchError, IndexNotFoundError
from rag.index.base import ArticleWrite, Hit, IndexStats, SearchFilters

FORMAT_VERSION = 1
# From this many chunks on, a rebuild trains an IVF index (approximate: it scans IVF_NPROBE of
# its lists) instead of the exact flat one: at 100k chunks bench/scale.py measured ~150x lower
# latency for recall@10 0.994 (docs/pgvector.md). IVF, unlike HNSW, can remove ids, so
# writes stay incremental.
APPROX_MIN_CHUNKS = 100_000
IVF_NPROBE = 16
# Up to this many chunks an opened flat FAISS file is checked vector by vector against SQLite
# (~0.1 s per 30k chunks); larger indexes are checked by ids only.
CHECK_VECTORS_MAX = 200_000
SCHEMA = """
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
ARTICLE_COLUMNS = "id, title, text, source, url, published_at, author, origin"
STORE = "store.sqlite"
DERIVED = ("vectors.faiss", "manifest.json")
LOCK = "write.lock"


def check_index_folder(path: str | Path, *, create: bool = True) -> Path:
    """``path`` as an index folder, or a named error: a file, a typo (``create=False``), or a
    folder whose ``store.sqlite`` is gone (its derived files are never overwritten).

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
        if not (path / STORE).is_file():
            raise IndexDamagedError(f"index at {path} is damaged: {STORE} is not a file")
        with open(path / STORE, "rb") as fh:
            header = fh.read(16)
        if header and header != b"SQLite format 3\x00":
            raise IndexDamagedError(
                f"index at {path} is damaged: {STORE} is not a readable SQLite database "
                "(no SQLite header); restore it, or ingest into a new --index folder")
        return path
    if any((path / name).exists() for name in DERIVED):
        raise IndexDamagedError(
            f"index at {path} is damaged: {STORE} (its articles) is missing; the other files "
            f"are left untouched. Restore {STORE}, or ingest into a new --index folder")
    if not create:
        raise IndexNotFoundError(
            f"no index at {path}: check --index, or build one with `rag ingest FILES --index "
            f"{path}`")
    return path


class FaissIndex:
    """Articles, chunks and vectors in a folder; exact inner-product search with FAISS.

    >>> import tempfile, numpy as np
    >>> from rag.articles import Article
    >>> from rag.chunking import Chunk
    >>> from rag.index.base import ArticleWrite
    >>> idx = FaissIndex(tempfile.mkdtemp(), model="m", dimension=2)
    >>> a = Article(title="T", text="Hello world.")
    >>> idx.write([ArticleWrite(a, [Chunk(a.id, 0, 0, 12, "Hello world.", "T")],
    ...                         np.array([[1.0, 0.0]], dtype="float32"))])
    >>> idx.search(np.array([1.0, 0.0], dtype="float32"), k=1)[0].chunk.text
    'Hello world.'
    """

    backend = "faiss"

    def __init__(self, path: str | Path, model: str, dimension: int, *,
                 create: bool = True) -> None:
        import faiss

        self._faiss = faiss
        self.path = check_index_folder(path, create=create)
        self.path.mkdir(parents=True, exist_ok=True)
        self.model = model
        self.dimension = int(dimension)
        self._lock = threading.RLock()
        # Held by every writer from its SQLite commit to its manifest, across processes.
        self.file_lock = FileLock(self.path / LOCK)
        self._loaded_generation = -1  # the generation the in-memory FAISS index holds
        try:
            self._db = sqlite3.connect(self.path / STORE, check_same_thread=False,
                                       isolation_level=None, timeout=60)
        except sqlite3.Error as exc:
            raise IndexDamagedError(f"cannot open {self.path / STORE}: {exc}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self.file_lock:
                self._db.executescript(SCHEMA)
                self._check_identity()
                self._index = self._load_or_rebuild_faiss()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexDamagedError(
                f"index at {self.path} is damaged: {STORE} is not a readable SQLite database "
                f"({exc}); restore it, or ingest into a new --index folder") from None
        except BaseException:
            self._db.close()  # a refused or broken index leaves no open connection behind
            raise

    # --- identity and persistence -------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _check_identity(self) -> None:
        stored_model, stored_dim = self._meta("model"), self._meta("dimension")
        if stored_model is None:
            with self._transaction():
                for key, value in (("model", self.model), ("dimension", str(self.dimension)),
                                   ("format", str(FORMAT_VERSION)), ("generation", "0")):
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            return
        if stored_model != self.model or int(stored_dim or 0) != self.dimension:
            raise IndexMismatchError(
                f"index at {self.path} was built with model {stored_model!r} "
                f"({stored_dim} dims), not {self.model!r} ({self.dimension} dims): use that "
                "model, or another --index folder"
            )

    def _generation(self) -> int:
        return int(self._meta("generation") or 0)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _load_or_rebuild_faiss(self):  # type: ignore[no-untyped-def]
        """The FAISS index of SQLite's current generation; call with ``file_lock`` held."""
        generation = self._generation()
        faiss_path, manifest = self.path / "vectors.faiss", self._read_manifest()
        if faiss_path.exists() and manifest.get("generation") == generation:
            index = self._read_faiss(faiss_path)
            if index is not None:
                self._loaded_generation = generation
                return index
        index = self._rebuild_faiss()
        self._persist_faiss(index)
        self._loaded_generation = generation
        return index

    def _sync(self) -> None:
        """Reload the FAISS index if another process committed since it was loaded (call with
        ``_lock`` held): a search sees that commit, and a write never saves a stale index."""
        if self._generation() == self._loaded_generation:
            return
        with self.file_lock:  # a writer in another process finishes its files first
            self._index = self._load_or_rebuild_faiss()

    def _rebuild_faiss(self):  # type: ignore[no-untyped-def]
        rows = self._db.execute(
            "SELECT chunks.id, vectors.vector FROM chunks JOIN vectors ON vectors.key=chunks.key"
        ).fetchall()
        if not rows:
            return self._new_faiss()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        index = (ivf_index(vecs, self.dimension) if len(rows) >= APPROX_MIN_CHUNKS
                 else self._new_faiss())
        index.add_with_ids(vecs, ids)
        return index

    def _read_faiss(self, path: Path):  # type: ignore[no-untyped-def]
        """The FAISS file if it loads and holds exactly the chunk ids in SQLite, else None."""
        try:
            index = self._faiss.read_index(str(path))
        except RuntimeError:  # truncated or corrupt: SQLite has everything to rebuild it
            return None
        ids = _faiss_ids(index)
        if index.d != self.dimension or ids is None:
            return None
        ids = np.sort(ids)
        ivf = self._faiss.try_extract_index_ivf(index)
        if ivf is not None:
            ivf.nprobe = IVF_NPROBE  # the setting in force now, not the one at training
        stored = np.fromiter((r[0] for r in self._db.execute("SELECT id FROM chunks ORDER BY id")),
                             dtype=np.int64)
        if not np.array_equal(ids, stored):
            return None
        if hasattr(index, "id_map") and len(stored) <= CHECK_VECTORS_MAX:
            # Right ids can still hold wrong vectors: before issue 17's fix a process could save
            # a stale index over another's commit, a reused chunk id keeping a deleted vector.
            rows = self._db.execute("SELECT c.id, v.vector FROM chunks c JOIN vectors v "
                                    "ON v.key=c.key").fetchall()
            if _compare(index, rows, self._faiss):
                return None
        return index

    def _new_faiss(self):  # type: ignore[no-untyped-def]
        return self._faiss.IndexIDMap2(self._faiss.IndexFlatIP(self.dimension))

    def _read_manifest(self) -> dict:
        try:
            return json.loads((self.path / "manifest.json").read_text())
        except (OSError, ValueError):
            return {}

    def _persist_faiss(self, index) -> None:  # type: ignore[no-untyped-def]
        _atomic_write(self.path / "vectors.faiss",
                      lambda tmp: self._faiss.write_index(index, str(tmp)))
        manifest = {
            "format": FORMAT_VERSION, "backend": self.backend, "model": self.model,
            "dimension": self.dimension, "generation": self._generation(),
            "versions": _versions(),
        }
        _atomic_write(self.path / "manifest.json",
                      lambda tmp: tmp.write_text(json.dumps(manifest, indent=2)))

    # --- writes ---------------------------------------------------------------------------
    def write(self, upserts: list[ArticleWrite], deletes: Iterable[str] = ()) -> None:
        for w in upserts:
            if w.vectors.size and w.vectors.shape[1] != self.dimension:
                raise IndexMismatchError(
                    f"vectors of {w.vectors.shape[1]} dims for an index of {self.dimension}")
        replaced = [w.article.id for w in upserts] + list(deletes)
        with self._lock, self.file_lock:
            self._sync()
            _remove_stale_temp_files(self.path, DERIVED)
            new_ids: list[int] = []
            with self._transaction():
                removed = self._delete_rows(replaced)
                for w in upserts:
                    new_ids.extend(self._insert(w))
                gen = self._generation() + 1
                self._db.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
            if removed:
                self._index.remove_ids(np.array(removed, dtype=np.int64))
            if new_ids:
                vecs = np.vstack([w.vectors for w in upserts if len(w.chunks)])
                self._index.add_with_ids(vecs.astype(np.float32),
                                         np.array(new_ids, dtype=np.int64))
            if self._index.ntotal >= APPROX_MIN_CHUNKS and hasattr(self._index, "id_map"):
                self._index = self._rebuild_faiss()  # now big enough for IVF: trained once
            self._persist_faiss(self._index)
            self._loaded_generation = gen

    def _delete_rows(self, article_ids: list[str]) -> list[int]:
        if not article_ids:
            return []
        removed: list[int] = []
        keys: set[str] = set()
        for batch in _batches(article_ids, 500):
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT id, key FROM chunks WHERE article_id IN ({marks})", batch).fetchall()
            removed.extend(r[0] for r in rows)
            keys.update(r[1] for r in rows)
            self._db.execute(f"DELETE FROM chunks WHERE article_id IN ({marks})", batch)
            self._db.execute(f"DELETE FROM articles WHERE id IN ({marks})", batch)
        for batch in _batches(sorted(keys), 500):
            marks = ",".join("?" * len(batch))
            self._db.execute(
                f"DELETE FROM vectors WHERE key IN ({marks}) "
                "AND key NOT IN (SELECT key FROM chunks)", batch)
        return removed

    def _insert(self, w: ArticleWrite) -> list[int]:
        a = w.article
        self._db.execute(
            f"INSERT INTO articles ({ARTICLE_COLUMNS}, content_hash) VALUES (?,?,?,?,?,?,?,?,?)",
            (a.id, a.title, a.text, a.source, a.url, a.published_at, a.author, a.origin,
             a.content_hash))
        ids = []
        for chunk, vector in zip(w.chunks, w.vectors, strict=True):
            cur = self._db.execute(
                'INSERT INTO chunks (article_id, ordinal, start, "end", key) VALUES (?,?,?,?,?)',
                (a.id, chunk.ordinal, chunk.start, chunk.end, chunk.key))
            ids.append(int(cur.lastrowid or 0))
            self._db.execute("INSERT OR IGNORE INTO vectors VALUES (?, ?)",
                             (chunk.key, np.asarray(vector, dtype=np.float32).tobytes()))
        return ids

    # --- reads ----------------------------------------------------------------------------
    def search(self, vector: np.ndarray, k: int,
               filters: SearchFilters | None = None) -> list[Hit]:
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        with self._lock:
            self._sync()
            if self._index.ntotal == 0:
                return []
            params = None
            if filters:
                allowed = self._allowed_chunk_ids(filters)
                if not allowed:
                    return []
                sel = self._faiss.IDSelectorBatch(np.array(allowed, dtype=np.int64))
                ivf = self._faiss.try_extract_index_ivf(self._index)
                # IVF scans every list when filtered: exact over the allowed chunks.
                params = (self._faiss.SearchParametersIVF(sel=sel, nprobe=ivf.nlist) if ivf
                          else self._faiss.SearchParameters(sel=sel))
            k = min(k, self._index.ntotal)
            scores, ids = self._index.search(query, k, params=params)
            found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True)
                     if i >= 0]
            return self._hits(found)

    def _allowed_chunk_ids(self, f: SearchFilters) -> list[int]:
        where, args = ["1=1"], []
        if f.sources:
            where.append(f"a.source IN ({','.join('?' * len(f.sources))})")
            args.extend(f.sources)
        if f.article_ids:
            where.append(f"a.id IN ({','.join('?' * len(f.article_ids))})")
            args.extend(f.article_ids)
        if f.date_from:
            where.append("substr(a.published_at, 1, 10) >= ?")
            args.append(f.date_from[:10])
        if f.date_to:
            where.append("substr(a.published_at, 1, 10) <= ?")
            args.append(f.date_to[:10])
        sql = ("SELECT c.id FROM chunks c JOIN articles a ON a.id=c.article_id "
               f"WHERE {' AND '.join(where)}")
        return [r[0] for r in self._db.execute(sql, args)]

    def generation(self) -> int:
        """A number that changes with every committed write (derived files are keyed to it)."""
        with self._lock:
            return self._generation()

    def all_chunks(self) -> list[tuple[int, Chunk, Article]]:
        """Every chunk with its id (as ``hits`` takes it) and its article, in id order."""
        with self._lock:
            articles = {r[0]: _article(r) for r in self._db.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles")}
            rows = self._db.execute(
                'SELECT id, article_id, ordinal, start, "end" FROM chunks ORDER BY id').fetchall()
        out = []
        for chunk_id, article_id, ordinal, start, end in rows:
            a = articles[article_id]
            out.append((chunk_id, Chunk(a.id, ordinal, start, end, a.text[start:end], a.title), a))
        return out

    def hits(self, found: list[tuple[int, float]]) -> list[Hit]:
        """Hits for ``(chunk id, score)`` pairs, in that order; unknown ids are left out."""
        with self._lock:
            return self._hits(found)

    def _hits(self, found: list[tuple[int, float]]) -> list[Hit]:
        if not found:
            return []
        marks = ",".join("?" * len(found))
        rows = self._db.execute(
            f'SELECT c.id, c.ordinal, c.start, c."end", {_prefixed("a")} FROM chunks c '
            f"JOIN articles a ON a.id=c.article_id WHERE c.id IN ({marks})",
            [i for i, _ in found]).fetchall()
        by_id = {r[0]: r for r in rows}
        articles: dict[str, Article] = {}  # several chunks of one article share one Article
        hits = []
        for chunk_id, score in found:
            row = by_id.get(chunk_id)
            if row is None:
                continue
            article = articles.get(row[4]) or articles.setdefault(row[4], _article(row[4:]))
            start, end = row[2], row[3]
            chunk = Chunk(article.id, row[1], start, end, article.text[start:end], article.title)
            hits.append(Hit(chunk, article, score))
        return hits

    def article_hashes(self) -> dict[str, tuple[str, str | None]]:
        with self._lock:
            rows = self._db.execute("SELECT id, content_hash, origin FROM articles").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def article_urls(self) -> dict[str, str]:
        """{url: article id} for every article that has a url."""
        with self._lock:
            rows = self._db.execute("SELECT url, id FROM articles WHERE url IS NOT NULL")
            return dict(rows.fetchall())

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for batch in _batches(keys, 500):
                marks = ",".join("?" * len(batch))
                for key, blob in self._db.execute(
                        f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch):
                    out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def get_article(self, article_id: str) -> Article | None:
        with self._lock:
            row = self._db.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id=?",
                                   (article_id,)).fetchone()
        return _article(row) if row else None

    def list_articles(self) -> list[tuple[Article, int]]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_prefixed('a')}, (SELECT COUNT(*) FROM chunks c WHERE c.article_id=a.id) "
                "FROM articles a ORDER BY a.published_at DESC, a.title").fetchall()
        return [(_article(r[:8]), r[8]) for r in rows]

    def chunks_of(self, article_id: str) -> list[Chunk]:
        article = self.get_article(article_id)
        if article is None:
            return []
        with self._lock:
            rows = self._db.execute(
                'SELECT ordinal, start, "end" FROM chunks WHERE article_id=? ORDER BY ordinal',
                (article_id,)).fetchall()
        return [Chunk(article.id, o, s, e, article.text[s:e], article.title) for o, s, e in rows]

    def stats(self) -> IndexStats:
        with self._lock:
            n_articles = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            n_chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        size = sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())
        return IndexStats(n_articles, n_chunks, self.model, self.dimension, self.backend, size,
                          {"path": str(self.path)})

    def verify(self) -> list[str]:
        """Problems between SQLite (the truth) and the FAISS index in memory and on disk: ids
        that differ, a chunk whose FAISS vector is not its stored one, a chunk without its
        article or vector. Empty when consistent.

        >>> import tempfile
        >>> FaissIndex(tempfile.mkdtemp(), model="m", dimension=2).verify()
        []
        """
        problems: list[str] = []
        with self._lock:
            self._sync()
            db = self._db
            orphans = db.execute("SELECT COUNT(*) FROM chunks WHERE article_id NOT IN "
                                 "(SELECT id FROM articles)").fetchone()[0]
            unvectored = db.execute("SELECT COUNT(*) FROM chunks WHERE key NOT IN "
                                    "(SELECT key FROM vectors)").fetchone()[0]
            rows = db.execute("SELECT c.id, v.vector FROM chunks c JOIN vectors v "
                              "ON v.key=c.key ORDER BY c.id").fetchall()
            on_disk = (self._faiss.read_index(str(self.path / "vectors.faiss"))
                       if (self.path / "vectors.faiss").exists() else None)
            manifest = self._read_manifest()
            generation = self._generation()
            for name, index in (("memory", self._index), ("disk", on_disk)):
                if index is None:
                    problems.append(f"{name}: no FAISS index")
                    continue
                problems.extend(f"{name}: {p}" for p in _compare(index, rows, self._faiss))
        if orphans:
            problems.append(f"{orphans} chunk(s) without their article")
        if unvectored:
            problems.append(f"{unvectored} chunk(s) without a vector")
        if manifest.get("generation") != generation:
            problems.append(f"manifest generation {manifest.get('generation')} is not "
                            f"SQLite's {generation}")
        return problems

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def ivf_index(vecs: np.ndarray, dimension: int):  # type: ignore[no-untyped-def]
    """An empty IVF index (4·sqrt(n) lists, at most n/39) trained on a sample of ``vecs``."""
    import faiss

    n = len(vecs)
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist,
                               faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, min(n, 64 * nlist), replace=False)
    index.train(np.ascontiguousarray(vecs[np.sort(sample)]))
    index.nprobe = IVF_NPROBE
    return index


def _faiss_ids(index) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """The chunk ids held by a flat (IDMap2) or IVF index; None for any other kind."""
    import faiss

    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map)
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return None
    lists = ivf.invlists
    parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
             for i in range(lists.nlist) if lists.list_size(i)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _compare(index, rows: list[tuple[int, bytes]], faiss) -> list[str]:  # type: ignore[no-untyped-def]
    """How a FAISS index differs from SQLite's ``(chunk id, vector)`` rows."""
    ids = _faiss_ids(index)
    stored = np.array([r[0] for r in rows], dtype=np.int64)
    if ids is None or not np.array_equal(np.sort(ids), stored):
        return [f"chunk ids differ from SQLite ({0 if ids is None else len(ids)} vs "
                f"{len(stored)})"]
    if not hasattr(index, "id_map"):
        return []  # IVF: ids checked; its vectors are not reconstructable by id
    if not rows:
        return []
    where = {int(cid): pos for pos, cid in enumerate(faiss.vector_to_array(index.id_map))}
    held = index.index.reconstruct_n(0, index.ntotal)[[where[cid] for cid, _ in rows]]
    stored_vecs = np.vstack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
    off = np.abs(held - stored_vecs).max(axis=1) > 1e-5
    wrong = [cid for (cid, _), bad in zip(rows, off, strict=True) if bad]
    return [f"chunk {cid}: FAISS holds another vector than SQLite" for cid in wrong[:5]] + (
        [f"... {len(wrong) - 5} more"] if len(wrong) > 5 else [])


def _article(row: tuple) -> Article:
    id_, title, text, source, url, published_at, author, origin = row
    return Article.stored(title=title, text=text, id=id_, source=source, url=url,
                          published_at=published_at, author=author, origin=origin)


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in ARTICLE_COLUMNS.split(","))


def _batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temp file unique to this writer, then rename it into place."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_stale_temp_files(folder: Path, names: Iterable[str]) -> None:
    """Delete temp files of ``names`` left by a writer that was killed; call with the lock
    that every writer of those files holds (so none of them is being written now)."""
    for name in names:
        for tmp in folder.glob(f"{name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("news-rag", "faiss-cpu", "sentence-transformers"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out
