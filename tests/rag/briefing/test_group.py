"""Stories from hand-made vectors: one story across the days of a window groups with the looser
``briefing_same_story`` where a timeline sees separate events, and stories rank by the
articles and outlets that reported them, then by their last day."""

from __future__ import annotations

from datetime import date

import numpy as np

from rag.articles import Article
from rag.briefing.build import outlets, story_rank
from rag.chunking import Chunk
from rag.index.base import Hit
from rag.timeline.group import Report, group_reports

STRIKE = np.array([1.0, 0.0, 0.0])
STRIKE_LATER = np.array([0.8, 0.6, 0.0])  # cosine 0.8 to STRIKE: the story moved on
STORM = np.array([0.0, 0.0, 1.0])


def hit(article_id: str, source: str, day: str, copies: tuple[Article, ...] = ()) -> Hit:
    article = Article(id=article_id, title=article_id, text="Some text here.", source=source,
                      published_at=day)
    return Hit(Chunk(article_id, 0, 0, 15, article.text), article, 0.0, copies)


def test_a_story_across_days_is_one_group_for_a_briefing_but_two_events_for_a_timeline() -> None:
    reports = [Report("s1", date(2022, 9, 5), STRIKE), Report("storm", date(2022, 9, 7), STORM),
               Report("s2", date(2022, 9, 10), STRIKE_LATER)]
    assert group_reports(reports, 0.6, days=7) == [[0, 2], [1]]
    assert group_reports(reports, 0.75) == [[0], [1], [2]]  # the timeline's: within two days


def test_stories_rank_by_articles_then_outlets_then_last_day() -> None:
    copy = Article(id="s2-copy", title="s2", text="Some text here.", source="wire")
    hits = [hit("s1", "herald", "2022-09-05"), hit("s2", "herald", "2022-09-06", (copy,)),
            hit("storm1", "herald", "2022-09-07"), hit("storm2", "times", "2022-09-07"),
            hit("cup", "sport", "2022-09-11"), hit("budget", "herald", "2022-09-09")]
    reports = [Report(h.article.id, date.fromisoformat(h.article.published_at), STRIKE,
                      frozenset({h.article.id, *(a.id for a in h.duplicates)})) for h in hits]
    strike, storm, cup, budget = [0, 1], [2, 3], [4], [5]
    assert outlets(hits, strike) == {"herald", "wire"}
    ranked = sorted([cup, storm, budget, strike], key=lambda g: story_rank(reports, hits, g),
                    reverse=True)
    # Three articles beat two; two outlets tie, then the later day; one article: the newest.
    assert ranked == [strike, storm, cup, budget]
    assert story_rank(reports, hits, strike) == (3, 2, date(2022, 9, 6))
