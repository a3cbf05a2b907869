"""A timeline from the index: passages retrieved wide in the window, grouped into events, one
cited sentence per event, the most widely reported and central ones, oldest first.

No model writes anything: each event's line is a sentence of an article, scored against the
topic by ``rag.scoring.SentenceScorer`` and cited by ``ScoredSentence.cite`` like every
extractive citation. Embedding is the cost, so passages are grouped by the vectors the index
already stores for them, and only the sentences of the leading groups' best passages are
embedded (at most ``CANDIDATE_GROUPS`` x ``PASSAGES_PER_EVENT`` x ``SENTENCES_PER_PASSAGE``).

When no event about the topic can be dated (its articles carry no publication date and their
sentences state no date with its year) and no period was asked for, the timeline is made of the
undated events instead: every reporting sentence of the articles about the topic, each
article's together, in the order the article tells them (``rag.timeline.tense``), never
given a day.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from rag.config import Config
from rag.date_words import published_day
from rag.embed_cache import cached
from rag.index.base import Hit, SearchFilters
from rag.retrieval import Retriever
from rag.scoring import ScoredSentence, SentenceScorer
from rag.timeline.dating import event_day, stated_phrase
from rag.timeline.detect import topic_of
from rag.timeline.group import Report, close_in_time, group_reports, rank, reach
from rag.timeline.lines import is_event_sentence
from rag.timeline.tense import story_order
from rag.timeline.window import Window, question_window
from rag.types import DateSource, Headlines, Reading, Timeline, TimelineEvent

# Groups whose sentences are scored, per event shown: the rest rank too low to be shown.
CANDIDATE_GROUPS = 2
PASSAGES_PER_EVENT = 2
SENTENCES_PER_PASSAGE = 3
# An event is about the topic when its sentence scores within this of the best event's (and
# at least ``abstain_threshold``, the score an answer needs): wide retrieval always fills its
# depth, with other stories once the topic's are exhausted.
TOPIC_MARGIN = 0.2
# Two lines of one day about one topic whose sentences are this similar (cosine) report one
# happening: on RealTime QA stories, same-day lines about the Queen's death or Truss's
# resignation scored 0.38 to 0.66 against each other, lines of different days' events 0.45 to
# 0.7, hence the stricter ``timeline_same_event`` across days.
SAME_DAY_SIMILARITY = 0.45
# A sentence that states the day of what it reports is a better line for its event (and dates
# it): it is chosen over one scoring up to this much more for the topic.
STATED_DAY_BONUS = 0.05
# An undated article is about the topic of an undated timeline when its passages are as
# central to the topic (cosine, the vectors the index stores) as the most central undated
# article's, within this: all its sentences become events, so a looser margin would bring a
# neighbouring story whole. Read from the sample corpus's stories, not tuned on a set: its two
# nuclear-programme articles are 0.09 apart for "Iran's nuclear program", its U-20 and water
# polo articles 0.14 apart for "Iran's U-20 team at the Asian Cup" (0.23 for the water polo).
UNDATED_STORY_MARGIN = 0.12
# The sentences of an undated timeline's articles scored for the topic (those sharing the most
# topic words first): the same embedding budget as a dated timeline's.
UNDATED_SENTENCES = 96


@dataclass(frozen=True)
class Plan:
    """What a timeline is asked for: the ``topic`` searched, the ``window`` it covers, the
    ``filters`` of the search (the window's dates in them) and the ``reference`` day ("today").

    >>> Plan("Iran water polo", Window(), None, date(2025, 3, 1)).topic
    'Iran water polo'
    """

    topic: str
    window: Window
    filters: SearchFilters | None
    reference: date


@dataclass(frozen=True)
class Built:
    """A timeline read from passages: the ``timeline``, its ``reading`` (the dated list as
    text, its citations in the same order) and the ``hits`` cited, in that order."""

    timeline: Timeline
    reading: Reading
    hits: list[Hit] = field(default_factory=list)
    # Of an empty timeline: the notes an answer given instead keeps (undated articles about
    # the topic that the window cannot place).
    unplaced: list[str] = field(default_factory=list)

    def with_headlines(self, written: Headlines) -> Built:
        """This timeline with the ``written`` headlines on its events (in order): the text
        shows them, the reading takes the model's notes, removed headlines (``unsupported``),
        reply (``draft``) and time (``timings_ms["headlines"]``), and its backend when one
        headline is shown.

        >>> from rag.types import Citation
        >>> c = Citation(1, "a", "Polo", "Japan beat Iran 16-13.", 0, 22)
        >>> t = Timeline("Iran polo", None, None, (TimelineEvent("2025-02-27", "published",
        ...     c.quote, c, 1, ("a",)),))
        >>> built = Built(t, Reading(timeline_text(t), backend="extractive", citations=[c]))
        >>> print(built.with_headlines(Headlines(("Japan beat Iran",), backend="openai")
        ...                            ).reading.text)
        - 2025-02-27 (published): Japan beat Iran — Japan beat Iran 16-13. [1] (1 source)
        """
        if len(written.headlines) != len(self.timeline.events):
            raise ValueError(f"{len(written.headlines)} headlines for "
                             f"{len(self.timeline.events)} events")
        events = tuple(dataclasses.replace(e, headline=h)
                       for e, h in zip(self.timeline.events, written.headlines, strict=True))
        timeline = dataclasses.replace(self.timeline, events=events)
        reading = dataclasses.replace(
            self.reading, text=timeline_text(timeline),
            backend=written.backend if written.kept else self.reading.backend,
            notes=[*self.reading.notes, *written.notes],
            unsupported=[*self.reading.unsupported, *written.unsupported],
            draft=written.draft, timings_ms={**self.reading.timings_ms, "headlines": written.ms})
        return Built(timeline, reading, self.hits)


@dataclass(frozen=True)
class _Event:
    sentence: ScoredSentence
    day: date | None  # None: undated
    date_source: DateSource
    sources: list[str]
    rank: float
    stated: str | None = None  # an undated event's date as its sentence states it


@dataclass(frozen=True)
class _Lines:
    """The lines of a timeline's events about the topic: the ``dated`` ones in the window,
    the ``undated`` ones (each with its group), how many were dated ``outside`` it, and the
    passages read as ``reports`` with their ``centrality`` to the topic."""

    dated: list[_Event]
    undated: list[tuple[ScoredSentence, list[int]]]
    outside: int
    reports: list[Report]
    centrality: list[float]


class TimelineBuilder:
    """Timelines over a retriever's index, with its embedder and config.

    >>> TimelineBuilder.__name__
    'TimelineBuilder'
    """

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.scorer = SentenceScorer(retriever.embedder)

    @property
    def config(self) -> Config:
        return self.retriever.config

    def plan(self, question: str, filters: SearchFilters | None, reference: date) -> Plan:
        """The timeline ``question`` asks for: its window from its time phrase (counted from
        ``reference``) narrowed to the ``filters``' dates, its topic without the words that
        ask for a timeline. A window left empty is a BadInputError."""
        window = question_window(question, reference).within(
            filters.date_from if filters else None, filters.date_to if filters else None)
        since, until = window.to_iso()
        search = dataclasses.replace(filters or SearchFilters(), date_from=since, date_to=until)
        return Plan(topic_of(question, window.phrase), window, search or None, reference)

    def retrieve(self, plan: Plan) -> list[Hit]:
        """``timeline_depth`` passages for the topic in the window (wire copies collapsed,
        every copy kept in ``Hit.duplicates``)."""
        depth = self.config.timeline_depth
        return self.retriever.retrieve(plan.topic, depth, plan.filters, plan.reference,
                                       candidates=max(self.config.candidates, depth))

    def read(self, plan: Plan, hits: list[Hit]) -> Built:
        """The timeline of ``hits``: grouped into events, each event's best sentence for the
        topic dated and cited, the ``timeline_events`` that rank best, oldest first. When none
        can be dated and the window is open, the undated events in the order their articles
        report them, with a note saying so (:meth:`undated_events`)."""
        since, until = plan.window.to_iso()
        events, left_out = self.events(plan, hits)
        timeline_events, cited = [], []
        for n, event in enumerate(events, start=1):
            citation = event.sentence.cite(n)
            timeline_events.append(TimelineEvent(
                None if event.day is None else event.day.isoformat(), event.date_source,
                event.sentence.text, citation, len(event.sources), tuple(event.sources),
                stated=event.stated))
            cited.append(event.sentence.hit)
        order = undated_note(len({e.sentence.hit.article.id for e in events})) if any(
            e.day is None for e in events) else None
        timeline = Timeline(plan.topic, since, until, tuple(timeline_events), order)
        notes = [note for note in (left_out,) if note]
        if not timeline_events:
            unplaced = ([] if plan.window.is_open
                        else unplaced_note(self.unplaced(plan), timeline))
            return Built(timeline, Reading(no_events_text(timeline), backend="extractive",
                                           abstained=True, notes=[*notes, *unplaced]),
                         unplaced=unplaced)
        reading = Reading(timeline_text(timeline), backend="extractive",
                          citations=[e.citation for e in timeline_events], notes=notes)
        return Built(timeline, reading, cited)

    def events(self, plan: Plan, hits: list[Hit]) -> tuple[list[_Event], str]:
        """The events shown, oldest first, and a note on the events about the topic left out
        (undated, or dated outside the window; empty when none were). With no dated event,
        undated ones and an open window, the undated events (:meth:`undated_events`)."""
        lines = self.lines(plan, hits)
        if not lines.dated and lines.undated and plan.window.is_open:
            return self.undated_events(plan, hits, lines), ""
        shown = self.choose(lines.dated)
        return (sorted(shown, key=lambda e: (e.day, -e.rank)),
                left_out_note(len(lines.undated), lines.outside))

    def lines(self, plan: Plan, hits: list[Hit]) -> _Lines:
        """Each event's line about the topic: passages grouped into events, each group's best
        sentence for the topic (one that states its day preferred), dated."""
        if not hits:
            return _Lines([], [], 0, [], [])
        cfg = self.config
        reports = self.reports(hits)
        groups = group_reports(reports, cfg.timeline_same_event)
        topic_vector = cached(self.retriever.embedder).embed_query(plan.topic)
        centrality = [float(r.vector @ topic_vector) for r in reports]
        groups.sort(key=lambda g: -rank(max(centrality[m] for m in g), len(reach(reports, g))))
        groups = groups[: CANDIDATE_GROUPS * cfg.timeline_events]
        best_hits = [sorted(g, key=lambda m: -centrality[m])[:PASSAGES_PER_EVENT] for g in groups]
        scored = self.scorer.score_sentences(
            plan.topic, [hits[m] for members in best_hits for m in members],
            per_passage=SENTENCES_PER_PASSAGE, keep=is_event_sentence)
        by_hit: dict[int, list[ScoredSentence]] = {}
        for s in scored:  # best first
            by_hit.setdefault(id(s.hit), []).append(s)
        chosen = []  # each group's line: its sentence, its day (None: undated), the group
        for members, best in zip(groups, best_hits, strict=True):
            sentences = [s for m in best for s in by_hit.get(id(hits[m]), [])]
            if not sentences:
                continue
            dates = [event_day(s.text, s.hit.article.published_at) for s in sentences]
            sentence, dated = max(zip(sentences, dates, strict=True), key=lambda sd: (
                sd[1] is not None,
                sd[0].score + (STATED_DAY_BONUS if sd[1] and sd[1][1] == "stated" else 0)))
            chosen.append((sentence, dated, members))
        if not chosen:
            return _Lines([], [], 0, reports, centrality)
        # About the topic: up to the score an answer needs, and near the best line's.
        floor = max(cfg.abstain_threshold,
                    max(s.score for s, _, _ in chosen) - TOPIC_MARGIN)
        outside = 0
        found: list[_Event] = []
        undated: list[tuple[ScoredSentence, list[int]]] = []
        for sentence, dated, members in chosen:
            if sentence.score < floor:
                continue
            if dated is None:
                undated.append((sentence, members))
                continue
            if not plan.window.contains(dated[0]):
                outside += 1
                continue
            cited = sentence.hit.article.id
            sources = [cited, *(a for a in reach(reports, members) if a != cited)]
            found.append(_Event(sentence, dated[0], dated[1], sources,
                                rank(sentence.score, len(sources))))
        return _Lines(found, undated, outside, reports, centrality)

    def undated_events(self, plan: Plan, hits: list[Hit], lines: _Lines) -> list[_Event]:
        """The events of the undated articles about the topic, in the order they report them.

        The articles are those of the undated lines as central to the topic as the most
        central one's, within ``UNDATED_STORY_MARGIN``, the most central first (undated
        articles cannot be ordered among themselves). Every reporting sentence of their
        passages is an event; ``timeline_events`` are shown: each article's best for the
        topic, then the others of the most central article first; one reported again in
        another article adds its sources (``timeline_same_event``). Each article's events
        are together, in the order it tells them
        (:func:`rag.timeline.tense.story_order`). A date a sentence states is shown as it
        states it ("until March 2"); one stating its year is that event's day."""
        cfg = self.config
        central: dict[str, float] = {}
        for _, members in lines.undated:
            for m in members:
                article = lines.reports[m].article_id
                central[article] = max(central.get(article, -1.0), lines.centrality[m])
        lead = max(central.values())
        story = [a for a in sorted(central, key=lambda a: -central[a])
                 if central[a] >= lead - UNDATED_STORY_MARGIN]
        scored = self.scorer.score_sentences(
            plan.topic, [h for h in hits if h.article.id in story], most=UNDATED_SENTENCES,
            keep=is_event_sentence)
        # Each article's best sentence first, then the articles' others, the most central
        # article's first (best for the topic first within one): a story told whole before
        # the next as far as there is room.
        place = {a: i for i, a in enumerate(story)}
        by_place = sorted(scored, key=lambda s: place[s.hit.article.id])  # stable: by score
        best: dict[str, ScoredSentence] = {}
        for s in by_place:
            best.setdefault(s.hit.article.id, s)
        kept: list[ScoredSentence] = []
        sources: dict[int, list[str]] = {}
        for s in [*best.values(), *by_place]:
            if any(s is k for k in kept):
                continue
            mine = [s.hit.article.id, *(a.id for a in s.hit.duplicates)]
            twin = next((k for k in kept if k.hit.article.id != s.hit.article.id
                         and float(k.vector @ s.vector) >= cfg.timeline_same_event), None)
            if twin is not None:
                sources[id(twin)] = list(dict.fromkeys([*sources[id(twin)], *mine]))
            elif len(kept) < cfg.timeline_events:
                kept.append(s)
                sources[id(s)] = mine
        events = []
        for article in story:
            told = sorted((s for s in kept if s.hit.article.id == article), key=lambda s: s.start)
            for i in story_order([s.text for s in told], cfg.ner_model or None):
                s = told[i]
                dated = event_day(s.text, s.hit.article.published_at)
                events.append(_Event(
                    s, None if dated is None else dated[0],
                    "undated" if dated is None else dated[1], sources[id(s)],
                    rank(s.score, len(sources[id(s)])),
                    stated_phrase(s.text) if dated is None else None))
        return events

    def unplaced(self, plan: Plan) -> int:
        """How many undated articles about the topic a timeline asked for a window would
        read without it: an article without a date cannot be placed in any window."""
        filters = plan.filters and dataclasses.replace(plan.filters, date_from=None,
                                                       date_to=None)
        whole = Plan(plan.topic, Window(), filters or None, plan.reference)
        hits = self.retrieve(whole)
        return len({s.hit.article.id for s, _ in self.lines(whole, hits).undated})

    def choose(self, found: list[_Event]) -> list[_Event]:
        """The best ``timeline_events`` events, one per happening: an event whose sentence is
        close to a better one's (``timeline_same_event``) within two days, or
        ``SAME_DAY_SIMILARITY`` on the same day, is that one's report, and adds its sources
        to it."""
        cfg = self.config
        kept: list[_Event] = []
        for event in sorted(found, key=lambda e: -e.rank):
            twin = next((i for i, k in enumerate(kept) if close_in_time(k.day, event.day)
                         and float(k.sentence.vector @ event.sentence.vector) >= (
                             SAME_DAY_SIMILARITY if k.day == event.day
                             else cfg.timeline_same_event)), None)
            if twin is not None:
                k = kept[twin]
                kept[twin] = dataclasses.replace(
                    k, sources=list(dict.fromkeys([*k.sources, *event.sources])))
                continue
            if len(kept) < cfg.timeline_events:
                kept.append(event)
        return kept

    def reports(self, hits: list[Hit]) -> list[Report]:
        """Each hit as a Report, with the vector the index stores for its passage (embedded
        only when the index has none for it)."""
        keys = [h.chunk.key for h in hits]
        stored = self.retriever.index.cached_vectors(list(dict.fromkeys(keys)))
        missing = [h.chunk.embed_text for h, key in zip(hits, keys, strict=True)
                   if key not in stored]
        fresh = iter(cached(self.retriever.embedder).embed(missing) if missing else [])
        out = []
        for hit, key in zip(hits, keys, strict=True):
            vector = stored[key] if key in stored else next(fresh)
            vector = np.asarray(vector, dtype=np.float32)
            norm = float(np.linalg.norm(vector))
            out.append(Report(hit.article.id, published_day(hit.article.published_at),
                              vector / norm if norm else vector,
                              frozenset({hit.article.id, *(a.id for a in hit.duplicates)})))
        return out


