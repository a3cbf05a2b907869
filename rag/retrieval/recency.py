"""News priors on a ranking, relative to a reference day ("today", or the day a question was asked):
the corpus as it stood that day (no articles from after it), a boost for the period a time phrase
names, and a decay that prefers recent stories when the question says nothing about time.

Scores are multiplied, so the priors work on any score scale (RRF, cosine, reranker).
"""

from __future__ import annotations

import dataclasses
from datetime import date

from rag.index.base import Hit
from rag.retrieval.dates import DateRange, published_day, shift_day


def drop_future(hits: list[Hit], reference: date, grace_days: int) -> list[Hit]:
    """Hits whose article was published no later than ``reference + grace_days`` (undated kept).

    >>> drop_future([], date(2022, 8, 4), 1)
    []
    """
    cutoff = shift_day(reference, grace_days)
    return [h for h in hits if (day := published_day(h.article.published_at)) is None
            or day <= cutoff]


def boost_range(hits: list[Hit], when: DateRange, boost: float) -> list[Hit]:
    """Scores of hits published within ``when`` multiplied by ``1 + boost``, re-sorted."""
    boosted = [dataclasses.replace(h, score=h.score * (1 + boost))
               if when.contains(h.article.published_at) else h for h in hits]
    return sorted(boosted, key=lambda h: -h.score)


def recency_factor(published_at: str | None, reference: date, half_life_days: float,
                   weight: float) -> float:
    """``1 + weight * 0.5 ** (age / half_life)``; 1 for undated or future articles' excess age.

    >>> recency_factor("2022-08-04", date(2022, 8, 4), 7, 1.0)
    2.0
    >>> recency_factor("2022-07-28", date(2022, 8, 4), 7, 1.0)
    1.5
    >>> recency_factor(None, date(2022, 8, 4), 7, 1.0)
    1.0
    """
    day = published_day(published_at)
    if day is None or half_life_days <= 0 or weight <= 0:
        return 1.0
    age = max(0, (reference - day).days)
    return 1.0 + weight * 0.5 ** (age / half_life_days)


def boost_recent(hits: list[Hit], reference: date, half_life_days: float,
                 weight: float) -> list[Hit]:
    """Scores multiplied by :func:`recency_factor`, re-sorted (stable for equal scores)."""
    if half_life_days <= 0 or weight <= 0:
        return hits
    scored = [dataclasses.replace(h, score=h.score * recency_factor(
        h.article.published_at, reference, half_life_days, weight)) for h in hits]
    return sorted(scored, key=lambda h: -h.score)
