"""The path of one question, written once: condense -> retrieve -> read -> Answer.

``AskChain.events`` runs the stages in order and yields each stage as it ends (``StageDone``),
an LLM's text deltas as it writes, then the Answer assembled from what the stages returned;
``RagSystem.ask`` drains it (through ``invoke``, so the chain is also a LangChain runnable),
``RagSystem.ask_stream`` forwards it.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from rag.answering.base import Answerer, reading_depth, shown_passages
from rag.followup import condense_query
from rag.index.base import Hit, SearchFilters
from rag.retrieval import Retriever
from rag.types import Answer, Reading, StageDone


@dataclass(frozen=True)
class CheckedAsk:
    """A question and its options as ``rag.system.check_ask`` checked them (the question
    cleaned, history its last turns): what the chain runs, checked nowhere again.

    ``k``: passages shown (None: the config's ``top_k``); ``backend``: the answer backend
    (None: the config's); ``reference_date``: ISO "today" for time phrases (None: the
    config's, else the real today).
    """

    question: str
    history: tuple[str, ...] = ()
    k: int | None = None
    filters: SearchFilters | None = None
    backend: str | None = None
    reference_date: str | None = None


class AskChain(Runnable[CheckedAsk, Answer]):
    """Retriever and answerer composed once (``RagSystem.chain`` keeps one per answer
    backend): a CheckedAsk in, a cited Answer out.

    The answerer may read deeper than the ``k`` passages the Answer shows (``reading_depth``).
    """

    def __init__(self, retriever: Retriever, answerer: Answerer) -> None:
        self.retriever = retriever
        self.answerer = answerer

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
        from the stages' results (their times are its ``timings_ms``)."""
        started = time.perf_counter()
        query = self.condense(asked.question, list(asked.history))
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
                        notes=[f"searched for: {query}"] if query != asked.question else [])

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
