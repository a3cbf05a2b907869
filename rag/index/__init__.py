"""Index backends, chosen by name; imports are lazy so unused backends cost nothing.

An index is an article store (``rag.index.store``: SQLite or PostgreSQL, one SQL implementation)
joined to a vector index (FAISS flat/IVF/HNSW or pgvector HNSW) by ``rag.index.composed``:
``open_index`` picks the pair by the backend's name and returns their ``NewsIndex``.
See docs/index.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import get_args

from rag.config import DEFAULT_COLLECTION, IndexBackendName
from rag.errors import BadInputError
from rag.index.base import (
    ArticleWrite,
    FlatIndex,
    Hit,
    HNSWIndex,
    IndexStats,
    IVFIndex,
    SearchFilters,
    VectorIndex,
    VectorParams,
)
from rag.index.composed import NewsIndex
from rag.index.store import LOCK_TIMEOUT_S, ArticleStore, PostgresStore, SqliteStore

BACKENDS: tuple[str, ...] = get_args(IndexBackendName)


def open_index(backend: str, path: str | Path, model: str, dimension: int, *,
               params: VectorParams | None = None, create: bool = True,
               dsn: str | None = None, read_only: bool = False,
               lock_timeout_s: float = LOCK_TIMEOUT_S,
               collection: str = DEFAULT_COLLECTION) -> NewsIndex:
    """Open (or, when ``create``, create) the index ``backend`` at ``path`` for vectors of
    ``model``; a missing FAISS folder with ``create=False`` raises ``IndexNotFoundError``.

    Opening never waits for a writer. ``read_only`` (FAISS; also chosen when the folder cannot
    be written) writes nothing, not even derived files, and refuses writes with
    ``IndexReadOnlyError``; a writer waits at most ``lock_timeout_s`` for another's write lock,
    then raises ``IndexBusyError``.

    For ``pgvector`` the path is the index's name in the database at ``dsn`` (default
    ``$RAG_PG_DSN``; one schema per name: see ``rag.index.store.PostgresStore``). ``params`` shape
    the vector index: ``FlatIndex()``, ``IVFIndex(nprobe=16)`` or ``HNSWIndex(m=16,
    ef_search=200)`` for FAISS (default: flat, IVF from 100k chunks), ``HNSWIndex(...)`` for
    pgvector. ``collection``: the name of the collection the index holds, which its hits carry
    (``rag.collections`` says where each collection's index is).

    >>> import tempfile
    >>> open_index("faiss", tempfile.mkdtemp(), model="m", dimension=4).stats().chunks
    0
    """
    if backend == "faiss":
        from rag.index.faiss_store import FaissVectors

        store = SqliteStore.in_folder(path, model, dimension, derived=FaissVectors.FILES,
                                      create=create, read_only=read_only,
                                      lock_timeout_s=lock_timeout_s)
        return _joined(store, lambda: FaissVectors(store.folder, dimension, model, params),
                       collection)
    if backend == "pgvector":
        from rag.index.pgvector_store import PgVectorHnsw

        hnsw = PgVectorHnsw.checked(params)  # before connecting: a bad value fails offline
        pg = PostgresStore.connect(str(path), model, dimension, dsn=dsn,
                                   lock_timeout_s=lock_timeout_s)
        return _joined(pg, lambda: PgVectorHnsw(pg, hnsw), collection)
    raise BadInputError(f"unknown index backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def _joined(store: ArticleStore, vectors: Callable[[], VectorIndex],
            collection: str) -> NewsIndex:
    """``store`` joined to the vector index ``vectors`` makes for it; if either step fails the
    store is closed, so a refused index leaves no connection open."""
    try:
        return NewsIndex(store, vectors(), collection=collection)
    except BaseException:
        store.close()
        raise


def check_index(backend: str, path: str | Path, *, create: bool = True) -> None:
    """Raise a named error now if the index at ``path`` cannot be opened: missing (unless
    ``create``), a file, or a folder that lost its store. Cheap, so a command fails before it
    loads a model. pgvector: checked when opened."""
    if backend == "faiss":
        from rag.index.faiss_store import FaissVectors
        from rag.index.store import check_index_folder

        check_index_folder(path, derived=FaissVectors.FILES, create=create)


def copy_index(source: NewsIndex, target: NewsIndex, batch: int = 500) -> int:
    """Copy every article, chunk and vector of ``source`` into ``target`` (e.g. FAISS into
    pgvector) in atomic writes of ``batch`` articles, embedding nothing again; returns the
    number of articles copied.

    >>> import tempfile
    >>> a, b = (open_index("faiss", tempfile.mkdtemp(), model="m", dimension=4) for _ in "ab")
    >>> copy_index(a, b)
    0
    """
    if (source.model, source.dimension) != (target.model, target.dimension):
        from rag.errors import IndexMismatchError

        raise IndexMismatchError(
            f"cannot copy vectors of {source.model!r} ({source.dimension} dims) into an index "
            f"of {target.model!r} ({target.dimension} dims)")
    import numpy as np

    articles = [article for article, _ in source.list_articles()]
    for start in range(0, len(articles), batch):
        writes = []
        for article in articles[start:start + batch]:
            chunks = source.chunks_of(article.id)
            vectors = source.cached_vectors([c.key for c in chunks])
            matrix = (np.vstack([vectors[c.key] for c in chunks]) if chunks
                      else np.zeros((0, source.dimension), dtype=np.float32))
            writes.append(ArticleWrite(article, chunks, matrix))
        target.write(writes)
    return len(articles)


__all__ = ["BACKENDS", "ArticleWrite", "FlatIndex", "HNSWIndex", "Hit", "IVFIndex", "IndexStats",
           "NewsIndex", "SearchFilters", "VectorIndex", "VectorParams", "check_index",
           "copy_index", "open_index"]
