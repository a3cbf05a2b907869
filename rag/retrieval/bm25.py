"""BM25 over the index's chunks (bm25s), kept in the index folder and in step with its writes.

Layout next to the index's own files::

    bm25-builds.json   {settings key: {"generation": N, "dir": ..., "settings": {...}}}
    bm25s-KEY-N/       bm25s matrices + docs.json (chunk ids, near-duplicate groups)
    bm25-cache.sqlite  stemmed terms per chunk key and MinHash signature per article

A build is keyed by (the index's generation, the settings that shape it: the near-duplicate
threshold and the build format), so changing a setting or another process's write both mean a
rebuild. The build is made in a fresh folder and published by atomically replacing the pointer
file. Terms and signatures are cached by content, so a rebuild tokenizes only new chunks; bm25s
then re-indexes the term lists (seconds for ~20k chunks), which keeps scores exact (IDF changes
with every article) without a per-query rebuild. Filters are the index's: it narrows a search to
candidate chunk ids, and BM25 scores only those. A read-only index's build is made in memory and
never saved; so is one a full disk cannot take.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.articles import Article
from rag.chunking import Chunk
from rag.dedupe import SIGNATURE_DTYPE, duplicate_groups, same_story, signature
from rag.files import atomic_write, remove_stale_temp_files
from rag.index.base import Hit, SearchFilters
from rag.text import content_terms

POINTER = "bm25-builds.json"
LOCK = "bm25.lock"
CACHE = "bm25-cache.sqlite"
BUILD_FORMAT = 2  # bumped when what a build holds, or how terms are made, changes
CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS terms (key TEXT PRIMARY KEY, terms TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS minhash (article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL,
                                    sig BLOB);
"""
logger = logging.getLogger(__name__)


@dataclass
class _Build:
    generation: int
    model: Any  # bm25s.BM25, or None for an empty index
    chunk_ids: np.ndarray
    groups: dict[str, str] = field(default_factory=dict)


