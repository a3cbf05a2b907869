"""Index backends, chosen by name; imports are lazy so unused backends cost nothing."""

from __future__ import annotations

from pathlib import Path

from rag.index.base import ArticleWrite, Hit, IndexBackend, IndexStats, SearchFilters

BACKENDS = ("faiss", "pgvector")


def open_index(backend: str, path: str | Path, model: str, dimension: int) -> IndexBackend:
    """Open (or create) the index ``backend`` at ``path`` for vectors of ``model``.

    For ``pgvector`` the path is the index's name in the database given by ``$RAG_PG_DSN``
    (one schema per name: see ``rag.index.pgvector_store``).

    >>> import tempfile
    >>> open_index("faiss", tempfile.mkdtemp(), model="m", dimension=4).stats().chunks
    0
    """
    if backend == "faiss":
        from rag.index.faiss_store import FaissIndex

        return FaissIndex(path, model=model, dimension=dimension)
    if backend == "pgvector":
        from rag.index.pgvector_store import PgVectorIndex

        return PgVectorIndex(path, model=model, dimension=dimension)
    raise ValueError(f"unknown index backend {backend!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "ArticleWrite", "Hit", "IndexBackend", "IndexStats", "SearchFilters",
           "open_index"]
