"""Which retrieved passages report one happening, and how an event ranks.

Passages are taken in retrieval order; each joins the group whose members it is closest to on
average (cosine of the vectors the index stores for them), when that reaches the
``same_event`` threshold and every member was published within ``days`` of it (undated
passages group only with undated ones); else it starts a group. The passages of one article
stay in one group: an article is one report. An event ranks by how central its sentence is to
the topic, plus a little for each doubling of the articles that reported it (:func:`rank`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

SAME_EVENT_DAYS = 2
# What a doubling of the reports adds to an event's rank (on the sentence score's scale): an
# event four articles reported outranks a single report 0.1 more central to the topic.
REACH_WEIGHT = 0.05


@dataclass(frozen=True)
class Report:
    """A retrieved passage read as the report of a happening: its article, the day that was
    published (None: undated), its unit ``vector``, and the articles (the one and its wire
    copies) that carry it.

    >>> r = Report("a", date(2022, 9, 1), np.array([1.0, 0.0]), frozenset({"a", "a-copy"}))
    >>> len(r.sources)
    2
    """

    article_id: str
    day: date | None
    vector: np.ndarray = field(repr=False, compare=False)
    sources: frozenset[str] = frozenset()


def close_in_time(a: date | None, b: date | None, days: int = SAME_EVENT_DAYS) -> bool:
    """Whether two days are within ``days`` of each other. Two unknown days may be (content
    decides); an unknown and a known one are not: an undated article cannot be told to
    report a dated happening.

    >>> close_in_time(date(2022, 9, 1), date(2022, 9, 3)), close_in_time(date(2022, 9, 1), None)
    (True, False)
    >>> close_in_time(None, None)
    True
    """
    if a is None or b is None:
        return a is None and b is None
    return abs((a - b).days) <= days


def group_reports(reports: Sequence[Report], same_event: float,
                  days: int = SAME_EVENT_DAYS) -> list[list[int]]:
    """The reports (by index) grouped by happening, groups in the order of their first report.

    >>> v = {"polo": np.array([1.0, 0.0]), "polo2": np.array([0.96, 0.28]),
    ...      "bank": np.array([0.0, 1.0])}
    >>> day = date(2022, 9, 1)
    >>> group_reports([Report("a", day, v["polo"]), Report("b", day, v["bank"]),
    ...                Report("c", date(2022, 9, 2), v["polo2"]),
    ...                Report("d", date(2022, 9, 20), v["polo"])], same_event=0.8)
    [[0, 2], [1], [3]]
    """
    groups: list[list[int]] = []
    # Per group: the sum of its vectors (the mean similarity to its members is the dot with
    # it over their number), its first and last day and whether its members are undated.
    sums: list[np.ndarray] = []
    spans: list[tuple[date, date] | None] = []
    of_article: dict[str, int] = {}
    for i, report in enumerate(reports):
        chosen = of_article.get(report.article_id)
        if chosen is None:
            best = same_event
            for g, members in enumerate(groups):
                if not _within_days(report.day, spans[g], days):
                    continue
                similarity = float(report.vector @ sums[g]) / len(members)
                if similarity >= best:
                    chosen, best = g, similarity
        if chosen is None:
            groups.append([i])
            sums.append(np.array(report.vector, dtype=np.float64))
            spans.append(None if report.day is None else (report.day, report.day))
            chosen = len(groups) - 1
        else:
            groups[chosen].append(i)
            sums[chosen] = sums[chosen] + report.vector
            span = spans[chosen]
            if span is not None and report.day is not None:
                spans[chosen] = (min(span[0], report.day), max(span[1], report.day))
        of_article.setdefault(report.article_id, chosen)
    return groups


def _within_days(day: date | None, span: tuple[date, date] | None, days: int) -> bool:
    """Whether ``day`` is close in time (:func:`close_in_time`) to every day of a group that
    spans ``span`` (None: its members are undated)."""
    if day is None or span is None:
        return day is None and span is None
    return close_in_time(day, span[0], days) and close_in_time(day, span[1], days)


def reach(reports: Sequence[Report], members: Sequence[int]) -> list[str]:
    """The articles that reported a group (wire copies included), each once, in order.

    >>> reach([Report("a", None, np.zeros(1), frozenset({"a", "b"})),
    ...        Report("c", None, np.zeros(1), frozenset({"c"}))], [0, 1])
    ['a', 'b', 'c']
    """
    seen: dict[str, None] = {}
    for m in members:
        seen.update(dict.fromkeys([reports[m].article_id, *sorted(reports[m].sources)]))
    return list(seen)


def rank(centrality: float, sources: int) -> float:
    """An event's rank: its centrality to the topic, plus ``REACH_WEIGHT`` per doubling of
    the articles that reported it.

    >>> rank(0.5, 4) > rank(0.59, 1)
    True
    """
    return centrality + REACH_WEIGHT * math.log2(max(1, sources))
