"""Second-stage rerankers: re-order the fused candidates before the final top-k is cut.

``sentence`` (default): each candidate scores as its best sentence, by the sentence score the
answerers read too (rag/scoring.py: embedding similarity blended with question-word overlap),
plus a little of its fused score. The sentence vectors are cached, so the answerer reuses them.
``cross-encoder``: any sentence-transformers CrossEncoder, by name or local path (none ships
offline, so it is off by default).
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, get_args

from embeddings.base import Embedder
from rag.config import Config, RerankMode
from rag.errors import RagError
from rag.index.base import Hit
from rag.retrieval.fusion import hit_key
from rag.scoring import SentenceScorer

RERANKERS: tuple[str, ...] = get_args(RerankMode)


class Reranker(Protocol):
    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]: ...


class SentenceReranker:
    """Candidates re-scored by ``best sentence score + fused_weight * fused / best fused``.
    """

    def __init__(self, embedder: Embedder, config: Config) -> None:
        self.scorer = SentenceScorer(embedder)
        self.fused_weight = config.rerank_fused_weight
        self.per_passage = config.rerank_sentences or None

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return []
        spans: dict[str, list[tuple[int, int, float]]] = {}
        for s in self.scorer.score_sentences(question, hits, self.per_passage):
            spans.setdefault(s.hit.article.id, []).append((s.start, s.end, s.score))
        top = max(h.score for h in hits) or 1.0
        rescored = []
        for hit in hits:
            c = hit.chunk
            best = max((score for start, end, score in spans.get(hit.article.id, ())
                        if start >= c.start and end <= c.end), default=0.0)
            rescored.append(dataclasses.replace(
                hit, score=best + self.fused_weight * hit.score / top))
        return sorted(rescored, key=lambda h: -h.score)


class CrossEncoderReranker:
    """Candidates re-scored by a sentence-transformers CrossEncoder on (question, passage).
    """

    def __init__(self, model: str) -> None:
        if not model:
            raise RagError("rerank='cross-encoder' needs cross_encoder set to a model name or "
                           "path (RAG_CROSS_ENCODER)")
        from sentence_transformers import CrossEncoder

        from embeddings.sentence_transformers import quiet_loading

        try:
            with quiet_loading():
                self.model = CrossEncoder(model)
        except (OSError, ValueError) as exc:
            raise RagError(f"cannot load cross-encoder {model!r}: {exc}") from exc

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return []
        scores = self.model.predict([(question, h.chunk.embed_text) for h in hits])
        rescored = [dataclasses.replace(h, score=float(s))
                    for h, s in zip(hits, scores, strict=True)]
        return sorted(rescored, key=lambda h: -h.score)


def get_reranker(name: str, embedder: Embedder, config: Config) -> Reranker | None:
    """The reranker called ``name`` (None for ``none``)."""
    if name == "none":
        return None
    if name == "sentence":
        return SentenceReranker(embedder, config)
    if name == "cross-encoder":
        return CrossEncoderReranker(config.cross_encoder)
    raise ValueError(f"unknown reranker {name!r}; choose one of {', '.join(RERANKERS)}")


def rerank_top(reranker: Reranker | None, question: str, hits: list[Hit],
               depth: int) -> list[Hit]:
    """Rerank the first ``depth`` hits; the rest follow in their order."""
    if reranker is None or not hits:
        return hits
    head = reranker.rerank(question, hits[:depth])
    seen = {hit_key(h) for h in head}
    return head + [h for h in hits[depth:] if hit_key(h) not in seen]
