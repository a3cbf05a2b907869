"""Retriever: question -> ranked passages. Dense (FAISS) and BM25 candidates fused by RRF,
optionally reranked, news-aware (time phrases, duplicates), diversified per article."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import get_args

from embeddings.base import Embedder
from rag.config import Config, DateMode, RetrievalMode
from rag.errors import BadInputError
from rag.index.base import Hit, SearchFilters
from rag.index.composed import NewsIndex
from rag.retrieval.bm25 import Bm25Store
from rag.retrieval.dates import DateRange, reference_day, time_range
from rag.retrieval.dedupe import collapse_duplicates
from rag.retrieval.fusion import best_of, reciprocal_rank_fusion
from rag.retrieval.recency import boost_range, boost_recent, drop_future
from rag.retrieval.rerank import Reranker, get_reranker, rerank_top

MODES: tuple[str, ...] = get_args(RetrievalMode)
DATE_MODES: tuple[str, ...] = get_args(DateMode)


class Retriever:
    """Hybrid retrieval over an index.
    """

    def __init__(self, index: NewsIndex, embedder: Embedder, config: Config) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config
        self._lexical_ok = all(hasattr(index, m)
                               for m in ("generation", "all_chunks", "hits", "candidate_ids"))
        self._bm25: Bm25Store | None = None
        # Keyed by the whole config: a reranker is built from several of its settings.
        self._rerankers: dict[tuple[str, Config], Reranker | None] = {}

    @property
    def lexical(self) -> Bm25Store | None:
        """BM25 and near-duplicate groups under the current config (None: the index has no
        chunk listing); a changed ``dedupe_threshold`` gets its own build."""
        if not self._lexical_ok:
            return None
        if self._bm25 is None or self._bm25.dedupe_threshold != self.config.dedupe_threshold:
            self._bm25 = Bm25Store(self.index, self.config.dedupe_threshold)
        return self._bm25

    def refresh(self) -> None:
        """Bring BM25 and duplicate groups in step with the index (call after a write)."""
        lexical = self.lexical
        if lexical is not None:
            lexical.sync()

    def retrieve(self, query: str, k: int | None = None, filters: SearchFilters | None = None,
                 reference: date | str | None = None, *,
                 candidates: int | None = None) -> list[Hit]:
        """The best ``k`` passages for ``query``; ``reference`` (default: config) is "today";
        ``candidates``: taken from each ranker before fusion (default: config's; a timeline
        retrieving wide asks for more)."""
        cfg = self.config
        k = k or cfg.top_k
        if k <= 0:
            raise BadInputError(f"k must be greater than 0. Currently, k is {k}")
        today = reference_day(reference or cfg.reference_date)
        base = filters
        when = time_range(query, today) if cfg.date_mode != "off" else None
        hits: list[Hit] = []
        if when is not None and cfg.date_mode == "filter":
            hits = self.candidates(query, _within(base, when), candidates)
        if not hits:
            hits = self.candidates(query, base, candidates)
        if when is not None and cfg.date_mode == "boost":
            # The period's own best passages join the pool, so the boost can lift them even
            # when the whole archive's best push them below the candidate cut.
            hits = best_of(hits, self.candidates(query, _within(base, when), candidates))
        if cfg.as_of_reference:
            hits = drop_future(hits, today, cfg.future_grace_days)
        hits = rerank_top(self.reranker(), query, hits, cfg.rerank_depth)
        if when is not None and cfg.date_mode == "boost":
            hits = boost_range(hits, when, cfg.date_boost)
        hits = boost_recent(hits, today, cfg.recency_half_life_days, cfg.recency_weight)
        lexical = self.lexical
        if lexical is not None:
            hits = collapse_duplicates(hits, lexical.groups(), self.index.get_article)
        return diversify(hits, k, cfg.max_passages_per_article)

    def candidates(self, query: str, filters: SearchFilters | None,
                   depth: int | None = None) -> list[Hit]:
        """Dense and/or BM25 candidates (``depth`` from each; default: config's
        ``candidates``), fused by reciprocal rank."""
        cfg = self.config
        depth = depth or cfg.candidates
        lexical = self.lexical
        mode = cfg.retrieval_mode if lexical is not None else "dense"
        rankings: list[tuple[list[Hit], float]] = []
        if mode in ("dense", "hybrid"):
            vector = self.embedder.embed_query(query)
            rankings.append((self.index.search(vector, depth, filters),
                             cfg.dense_weight))
        if mode in ("bm25", "hybrid") and lexical is not None:
            rankings.append((lexical.search(query, depth, filters),
                             cfg.bm25_weight))
        if mode not in MODES:
            raise ValueError(f"unknown retrieval_mode {mode!r}; choose one of {', '.join(MODES)}")
        return reciprocal_rank_fusion(rankings, k=cfg.rrf_k)

    def reranker(self) -> Reranker | None:
        key = (self.config.rerank, self.config)
        if key not in self._rerankers:
            self._rerankers.clear()  # one config in force at a time: drop the old models
            self._rerankers[key] = get_reranker(key[0], self.embedder, self.config)
        return self._rerankers[key]


def diversify(hits: list[Hit], k: int, per_article: int) -> list[Hit]:
    """The best ``k`` hits, keeping at most ``per_article`` from any one article."""
    taken: dict[str, int] = {}
    out = []
    for hit in hits:
        if taken.get(hit.article.id, 0) >= per_article:
            continue
        taken[hit.article.id] = taken.get(hit.article.id, 0) + 1
        out.append(hit)
        if len(out) == k:
            break
    return out


def _within(filters: SearchFilters | None, when: DateRange) -> SearchFilters:
    f = filters or SearchFilters()
    start, end = when.start.isoformat(), when.end.isoformat()
    return dataclasses.replace(
        f, date_from=max(f.date_from[:10], start) if f.date_from else start,
        date_to=min(f.date_to[:10], end) if f.date_to else end)


