"""Index backends, chosen by name; imports are lazy so unused backends cost nothing."""

from __future__ import annotations

from pathlib import Path

from rag.index.base import ArticleWrite, Hit, IndexBackend, IndexStats, SearchFilters

BACKENDS = ("faiss",)


def open_index(backend: str, path: str | Path, model: str, dimension: int) -> IndexBackend:
    """Open (or create) the index ``backend`` at ``path`` for vectors of ``model``.

    >>> import tempfile
    >>> open_index("faiss", tempfile.mkdtemp(), model="m", dimension=4).stats().chunks
    0
    """
    if backend == "faiss":
        from rag.index.faiss_store import FaissIndex

        return FaissIndex(path, model=model, dimension=dimension)
    raise ValueError(f"unknown index backend {backend!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "ArticleWrite", "Hit", "IndexBackend", "IndexStats", "SearchFilters",
           "open_index"]
