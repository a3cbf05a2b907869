"""The path of one question, written once: condense -> retrieve -> read -> Answer.

``AskChain.events`` runs the stages in order and yields each stage as it ends (``StageDone``),
an LLM's text deltas as it writes, then the Answer assembled from what the stages returned;
``RagSystem.ask`` drains it (through ``invoke``, so the chain is also a LangChain runnable),
``RagSystem.ask_stream`` forwards it.

A timeline question (asked for, or told by its words: ``rag.timeline.asks_for_timeline``) runs
the same stages in timeline mode: retrieve wide in its window, read the passages into dated
events (``rag.timeline.build``), and the Answer carries the ``Timeline``. A request for the
period's news on no topic ("What's new this week?": ``rag.briefing.asks_for_briefing``) runs
them in briefing mode: the window's articles grouped into stories (``rag.briefing.build``), and
the Answer carries the ``Briefing``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from rag.answering.base import Answerer, passages_of, reading_depth, shown_passages
from rag.briefing import asks_for_briefing
from rag.briefing.build import BriefingBuilder, BriefPlan
from rag.briefing.span import DEFAULT_SINCE, since_day
from rag.followup import condense_query
from rag.index.base import Hit, SearchFilters
from rag.retrieval import Retriever
from rag.retrieval.dates import reference_day
from rag.timeline import asks_for_timeline
from rag.timeline.build import Built, TimelineBuilder
from rag.timeline.window import question_window
from rag.types import Answer, Reading, StageDone


@dataclass(frozen=True)
class CheckedAsk:
    """A question and its options as ``rag.system.check_ask`` checked them (the question
    cleaned, history its last turns): what the chain runs, checked nowhere again.

    ``k``: passages shown (None: the config's ``top_k``); ``backend``: the answer backend
    (None: the config's); ``reference_date``: ISO "today" for time phrases (None: the
    config's, else the real today); ``timeline``: answer with a timeline (True), never
    (False), or when the question's words ask for one (None).
    """

    question: str
    history: tuple[str, ...] = ()
    k: int | None = None
    filters: SearchFilters | None = None
    backend: str | None = None
    reference_date: str | None = None
    timeline: bool | None = None


class AskChain(Runnable[CheckedAsk, Answer]):
    """Retriever and answerer composed once (``RagSystem.chain`` keeps one per answer
    backend): a CheckedAsk in, a cited Answer out.

    The answerer may read deeper than the ``k`` passages the Answer shows (``reading_depth``).
    """

    def __init__(self, retriever: Retriever, answerer: Answerer) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.timelines = TimelineBuilder(retriever)
        self.briefings = BriefingBuilder(retriever)

    def invoke(self, input: CheckedAsk, config: RunnableConfig | None = None,
               **kwargs: Any) -> Answer:
        """The Answer to ``input``: :meth:`events` drained."""
        return self._call_with_config(self._last, input, config, run_type="chain")

    def _last(self, asked: CheckedAsk) -> Answer:
        *_, answer = self.events(asked)
        assert isinstance(answer, Answer)
        return answer

    def events(self, asked: CheckedAsk) -> Iterator[str | StageDone | Answer]:
        """The stages in order: retrieval done, text deltas while an LLM writes (its [n] are
        passage numbers, as in the final answer), reading done, then the Answer, built once
        from the stages' results (their times are its ``timings_ms``).

        A timeline question yields the same stages read as a timeline. One whose words asked
        for a timeline (``timeline`` None) but whose passages hold no event it can show (none
        dated in its window; undated ones only without a window) is then answered as a
        question (a second retrieval, with a note saying so)."""
        started = time.perf_counter()
        query = self.condense(asked.question, list(asked.history))
        notes: list[str] = []
        if asked.timeline is None and asks_for_briefing(asked.question):
            answer = yield from self.briefing_events(asked.question,
                                                     self.briefing_plan(asked), started)
            yield answer
            return
        if asked.timeline or (asked.timeline is None and asks_for_timeline(asked.question)):
            answer = yield from self.timeline_events(asked, query, started)
            if isinstance(answer, Answer):
                yield answer
                return
            notes.extend([*answer, "asked as a timeline, but the articles report no dated "
                                   "event of it: answered as a question"])
        searched = time.perf_counter()
        shown = asked.k or self.retriever.config.top_k
        hits = self.retriever.retrieve(query, reading_depth(self.answerer, shown), asked.filters,
                                       asked.reference_date)
        retrieved = time.perf_counter()
        found = StageDone("retrieve", (retrieved - searched) * 1000, query, len(hits))
        yield found
        # An LLM sees no history, so it answers the standalone question.
        reading = yield from self.read(query if self.answerer.can_condense else asked.question,
                                       hits)
        answered = StageDone("answer", (time.perf_counter() - retrieved) * 1000)
        yield answered
        yield Answer.of(asked.question, reading,
                        passages=shown_passages(hits, shown, reading.citations),
                        timings_ms={found.name: found.ms, **reading.timings_ms,
                                    answered.name: answered.ms,
                                    "total": (time.perf_counter() - started) * 1000},
                        notes=[*([f"searched for: {query}"] if query != asked.question else []),
                               *notes])

    def timeline_events(self, asked: CheckedAsk, query: str, started: float
                        ) -> Generator[StageDone, None, Answer | list[str]]:
        """The stages in timeline mode: ``query`` searched wide in its window (retrieve), the
        passages read into dated events (answer); returns the Answer with its ``Timeline``, or
        the notes the empty timeline passes on (``Built.unplaced``) when there is no event and
        the question did not insist (``timeline`` None)."""
        builder = self.timelines
        reference = reference_day(asked.reference_date or self.retriever.config.reference_date)
        plan = builder.plan(query, asked.filters, reference)
        searched = time.perf_counter()
        hits = builder.retrieve(plan)
        retrieved = time.perf_counter()
        found = StageDone("retrieve", (retrieved - searched) * 1000, plan.topic, len(hits))
        built = builder.read(plan, hits)
        if not built.timeline.events and asked.timeline is None:
            return built.unplaced  # nothing yielded: the question's retrieval is the one
        yield found
        built = self.headlined(built)
        answered = StageDone("answer", (time.perf_counter() - retrieved) * 1000)
        yield answered
        return Answer.of(asked.question, built.reading, passages=passages_of(built.hits),
                         timings_ms={found.name: found.ms, **built.reading.timings_ms,
                                     answered.name: answered.ms,
                                     "total": (time.perf_counter() - started) * 1000},
                         timeline=built.timeline)

    def headlined(self, built: Built) -> Built:
        """``built`` with its events' headlines when ``timeline_headlines`` is on and the
        answerer has a model to write them (``can_headline``); else as it is."""
        events = built.timeline.events
        if not (self.retriever.config.timeline_headlines and self.answerer.can_headline
                and events):
            return built
        return built.with_headlines(self.answerer.headlines(built.timeline.topic,
                                                            [e.text for e in events]))

    def briefing_plan(self, asked: CheckedAsk) -> BriefPlan:
        """The briefing a question asks for: the window its time phrase names (default: the
        last ``DEFAULT_SINCE``), up to its reference day, within its filters' dates."""
        reference = reference_day(asked.reference_date or self.retriever.config.reference_date)
        window = question_window(asked.question, reference)
        until = min(window.until or reference, reference)
        since = min(window.since or since_day(DEFAULT_SINCE, reference), until)
        filters = asked.filters
        window = dataclasses.replace(window, since=since, until=until).within(
            filters.date_from if filters else None, filters.date_to if filters else None)
        return self.briefings.plan(window, reference, base=filters)

    def briefing_events(self, question: str, plan: BriefPlan, started: float
                        ) -> Generator[StageDone, None, Answer]:
        """The stages in briefing mode: the window's articles gathered (or the topic's passages
        retrieved in it: retrieve), read into stories (answer); returns the Answer with its
        ``Briefing``."""
        builder = self.briefings
        searched = time.perf_counter()
        hits = builder.gather(plan)
        retrieved = time.perf_counter()
        found = StageDone("retrieve", (retrieved - searched) * 1000, plan.topic or "", len(hits))
        yield found
        built = builder.read(plan, hits)
        answered = StageDone("answer", (time.perf_counter() - retrieved) * 1000)
        yield answered
        return Answer.of(question, built.reading, passages=passages_of(built.hits),
                         timings_ms={found.name: found.ms, answered.name: answered.ms,
                                     "total": (time.perf_counter() - started) * 1000},
                         briefing=built.briefing)

    def brief(self, question: str, plan: BriefPlan) -> Answer:
        """The briefing ``plan`` asks for, as the Answer to ``question`` (its title)."""
        stages = self.briefing_events(question, plan, time.perf_counter())
        while True:
            try:
                next(stages)
            except StopIteration as done:
                return done.value

    def condense(self, question: str, history: list[str]) -> str:
        """The retrieval query: a follow-up rewritten by the answerer's model if it has one,
        else by rule."""
        if self.answerer.can_condense:
            return self.answerer.condense(question, history)
        return condense_query(question, history)

    def read(self, question: str, hits: list[Hit]) -> Generator[str, None, Reading]:
        """The answerer's Reading of ``hits``, yielding its text deltas if it streams."""
        if not self.answerer.can_stream:
            return self.answerer.answer(question, hits)
        reading = None
        for item in self.answerer.stream(question, hits):
            if isinstance(item, str):
                yield item
            else:
                reading = item
        if reading is None:
            raise RuntimeError(f"the {self.answerer.name} answerer's stream ended without "
                               "its reading")
        return reading
