"""The interface every index backend implements: articles, their chunks and vectors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.articles import Article
from rag.chunking import Chunk


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
    """A chunk found by a search, with its article and similarity score."""

    chunk: Chunk
    article: Article
    score: float
    # Near-duplicate copies of ``article`` (the same wire story elsewhere), collapsed into this hit.
    duplicates: tuple[Article, ...] = ()


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


class IndexBackend(Protocol):
    """Articles, chunks and vectors, written atomically and searched by vector.

    ``write`` applies all its upserts and deletes, or none of them: a reader (or a process that
    crashed mid-write and restarted) sees the index as it was before or after, never between.
    """

    model: str
    dimension: int

    def write(self, upserts: list[ArticleWrite], deletes: list[str] = ()) -> None: ...

    def search(self, vector: np.ndarray, k: int,
               filters: SearchFilters | None = None) -> list[Hit]: ...

    def article_hashes(self) -> dict[str, tuple[str, str | None]]:
        """{article id: (content hash, origin)} for everything indexed."""
        ...

    def article_urls(self) -> dict[str, str]:
        """{url: article id} for every article that has a url."""
        ...

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Vectors already stored for these chunk keys (so no text is embedded twice)."""
        ...

    def get_article(self, article_id: str) -> Article | None: ...

    def list_articles(self) -> list[tuple[Article, int]]:
        """Every article with its chunk count."""
        ...

    def chunks_of(self, article_id: str) -> list[Chunk]: ...

    def generation(self) -> int:
        """A number that changes with every committed write."""
        ...

    def all_chunks(self) -> list[tuple[int, Chunk, Article]]:
        """Every chunk as (chunk id, chunk, article); feeds the BM25 index."""
        ...

    def hits(self, found: list[tuple[int, float]]) -> list[Hit]:
        """Hits for (chunk id, score) pairs, in that order."""
        ...

    def stats(self) -> IndexStats: ...

    def close(self) -> None: ...
