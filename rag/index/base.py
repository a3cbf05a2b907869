"""What the index is made of: the records it stores and returns, and the vector-index interface
and parameters. The article store is ``rag.index.store``; the two joined, ``rag.index.composed``."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.articles import Article
from rag.chunking import Chunk
from rag.config import DEFAULT_COLLECTION


@dataclass(frozen=True)
class SearchFilters:
    """Restrict a search to some sources and/or a date range (ISO dates, inclusive)."""

    sources: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    article_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to or self.article_ids)


@dataclass(frozen=True)
class Hit:
    """A chunk found by a search, with its article and similarity score, in the collection
    whose index holds it."""

    chunk: Chunk
    article: Article
    score: float
    # Near-duplicate copies of ``article`` (the same wire story elsewhere), collapsed into this hit.
    duplicates: tuple[Article, ...] = ()
    collection: str = DEFAULT_COLLECTION


@dataclass
class ArticleWrite:
    """One article to add or replace, with its chunks and one vector per chunk."""

    article: Article
    chunks: list[Chunk]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        if len(self.chunks) != len(self.vectors):
            raise ValueError(
                f"article {self.article.id}: {len(self.chunks)} chunks but "
                f"{len(self.vectors)} vectors")


@dataclass(frozen=True)
class IndexStats:
    articles: int
    chunks: int
    model: str
    dimension: int
    backend: str
    size_bytes: int
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FlatIndex:
    """Exact inner-product search over every vector (FAISS ``IndexFlatIP``)."""


@dataclass(frozen=True)
class IVFIndex:
    """FAISS inverted lists: ``4·sqrt(n)`` lists (at most n/39) trained on the vectors held when
    it is built, ``nprobe`` of them scanned per query. Removes ids, so writes stay incremental."""

    nprobe: int = 16

    def __post_init__(self) -> None:
        if self.nprobe < 1:
            raise ValueError(f"nprobe must be at least 1. Currently, nprobe is {self.nprobe}")


@dataclass(frozen=True)
class HNSWIndex:
    """A graph index (FAISS ``IndexHNSWFlat`` or pgvector ``hnsw``): ``m`` links per node,
    ``ef_construction`` candidates while building, ``ef_search`` per query (recall vs latency).
    pgvector's defaults are m=16, ef_construction=64, ef_search=40."""

    m: int = 16
    ef_construction: int = 64
    ef_search: int = 200

    def __post_init__(self) -> None:
        for name in ("m", "ef_construction", "ef_search"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1. Currently, {name} is "
                                 f"{getattr(self, name)}")


VectorParams = FlatIndex | IVFIndex | HNSWIndex


class StoredVectors(Protocol):
    """What a vector index reads from the article store: the chunk ids and vectors it is rebuilt
    from or checked against, and the generation they are of."""

    def generation(self) -> int: ...

    def chunk_ids(self) -> np.ndarray: ...

    def chunk_vectors(self) -> tuple[np.ndarray, np.ndarray]: ...


class VectorIndex(Protocol):
    """Vectors under chunk ids, searched by inner product; knows nothing of articles.

    The article store is the source of truth: ``load`` brings the index to the store's
    ``generation`` (reading what was saved, or rebuilding from the store's vectors, and then
    returning True), and ``save`` persists it as of a generation, so a stale copy is always
    detected and rebuilt. Neither waits for nor takes a lock: the caller saves with the store's
    write lock, and a reader that cannot take it keeps a rebuilt index in memory.

    ``backend`` is the name ``open_index`` knows the index by (and its stats report).
    """

    backend: str
    params: VectorParams | None

    def load(self, store: StoredVectors, generation: int) -> bool: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, vector: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best (chunk id, score) pairs, best first; only ``allowed`` ids if given."""
        ...

    def count(self) -> int: ...

    def save(self, generation: int) -> None: ...

    def problems(self, store: StoredVectors) -> list[str]:
        """How the index (in memory and as saved) differs from ``store``; empty if it does not."""
        ...

    def writing(self, n_new: int) -> AbstractContextManager[None]:
        """A context around the store's inserts, inside its transaction (pgvector builds its
        graph after a bulk load there); FAISS has nothing to do."""
        ...
