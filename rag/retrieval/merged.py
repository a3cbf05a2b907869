"""Several collections asked as one: their indexes searched each, the hits merged into one ranking
(docs/collections.md).

Every collection is an index of its own, embedded by one model, so a passage's dense score (the
cosine with the question) means the same in each: dense hits are merged by score. BM25 scores
are merged by score too (each collection's IDF is its own, close for collections of news; the
alternatives measured are in docs/collections.md). The two merged rankings are then fused by
reciprocal rank exactly as within one index, and the rest of retrieval (dates, recency, wire
copies, one article's passages at most) runs once on the merged pool: asking two collections
ranks as asking one index holding both would, nearly.

A passage found in two collections (the same article ingested in both) is one passage, of the
first collection asked. Chunk ids are per index: the merged index gives each its collection's
place in the high bits (``ID_BITS``), for the briefing, which reads chunk ids then their hits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from rag.articles import Article
from rag.index.base import Hit, IndexStats, SearchFilters
from rag.index.composed import NewsIndex
from rag.retrieval.fusion import best_of
from rag.retrieval.rerank import Reranker
from rag.retrieval.retriever import Retriever

ID_BITS = 40  # a chunk id of one index is below 2**40; the collection's place goes above
_ID_MASK = (1 << ID_BITS) - 1


def merge_by_score(rankings: Sequence[Sequence[Hit]], k: int) -> list[Hit]:
    """The best ``k`` of several rankings on one score scale, each passage once (its best
    score; on a tie, the earlier ranking's), best first.

    >>> merge_by_score([[], []], 3)
    []
    """
    return best_of(*rankings)[:k]


class MergedIndex:
    """The indexes of several collections read as one by the retriever and the timeline and
    briefing builders: what they read of a :class:`~rag.index.composed.NewsIndex`, nothing
    written. Dense hits are merged by score.

    >>> import tempfile, numpy as np
    >>> from rag.index import open_index
    >>> a, b = (open_index("faiss", tempfile.mkdtemp(), model="m", dimension=2, collection=n)
    ...         for n in ("a", "b"))
    >>> MergedIndex([a, b]).search(np.array([1.0, 0.0], dtype="float32"), k=3)
    []
    """

    folder = None  # derived data stays in each collection's own index
    read_only = True

    def __init__(self, indexes: Sequence[NewsIndex]) -> None:
        if not indexes:
            raise ValueError("a merged index needs at least one index")
        self.indexes = tuple(indexes)
        first = self.indexes[0]
        self.model, self.dimension, self.backend = first.model, first.dimension, first.backend

    def search(self, vector: np.ndarray, k: int,
               filters: SearchFilters | None = None) -> list[Hit]:
        """The ``k`` chunks nearest ``vector`` in any of the indexes, within ``filters``."""
        return merge_by_score([index.search(vector, k, filters) for index in self.indexes], k)

    def lead_chunk_ids(self, filters: SearchFilters) -> np.ndarray:
        """The first chunk of each article ``filters`` let through, in every index, newest
        article first (undated last), as merged ids."""
        rows = [(place << ID_BITS | chunk_id, day)
                for place, index in enumerate(self.indexes)
                for chunk_id, day in index.lead_chunks(filters)]
        rows.sort(key=lambda row: row[1] or "", reverse=True)  # stable: ties keep their order
        return np.array([merged for merged, _ in rows], dtype=np.int64)

    def hits(self, found: list[tuple[int, float]]) -> list[Hit]:
        """Hits for ``(merged chunk id, score)`` pairs, in that order; unknown ids left out."""
        wanted: dict[int, list[tuple[int, float]]] = {}
        for position, (merged, _) in enumerate(found):
            # The position rides in the score, to put each hit back in its place.
            wanted.setdefault(int(merged) >> ID_BITS, []).append(
                (int(merged) & _ID_MASK, float(position)))
        placed: dict[int, Hit] = {}
        for place, pairs in wanted.items():
            if 0 <= place < len(self.indexes):
                for hit in self.indexes[place].hits(pairs):
                    position = int(hit.score)
                    placed[position] = dataclasses.replace(hit, score=float(found[position][1]))
        return [placed[p] for p in sorted(placed)]

    def get_article(self, article_id: str) -> Article | None:
        """The article ``article_id`` of the first index holding one."""
        for index in self.indexes:
            article = index.get_article(article_id)
            if article is not None:
                return article
        return None

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The stored vector of each chunk key any index holds (one model: any one is it)."""
        found: dict[str, np.ndarray] = {}
        for index in self.indexes:
            missing = [key for key in keys if key not in found]
            if not missing:
                break
            found.update(index.cached_vectors(missing))
        return found

    def stats(self) -> IndexStats:
        """The indexes' articles, chunks and size, summed."""
        each = [index.stats() for index in self.indexes]
        return IndexStats(sum(s.articles for s in each), sum(s.chunks for s in each),
                          self.model, self.dimension, self.backend,
                          sum(s.size_bytes for s in each),
                          {"collections": ", ".join(i.collection for i in self.indexes)})


class MergedLexical:
    """BM25 over several collections: each collection's own build searched, the hits merged
    by score; duplicate groups are each collection's (a wire story is grouped within one)."""

    def __init__(self, parts: Sequence[Retriever]) -> None:
        self.parts = tuple(parts)

    def _builds(self) -> list:
        return [lexical for part in self.parts if (lexical := part.lexical) is not None]

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[Hit]:
        return merge_by_score([build.search(query, k, filters) for build in self._builds()], k)

    def groups(self) -> dict[str, str]:
        """``{article id: duplicate group id}`` of every collection (group ids kept apart)."""
        merged: dict[str, str] = {}
        for place, part in enumerate(self.parts):
            lexical = part.lexical
            if lexical is not None:
                for article_id, group in lexical.groups().items():
                    merged.setdefault(article_id, f"{place}:{group}")
        return merged

    def sync(self) -> None:
        for build in self._builds():
            build.sync()


class MergedRetriever(Retriever):
    """Retrieval over several collections' retrievers (``parts``, one per collection, sharing
    one embedder) as one ranking: dense and BM25 hits merged by score, fused by reciprocal
    rank, then dated, boosted, collapsed and diversified once, as :class:`Retriever` does.

    >>> MergedRetriever.__mro__[1].__name__
    'Retriever'
    """

    def __init__(self, parts: Sequence[Retriever]) -> None:
        if not parts:
            raise ValueError("a merged retriever needs at least one collection's retriever")
        first = parts[0]
        super().__init__(MergedIndex([p.index for p in parts]),  # type: ignore[arg-type]
                         first.embedder, first.config)
        self.parts = tuple(parts)
        self._merged_lexical = MergedLexical(self.parts)

    @property
    def lexical(self) -> MergedLexical | None:  # type: ignore[override]
        if all(part.lexical is None for part in self.parts):
            return None
        return self._merged_lexical

    def refresh(self) -> None:
        for part in self.parts:
            part.refresh()

    def reranker(self) -> Reranker | None:
        """The first collection's reranker: one model serves them all."""
        return self.parts[0].reranker()
