"""A timeline from the index: passages retrieved wide in the window, grouped into events, one
cited sentence per event, the most widely reported and central ones, oldest first.

No model writes anything: each event's line is a sentence of an article, scored against the
topic by ``rag.scoring.SentenceScorer`` and cited by ``ScoredSentence.cite`` like every
extractive citation. Embedding is the cost, so passages are grouped by the vectors the index
already stores for them, and only the sentences of the leading groups' best passages are
embedded (at most ``CANDIDATE_GROUPS`` x ``PASSAGES_PER_EVENT`` x ``SENTENCES_PER_PASSAGE``).
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
from rag.timeline.dating import event_day
from rag.timeline.detect import topic_of
from rag.timeline.group import Report, close_in_time, group_reports, rank, reach
from rag.timeline.lines import is_event_sentence
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
    day: date
    date_source: DateSource
    sources: list[str]
    rank: float


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
        topic dated and cited, the ``timeline_events`` that rank best, oldest first."""
        since, until = plan.window.to_iso()
        events, left_out = self.events(plan, hits)
        timeline_events, cited = [], []
        for n, event in enumerate(events, start=1):
            citation = event.sentence.cite(n)
            timeline_events.append(TimelineEvent(
                event.day.isoformat(), event.date_source, event.sentence.text, citation,
                len(event.sources), tuple(event.sources)))
            cited.append(event.sentence.hit)
        timeline = Timeline(plan.topic, since, until, tuple(timeline_events))
        notes = [note for note in (left_out,) if note]
        if not timeline_events:
            return Built(timeline, Reading(no_events_text(timeline), backend="extractive",
                                           abstained=True, notes=notes))
        reading = Reading(timeline_text(timeline), backend="extractive",
                          citations=[e.citation for e in timeline_events], notes=notes)
        return Built(timeline, reading, cited)

    def events(self, plan: Plan, hits: list[Hit]) -> tuple[list[_Event], str]:
        """The events shown, oldest first, and a note on the events about the topic left out
        (undated, or dated outside the window; empty when none were)."""
        if not hits:
            return [], ""
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
            return [], ""
        # About the topic: up to the score an answer needs, and near the best line's.
        floor = max(cfg.abstain_threshold,
                    max(s.score for s, _, _ in chosen) - TOPIC_MARGIN)
        undated = outside = 0
        found: list[_Event] = []
        for sentence, dated, members in chosen:
            if sentence.score < floor:
                continue
            if dated is None:
                undated += 1
                continue
            if not plan.window.contains(dated[0]):
                outside += 1
                continue
            cited = sentence.hit.article.id
            sources = [cited, *(a for a in reach(reports, members) if a != cited)]
            found.append(_Event(sentence, dated[0], dated[1], sources,
                                rank(sentence.score, len(sources))))
        shown = self.choose(found)
        return sorted(shown, key=lambda e: (e.day, -e.rank)), left_out_note(undated, outside)

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
    headline if it has one, its sentence with its [n] and how many sources reported it.

    >>> from rag.types import Citation
    >>> c = Citation(1, "a", "Polo", "Japan beat Iran 16-13.", 0, 22)
    >>> print(timeline_text(Timeline("Iran water polo", None, None, (
    ...     TimelineEvent("2025-02-27", "published", c.quote, c, 3, ("a", "b", "c")),))))
    - 2025-02-27 (published): Japan beat Iran 16-13. [1] (3 sources)
    """
    return "\n".join(
        f"- {e.day} ({e.date_source}): {'' if e.headline is None else e.headline + ' — '}"
        f"{e.text} [{e.citation.n}] ({e.sources} source{'s' * (e.sources != 1)})"
        for e in timeline.events)


def no_events_text(timeline: Timeline) -> str:
    """What a timeline without events says.

    >>> no_events_text(Timeline("the strike", "2022-06-01", None, ()))
    'The articles report no dated event of the strike since 2022-06-01.'
    """
    return f"The articles report no dated event of {timeline.topic}{window_text(timeline)}."