class Bm25Store:
    """Lexical search over the chunks of ``index``, rebuilt only when the index changed.
    """

    def __init__(self, index: Any, dedupe_threshold: float = 0.8) -> None:
        self.index = index
        self.dedupe_threshold = dedupe_threshold
        self.settings = {"dedupe_threshold": float(dedupe_threshold), "format": BUILD_FORMAT}
        self.key = hashlib.sha1(json.dumps(self.settings, sort_keys=True).encode()).hexdigest()[:8]
        folder = getattr(index, "folder", None)  # None: kept in memory only (pgvector)
        self.path = Path(folder) if folder is not None else None
        self.read_only = bool(getattr(index, "read_only", False))  # build, but save nothing
        self._lock = threading.Lock()
        self._build: _Build | None = None
        self.last_build_seconds = 0.0

    # --- keeping in step ----------------------------------------------------------------------
    def sync(self) -> _Build:
        """The build for the index's current generation: loaded, or made now."""
        generation = self.index.generation()
        build = self._build
        if build is not None and build.generation == generation:
            return build
        with self._lock:
            if self._build is None or self._build.generation != generation:
                self._build = self._load(generation) or self._load_or_rebuild(generation)
            return self._build

    def _load_or_rebuild(self, generation: int) -> _Build:
        """Rebuild, one process at a time: one that waited may find the build already made."""
        if self.path is None:
            return self._rebuild(generation)
        if self.read_only:
            logger.warning("index at %s: its BM25 build was stale and is rebuilt in memory, "
                           "not saved (opened read-only)", self.path)
            return self._rebuild(generation)
        from filelock import FileLock

        with FileLock(self.path / LOCK):
            return self._load(generation) or self._rebuild(generation)

    def groups(self) -> dict[str, str]:
        """``{article id: duplicate group id}`` for articles that have near-duplicates."""
        return self.sync().groups

    def _pointers(self) -> dict:
        try:
            pointers = json.loads((self.path / POINTER).read_text())  # type: ignore[operator]
            return pointers if isinstance(pointers, dict) else {}
        except (OSError, ValueError):
            return {}

    def _load(self, generation: int) -> _Build | None:
        """The saved build of ``generation`` under these settings, or None when it is absent,
        of another generation or settings, or unreadable in any way (a derived file: a rebuild
        from the index replaces it)."""
        if self.path is None:
            return None
        try:
            pointer = self._pointers().get(self.key) or {}
            if pointer.get("generation") != generation or pointer.get("settings") != self.settings:
                return None
            folder = self.path / pointer["dir"]
            docs = json.loads((folder / "docs.json").read_text())
            model = None
            if docs["chunk_ids"]:
                import bm25s

                model = bm25s.BM25.load(str(folder))
            build = _build_of(generation, model, docs)
            n_docs = 0 if model is None else int(model.scores["num_docs"])
            if len(build.chunk_ids) != n_docs or not isinstance(docs.get("groups", {}), dict):
                return None
            return build
        except Exception:  # any damage to a derived file means "rebuild"
            return None

    def _rebuild(self, generation: int) -> _Build:
        import time

        started = time.perf_counter()
        rows = self.index.all_chunks()
        articles = {a.id: a for _, _, a in rows}
        try:
            terms, signatures = _terms_and_signatures(self._cache(), rows, articles)
        except sqlite3.OperationalError as exc:  # a full disk: the cache only saves work
            logger.warning("BM25 cache in %s not updated (%s): terms made in memory",
                           self.path, exc)
            terms, signatures = _terms_and_signatures(_memory_cache(), rows, articles)
        docs = {
            "chunk_ids": [cid for cid, _, _ in rows],
            "groups": duplicate_groups(signatures, self.dedupe_threshold,
                                       lambda a, b: _same_story(articles[a], articles[b])),
        }
        model = None
        if rows:
            import bm25s

            model = bm25s.BM25()
            model.index([terms[chunk.key] for _, chunk, _ in rows], show_progress=False)
        try:
            self._save(generation, model, docs)
        except OSError as exc:
            logger.warning("index at %s: the BM25 build could not be saved (%s); it is kept in "
                           "memory and rebuilt when next needed", self.path, exc)
        self.last_build_seconds = time.perf_counter() - started
        return _build_of(generation, model, docs)

    def _save(self, generation: int, model: Any, docs: dict) -> None:
        if self.path is None or self.read_only:
            return
        # Called with the bm25.lock held (one saver across processes), so any temp folder or
        # file present was left by a saver that was killed: removed.
        for stale in self.path.glob("bm25s-*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        remove_stale_temp_files(self.path, [POINTER])
        name = f"bm25s-{self.key}-{generation}"
        tmp = self.path / f"{name}.{os.getpid()}.tmp"
        tmp.mkdir()
        try:
            if model is not None:
                model.save(str(tmp), show_progress=False)
            (tmp / "docs.json").write_text(json.dumps(docs))
            final = self.path / name
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        pointers = self._pointers()
        pointers[self.key] = {"generation": generation, "dir": name, "settings": self.settings}
        atomic_write(self.path / POINTER, lambda p: p.write_text(json.dumps(pointers, indent=1)))
        # Builds of other settings stay (another process may use them) unless they are stale.
        current = self.index.generation()
        live = {p.get("dir") for p in pointers.values()
                if isinstance(p, dict) and p.get("generation") == current}
        for old in self.path.glob("bm25s-*"):
            if old.is_dir() and old.name != name and old.name not in live:
                shutil.rmtree(old, ignore_errors=True)

    def _cache(self) -> sqlite3.Connection:
        """The cache of terms and signatures: the folder's, or for a read-only index an
        in-memory copy of it (its new entries are dropped)."""
        if self.path is None:
            return _memory_cache()
        if self.read_only:
            db = _memory_cache()
            uri = f"{(self.path / CACHE).resolve().as_uri()}?mode=ro"
            with contextlib.suppress(sqlite3.Error), contextlib.closing(
                    sqlite3.connect(uri, uri=True)) as saved:
                saved.backup(db)
            db.executescript(CACHE_SCHEMA)
            return db
        db = sqlite3.connect(self.path / CACHE)
        db.executescript(CACHE_SCHEMA)
        return db

    # --- searching ----------------------------------------------------------------------------
    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query`` by BM25 (only those sharing a term with it)."""
        build = self.sync()
        terms = content_terms(query)
        if build.model is None or not terms:
            return []
        scores = build.model.get_scores(terms)
        if filters:
            allowed = np.isin(build.chunk_ids, self.index.candidate_ids(filters))
            scores = np.where(allowed, scores, 0.0)
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return self.index.hits([(int(build.chunk_ids[i]), float(scores[i])) for i in top])


def _build_of(generation: int, model: Any, docs: dict) -> _Build:
    return _Build(generation, model, np.array(docs["chunk_ids"], dtype=np.int64),
                  dict(docs.get("groups", {})))


def _same_story(a: Article, b: Article) -> bool:
    return same_story(a.title, b.title, min(len(a.text), len(b.text)))


def _memory_cache() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(CACHE_SCHEMA)
    return db


def _terms_and_signatures(db: sqlite3.Connection, rows: list[tuple[int, Chunk, Article]],
                          articles: dict[str, Article],
                          ) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
    """Terms of every chunk and signatures of every article, through the cache ``db``
    (closed after)."""
    try:
        return (_cached_terms(db, [chunk for _, chunk, _ in rows]),
                _cached_signatures(db, list(articles.values())))
    finally:
        db.close()


def _cached_terms(db: sqlite3.Connection, chunks: list[Chunk]) -> dict[str, list[str]]:
    """Stemmed terms of each chunk (title included), tokenizing only chunks not seen before."""
    have = {key: text.split(" ") if text else [] for key, text in db.execute(
        "SELECT key, terms FROM terms")}
    fresh = {}
    for chunk in chunks:
        if chunk.key not in have and chunk.key not in fresh:
            fresh[chunk.key] = content_terms(chunk.embed_text)
    wanted = {c.key for c in chunks}
    with db:
        db.executemany("INSERT OR REPLACE INTO terms VALUES (?, ?)",
                       [(k, " ".join(v)) for k, v in fresh.items()])
        db.executemany("DELETE FROM terms WHERE key=?",
                       [(k,) for k in have if k not in wanted])
    have.update(fresh)
    return have


def _cached_signatures(db: sqlite3.Connection,
                       articles: list[Article]) -> dict[str, np.ndarray]:
    """MinHash signature per article (None-free), computing only new or changed articles."""
    have = {aid: (h, sig) for aid, h, sig in db.execute(
        "SELECT article_id, content_hash, sig FROM minhash")}
    out: dict[str, np.ndarray] = {}
    fresh = []
    for a in articles:
        cached = have.get(a.id)
        if cached is not None and cached[0] == a.content_hash:
            sig = cached[1]
            if sig is not None:
                out[a.id] = np.frombuffer(sig, dtype=SIGNATURE_DTYPE)
            continue
        computed = signature(a.text)
        fresh.append((a.id, a.content_hash, None if computed is None else computed.tobytes()))
        if computed is not None:
            out[a.id] = computed
    ids = {a.id for a in articles}
    with db:
        db.executemany("INSERT OR REPLACE INTO minhash VALUES (?, ?, ?)", fresh)
        db.executemany("DELETE FROM minhash WHERE article_id=?",
                       [(aid,) for aid in have if aid not in ids])
    return out