def left_out_note(undated: int, outside: int) -> str:
    """What the timeline left out, as a note (empty when nothing was).

    >>> left_out_note(0, 1)
    'left out: 1 dated outside the window'
    """
    parts = []
    if undated:
        parts.append(f"{undated} event{'s' * (undated != 1)} with no date (their articles have "
                     "no publication date)")
    if outside:
        parts.append(f"{outside} dated outside the window")
    return "left out: " + ", ".join(parts) if parts else ""


def undated_note(articles: int) -> str:
    """What a timeline of undated events says of their order, for events of ``articles``.

    >>> print(undated_note(1))
    Undated: the article carries no date, so its events are in the order it reports them.
    """
    if articles == 1:
        return ("Undated: the article carries no date, so its events are in the order it "
                "reports them.")
    return ("Undated: these articles carry no dates, so the events are in the order the "
            "articles report them, each article's together; undated articles cannot be ordered "
            "among themselves (the one closest to the topic comes first).")


def unplaced_note(articles: int, timeline: Timeline) -> list[str]:
    """The notes of a timeline asked for a window that found no event in it, when
    ``articles`` about its topic have no date (none: no note).

    >>> print(unplaced_note(1, Timeline("the strike", "2022-06-01", None))[0])
    1 article about the strike has no date, so it cannot be placed since 2022-06-01; asked \
without a period, the timeline shows its events in the order the article reports them
    """
    if not articles:
        return []
    one = articles == 1
    has, it, its, the = ("has", "it", "its", "the article reports") if one else (
        "have", "they", "their", "the articles report")
    return [f"{articles} article{'' if one else 's'} about {timeline.topic} {has} no date, so "
            f"{it} cannot be placed{window_text(timeline)}; asked without a period, the "
            f"timeline shows {its} events in the order {the} them"]


