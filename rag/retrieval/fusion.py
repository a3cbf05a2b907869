"""Reciprocal rank fusion: one ranking from several, by summed ``weight / (k + rank)``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rag.index.base import Hit


def hit_key(hit: Hit) -> tuple[str, int]:
    return (hit.article.id, hit.chunk.ordinal)


def reciprocal_rank_fusion(rankings: Sequence[tuple[Sequence[Hit], float]],
                           k: int = 60) -> list[Hit]:
    """Hits of all ``(ranking, weight)`` pairs, best fused score first (score = fused score).

    Ranks start at 1; a hit missing from a ranking gets nothing from it. Ties keep the order of
    first appearance.
    """
    if k < 0:
        raise ValueError(f"rrf k must be >= 0, got {k}")
    scores: dict[tuple[str, int], float] = {}
    first: dict[tuple[str, int], Hit] = {}
    for hits, weight in rankings:
        for rank, hit in enumerate(hits, start=1):
            key = hit_key(hit)
            first.setdefault(key, hit)
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    order = sorted(first, key=lambda key: -scores[key])
    return [dataclasses.replace(first[key], score=scores[key]) for key in order]


def best_of(*rankings: Sequence[Hit]) -> list[Hit]:
    """The union of rankings on one score scale, each hit once with its best score, best first.

    >>> best_of([], [])
    []
    """
    best: dict[tuple[str, int], Hit] = {}
    for hits in rankings:
        for hit in hits:
            key = hit_key(hit)
            if key not in best or hit.score > best[key].score:
                best[key] = hit
    return sorted(best.values(), key=lambda h: -h.score)
