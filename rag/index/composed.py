"""The index the rest of the library uses: an article store joined to a vector index.

A write commits the store first (articles, chunks, vectors and a new generation in one
transaction), then applies the same change to the vector index and saves it as of that
generation, all under the store's write lock. Every read compares the generation its vector index
holds with the store's and reloads first if another process committed, so a running app sees
(and never overwrites) what a concurrent ``rag ingest`` wrote. A reader never waits for the write
lock: when a writer holds it (or the index is read-only) a stale saved vector index is rebuilt
from the store in memory and left for a writer to save.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.articles import Article
from rag.chunking import Chunk
from rag.config import DEFAULT_COLLECTION
from rag.errors import IndexMismatchError
from rag.index.base import ArticleWrite, Hit, IndexStats, SearchFilters, VectorIndex
from rag.index.store import ArticleStore

logger = logging.getLogger(__name__)


class NewsIndex:
    """Articles, chunks and vectors (``store``) searched by vector (``vectors``); what
    ``open_index`` returns for every backend, named by its vector index (``backend``). The
    index of one ``collection``: its hits say so.

    >>> import tempfile, numpy as np
    >>> from rag.articles import Article
    >>> from rag.chunking import Chunk
    >>> from rag.index import open_index
    >>> idx = open_index("faiss", tempfile.mkdtemp(), model="m", dimension=2)
    >>> a = Article(title="T", text="Hello world.")
    >>> idx.write([ArticleWrite(a, [Chunk(a.id, 0, 0, 12, "Hello world.", "T")],
    ...                         np.array([[1.0, 0.0]], dtype="float32"))])
    >>> idx.search(np.array([1.0, 0.0], dtype="float32"), k=1)[0].chunk.text
    'Hello world.'
    >>> idx.backend, idx.verify()
    ('faiss', [])
    """

    def __init__(self, store: ArticleStore, vectors: VectorIndex, *,
                 collection: str = DEFAULT_COLLECTION) -> None:
        self.store = store
        self.vectors = vectors
        self.collection = collection
        self.backend = vectors.backend
        self.model = store.model
        self.dimension = store.dimension
        self._lock = threading.RLock()
        self._loaded = -1  # the store generation the vector index holds
        with self._lock:
            self._load()

    @property
    def folder(self) -> Path | None:
        """The index folder, where derived data (BM25 builds) is kept beside the store; None
        when the store is in a database server."""
        return self.store.folder

    @property
    def read_only(self) -> bool:
        """Opened for reading only: derived data is kept in memory, every write is refused."""
        return self.store.read_only

    def _load(self) -> None:
        """Bring the vector index to the store's generation. One rebuilt from the store (the
        saved one was stale) is saved only if the write lock is free at once: a writer holding
        it saves its own, and a read-only index keeps it in memory."""
        with self.store.try_write_lock() as may_save:
            generation = self.store.generation()  # read before the vectors: never newer
            if self.vectors.load(self.store, generation):
                if may_save:
                    self._save(generation)
                else:
                    logger.log(logging.WARNING if self.read_only else logging.INFO,
                               "index at %s: its vector index was stale and is rebuilt in "
                               "memory, not saved (%s)", self.store.where,
                               "opened read-only" if self.read_only
                               else "its write lock is not free")
            self._loaded = generation

    def _save(self, generation: int) -> None:
        """Save the vector index as of ``generation`` (with the write lock). A disk that cannot
        take it is logged, not raised: the store holds everything, and the next open rebuilds
        the vector index from it."""
        try:
            self.vectors.save(generation)
        except OSError as exc:
            logger.warning("index at %s: the vector index could not be saved (%s); it is "
                           "rebuilt from the store when next opened", self.store.where, exc)

    def _sync(self) -> None:
        """Reload if another process committed since the vector index was loaded (call with
        ``_lock``): a search sees that commit, and a write never saves a stale index."""
        if self.store.generation() != self._loaded:
            self._load()

    # --- writes -------------------------------------------------------------------------------
    def write(self, upserts: list[ArticleWrite], deletes: Iterable[str] = ()) -> None:
        """Add or replace ``upserts`` and delete ``deletes``, all or nothing."""
        for w in upserts:
            if w.vectors.size and w.vectors.shape[1] != self.dimension:
                raise IndexMismatchError(
                    f"vectors of {w.vectors.shape[1]} dims for an index of {self.dimension}")
        replaced = [w.article.id for w in upserts] + list(deletes)
        n_new = sum(len(w.chunks) for w in upserts)
        with self._lock, self.store.write_lock():
            self._sync()
            with self.store.transaction():
                removed = self.store.delete_articles(replaced)
                with self.vectors.writing(n_new):
                    new_ids = self.store.insert(upserts)
                generation = self.store.bump_generation()
            if removed:
                self.vectors.remove(np.array(removed, dtype=np.int64))
            if new_ids:
                matrix = np.vstack([w.vectors for w in upserts if len(w.chunks)])
                self.vectors.add(np.array(new_ids, dtype=np.int64),
                                 matrix.astype(np.float32))
            self._save(generation)
            self._loaded = generation

    # --- search -------------------------------------------------------------------------------
    def search(self, vector: np.ndarray, k: int,
               filters: SearchFilters | None = None) -> list[Hit]:
        """The ``k`` chunks nearest ``vector`` (inner product), within ``filters``."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dimension:
            raise IndexMismatchError(
                f"a query vector of {query.shape[0]} dims for an index of {self.dimension}")
        with self._lock:
            self._sync()
            allowed = None
            if filters:
                allowed = self.store.candidate_ids(filters)
                if not len(allowed):
                    return []
            found = self.vectors.search(query, k, allowed)
            return self.store.hits(found, self.collection)

    # --- the store's reads --------------------------------------------------------------------
    def generation(self) -> int:
        """A number that changes with every committed write (derived data is keyed to it)."""
        return self.store.generation()

    def hits(self, found: list[tuple[int, float]]) -> list[Hit]:
        """Hits for ``(chunk id, score)`` pairs, in that order; unknown ids are left out."""
        return self.store.hits(found, self.collection)

    def all_chunks(self) -> list[tuple[int, Chunk, Article]]:
        return self.store.all_chunks()

    def candidate_ids(self, filters: SearchFilters) -> np.ndarray:
        return self.store.candidate_ids(filters)

    def lead_chunk_ids(self, filters: SearchFilters) -> np.ndarray:
        """The first chunk of each article ``filters`` let through, newest article first."""
        return self.store.lead_chunk_ids(filters)

    def lead_chunks(self, filters: SearchFilters) -> list[tuple[int, str | None]]:
        """``(chunk id, published_at)`` of :meth:`lead_chunk_ids`, in its order."""
        return self.store.lead_chunks(filters)

    def article_hashes(self) -> dict[str, tuple[str, str | None]]:
        return self.store.article_hashes()

    def article_urls(self) -> dict[str, str]:
        return self.store.article_urls()

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        return self.store.cached_vectors(keys)

    def get_article(self, article_id: str) -> Article | None:
        return self.store.get_article(article_id)

    def list_articles(self) -> list[tuple[Article, int]]:
        return self.store.list_articles()

    def chunks_of(self, article_id: str) -> list[Chunk]:
        return self.store.chunks_of(article_id)

    def stats(self) -> IndexStats:
        articles, chunks = self.store.counts()
        return IndexStats(articles, chunks, self.model, self.dimension, self.backend,
                          self.store.size_bytes(), self.store.describe())

    def verify(self) -> list[str]:
        """Problems between the store (the truth) and the vector index in memory and as saved
        (ids that differ, a chunk whose indexed vector is not its stored one), then inside the
        store (a chunk without its article or vector). Empty when consistent."""
        store = self.store
        # With the write lock no writer is between its commit and its saved vector index (nor
        # can be, if read-only).
        with self._lock, contextlib.nullcontext() if store.read_only else store.write_lock():
            self._sync()
            return self.vectors.problems(store) + store.problems()

    def close(self) -> None:
        with self._lock:
            self.store.close()