def window_text(timeline: Timeline) -> str:
    """The window in words.

    >>> window_text(Timeline("t", "2022-06-01", None, ()))
    ' since 2022-06-01'
    """
    if timeline.since and timeline.until:
        return f" from {timeline.since} to {timeline.until}"
    if timeline.since:
        return f" since {timeline.since}"
    if timeline.until:
        return f" until {timeline.until}"
    return ""


def timeline_text(timeline: Timeline) -> str:
    """The timeline as plain text: one line per event, its day, where the day comes from, its
    headline if it has one, its sentence with its [n] and how many sources reported it. An
    undated event says so, with the date its sentence states as it states it, if any.

    >>> from rag.types import Citation
    >>> c = Citation(1, "a", "Polo", "Japan beat Iran 16-13.", 0, 22)
    >>> print(timeline_text(Timeline("Iran water polo", None, None, (
    ...     TimelineEvent("2025-02-27", "published", c.quote, c, 3, ("a", "b", "c")),))))
    - 2025-02-27 (published): Japan beat Iran 16-13. [1] (3 sources)
    >>> print(timeline_text(Timeline("Iran water polo", None, None, (
    ...     TimelineEvent(None, "undated", c.quote, c, 1, ("a",)),
    ...     TimelineEvent(None, "undated", c.quote, c, 1, ("a",), stated="until March 2")))))
    - undated: Japan beat Iran 16-13. [1] (1 source)
    - undated (states "until March 2"): Japan beat Iran 16-13. [1] (1 source)
    """
    return "\n".join(
        f"- {event_when(e)}: {'' if e.headline is None else e.headline + ' — '}"
        f"{e.text} [{e.citation.n}] ({e.sources} source{'s' * (e.sources != 1)})"
        for e in timeline.events)


def event_when(event: TimelineEvent) -> str:
    """When an event happened, as a timeline's line begins: its day and where the day comes
    from, or "undated" and the date its sentence states, as stated.

    >>> from rag.types import Citation
    >>> c = Citation(1, "a", "Polo", "Japan beat Iran 16-13.", 0, 22)
    >>> event_when(TimelineEvent("2025-02-27", "stated", c.quote, c, 1, ("a",)))
    '2025-02-27 (stated)'
    >>> event_when(TimelineEvent(None, "undated", c.quote, c, 1, ("a",), stated="on Monday"))
    'undated (states "on Monday")'
    """
    if event.day is None:
        return "undated" + ("" if event.stated is None else f' (states "{event.stated}")')
    return f"{event.day} ({event.date_source})"


def no_events_text(timeline: Timeline) -> str:
    """What a timeline without events says.

    >>> no_events_text(Timeline("the strike", "2022-06-01", None, ()))
    'The articles report no dated event of the strike since 2022-06-01.'
    """
    return f"The articles report no dated event of {timeline.topic}{window_text(timeline)}."
