"""A briefing from the index: the articles of a window (or those retrieved for a topic in it),
grouped into stories by the vectors the index stores for them, each story one cited sentence,
the most widely reported stories first.

It reuses the timeline's machinery (``rag.timeline``): passages read as Reports with their
stored vectors, grouped by ``group_reports`` (with the looser ``briefing_same_story`` and
across the whole window: one story over several days, not one happening), lines chosen among
whole sentences (``is_event_sentence``) and cited by ``ScoredSentence.cite``. Without a topic
there is no query: a story's line is the sentence of its most central articles closest to the
centre of the story's vectors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from rag.config import Config
from rag.index.base import Hit, SearchFilters
from rag.retrieval import Retriever
from rag.retrieval.dedupe import collapse_duplicates
from rag.scoring import ScoredSentence
from rag.timeline.build import (
    PASSAGES_PER_EVENT,
    SENTENCES_PER_PASSAGE,
    TOPIC_MARGIN,
    TimelineBuilder,
)
from rag.timeline.group import Report, group_reports, reach
from rag.timeline.lines import is_event_sentence
from rag.timeline.window import Window
from rag.types import Briefing, BriefingStory, Reading

# Articles of a window read at most (the newest): a briefing of a busy month stays fast.
MAX_ARTICLES = 1500
# Stories whose line is scored, per story shown: the rest rank too low to be shown.
CANDIDATE_STORIES = 2


@dataclass(frozen=True)
class ArticleSet:
    """The articles a briefing is limited to, by id, and what they are (``name``: a followed
    feed's id); no ids: none at all.

    >>> ArticleSet("3", ("a", "b")).article_ids
    ('a', 'b')
    """

    name: str
    article_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class BriefPlan:
    """What a briefing is asked for: its ``window`` (both ends set), a ``topic`` (None: every
    story), the ``filters`` of its search (the window's dates, a feed's articles), the
    ``reference`` day ("today") and the ``feed`` it reads, if any.

    >>> p = BriefPlan(Window(date(2022, 9, 5), date(2022, 9, 11)), None, SearchFilters(),
    ...               date(2022, 9, 11))
    >>> p.window.to_iso()
    ('2022-09-05', '2022-09-11')
    """

    window: Window
    topic: str | None
    filters: SearchFilters
    reference: date
    feed: str | None = None


@dataclass(frozen=True)
class BuiltBriefing:
    """A briefing read from passages: the ``briefing``, its ``reading`` (the list of stories as
    text, its citations in the same order) and the ``hits`` cited, in that order."""

    briefing: Briefing
    reading: Reading
    hits: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class _Story:
    sentence: ScoredSentence
    sources: list[str]
    outlets: int
    day: date
    events: int


class BriefingBuilder:
    """Briefings over a retriever's index, with its embedder and config.

    >>> BriefingBuilder.__name__
    'BriefingBuilder'
    """

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.timelines = TimelineBuilder(retriever)

    @property
    def config(self) -> Config:
        return self.retriever.config

    def plan(self, window: Window, reference: date, *, topic: str | None = None,
             base: SearchFilters | None = None, articles: ArticleSet | None = None
             ) -> BriefPlan:
        """The plan of a briefing over ``window`` (both ends set), on ``topic`` if given,
        under the ``base`` filters' sources, of the ``articles`` only if given (a feed's; none
        when it holds none)."""
        since, until = window.to_iso()
        filters = dataclasses.replace(base or SearchFilters(), date_from=since, date_to=until)
        if articles is not None:
            # An empty set selects nothing: no article has the empty id.
            filters = dataclasses.replace(filters, article_ids=articles.article_ids or ("",))
        return BriefPlan(window, topic or None, filters, reference,
                         articles.name if articles else None)

    def gather(self, plan: BriefPlan) -> list[Hit]:
        """The passages a briefing reads: with a topic, ``timeline_depth`` retrieved for it in
        the window; without, the first passage of every article published in it (the newest
        ``MAX_ARTICLES``). Wire copies are collapsed, every copy kept in ``Hit.duplicates``."""
        if plan.topic:
            depth = self.config.timeline_depth
            return self.retriever.retrieve(plan.topic, depth, plan.filters, plan.reference,
                                           candidates=max(self.config.candidates, depth))
        index = self.retriever.index
        ids = index.lead_chunk_ids(plan.filters)[:MAX_ARTICLES]
        hits = index.hits([(int(i), 0.0) for i in ids])
        lexical = self.retriever.lexical
        if lexical is not None:
            hits = collapse_duplicates(hits, lexical.groups(), index.get_article)
        return hits

    def read(self, plan: BriefPlan, hits: list[Hit]) -> BuiltBriefing:
        """The briefing of ``hits``: grouped into stories, each story's line cited, the
        ``briefing_stories`` most widely reported (then most recent) first."""
        since, until = plan.window.to_iso()
        assert since is not None and until is not None
        stories = self.stories(plan, hits)
        shown, cited = [], []
        for n, story in enumerate(stories, start=1):
            shown.append(BriefingStory(story.sentence.text, story.sentence.cite(n),
                                       len(story.sources), tuple(story.sources),
                                       story.day.isoformat(), story.events))
            cited.append(story.sentence.hit)
        briefing = Briefing(since, until, plan.topic, tuple(shown), plan.feed)
        if not shown:
            return BuiltBriefing(briefing, Reading(no_stories_text(briefing, bool(hits)),
                                                   backend="extractive", abstained=True))
        return BuiltBriefing(briefing, Reading(briefing_text(briefing), backend="extractive",
                                               citations=[s.citation for s in shown]), cited)

    def stories(self, plan: BriefPlan, hits: list[Hit]) -> list[_Story]:
        """The stories shown, best first: groups of ``hits`` by story, ranked by the articles
        and outlets that reported them, then by the last day they did."""
        if not hits:
            return []
        cfg = self.config
        reports = self.timelines.reports(hits)
        window_days = (plan.window.until - plan.window.since).days if (
            plan.window.until and plan.window.since) else 3650
        groups = group_reports(reports, cfg.briefing_same_story, days=max(1, window_days))
        groups.sort(key=lambda g: story_rank(reports, hits, g), reverse=True)
        found: list[_Story] = []
        for members in groups[: CANDIDATE_STORIES * cfg.briefing_stories]:
            story = self.story(plan, reports, hits, members)
            if story is not None:
                found.append(story)
        if plan.topic and found:
            # About the topic: up to the score an answer needs, and near the best line's.
            floor = max(cfg.abstain_threshold,
                        max(s.sentence.score for s in found) - TOPIC_MARGIN)
            found = [s for s in found if s.sentence.score >= floor]
        found.sort(key=lambda s: (len(s.sources), s.outlets, s.day), reverse=True)
        return found[: cfg.briefing_stories]

    def story(self, plan: BriefPlan, reports: list[Report], hits: list[Hit],
              members: list[int]) -> _Story | None:
        """One group as a story: its line (the best whole sentence of its most central
        passages, for the topic or, without one, for the group's centre), its sources, its
        last day and its events (happenings by the timeline's ``timeline_same_event``)."""
        centre = np.sum([reports[m].vector for m in members], axis=0)
        norm = float(np.linalg.norm(centre))
        centre = centre / norm if norm else centre
        central = sorted(members, key=lambda m: -float(reports[m].vector @ centre))
        best = [hits[m] for m in central[:PASSAGES_PER_EVENT]]
        scored = self.timelines.scorer.score_sentences(
            plan.topic or "", best, per_passage=SENTENCES_PER_PASSAGE, keep=is_event_sentence,
            query_vector=None if plan.topic else centre.astype(np.float32))
        if not scored:
            return None
        sentence = scored[0]
        cited = sentence.hit.article.id
        sources = [cited, *(a for a in reach(reports, members) if a != cited)]
        days = [reports[m].day for m in members if reports[m].day is not None]
        happenings = group_reports([reports[m] for m in members],
                                   self.config.timeline_same_event)
        return _Story(sentence, sources, len(outlets(hits, members)),
                      max(days, default=plan.reference), len(happenings))


def outlets(hits: list[Hit], members: list[int]) -> set[str]:
    """The outlets (``Article.source``, else the article) that carried a group's passages,
    wire copies included."""
    names: set[str] = set()
    for m in members:
        for article in (hits[m].article, *hits[m].duplicates):
            names.add(article.source or article.id)
    return names


def story_rank(reports: list[Report], hits: list[Hit], members: list[int]
               ) -> tuple[int, int, date]:
    """How a group ranks as a story: its articles (wire copies included), its outlets, the last
    day it was reported."""
    days = [reports[m].day for m in members if reports[m].day is not None]
    return (len(reach(reports, members)), len(outlets(hits, members)),
            max(days, default=date.min))


def briefing_text(briefing: Briefing) -> str:
    """The briefing as plain text: one line per story, its sentence with its [n], how many
    sources reported it and the last day they did.

    >>> from rag.types import Citation
    >>> c = Citation(1, "a", "Queen", "Queen Elizabeth II died at 96.", 0, 30)
    >>> print(briefing_text(Briefing("2022-09-05", "2022-09-11", None, (
    ...     BriefingStory(c.quote, c, 4, ("a", "b", "c", "d"), "2022-09-09", 2),))))
    - Queen Elizabeth II died at 96. [1] (4 sources, 2022-09-09)
    """
    return "\n".join(
        f"- {s.headline_text} [{s.citation.n}] "
        f"({s.sources} source{'s' * (s.sources != 1)}, {s.day})" for s in briefing.stories)


def briefing_title(briefing: Briefing) -> str:
    """What a briefing covers, in words.

    >>> briefing_title(Briefing("2022-09-05", "2022-09-11", "the Queen", ()))
    "What's new on the Queen, 2022-09-05 to 2022-09-11"
    """
    on = f" on {briefing.topic}" if briefing.topic else ""
    feed = f" from feed {briefing.feed}" if briefing.feed else ""
    span = (briefing.since if briefing.since == briefing.until
            else f"{briefing.since} to {briefing.until}")
    return f"What's new{on}{feed}, {span}"


def no_stories_text(briefing: Briefing, read_any: bool) -> str:
    """What a briefing without stories says.

    >>> no_stories_text(Briefing("2022-09-10", "2022-09-11"), False)
    'No articles were published from 2022-09-10 to 2022-09-11.'
    """
    span = f"from {briefing.since} to {briefing.until}"
    if briefing.topic:
        return f"The articles published {span} report nothing on {briefing.topic}."
    if read_any:
        return f"The articles published {span} hold no sentence to report."
    return f"No articles were published {span}" + (
        f" from feed {briefing.feed}." if briefing.feed else ".")



