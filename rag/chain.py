"""Retriever and answerer composed as one LangChain runnable: question in, Answer out."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from rag.answering.base import Answerer, reading_depth, shown_passages
from rag.index.base import SearchFilters
from rag.retrieval import Retriever
from rag.types import Answer


def build_chain(retriever: Retriever, answerer: Answerer, *, k: int | None = None,
                filters: SearchFilters | None = None) -> Runnable[dict[str, Any], Answer]:
    """``{"question", "query"?, "reference"?}`` -> Answer, timing each stage.

    ``query`` (default: the question) is what retrieval searches with; a follow-up question is
    rewritten into it from the conversation. ``reference`` (ISO date) is "today" for time
    phrases such as "this week" (default: the config's ``reference_date``). The answerer may
    read deeper than the ``k`` passages the Answer shows (``reading_depth``).
    """

    shown = k or retriever.config.top_k

    def retrieve(inputs: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        hits = retriever.retrieve(inputs.get("query") or inputs["question"],
                                  reading_depth(answerer, shown), filters, inputs.get("reference"))
        return {**inputs, "hits": hits,
                "timings_ms": {"retrieve": (time.perf_counter() - started) * 1000}}

    def answer(inputs: dict[str, Any]) -> Answer:
        started = time.perf_counter()
        result = answerer.answer(inputs["question"], inputs["hits"])
        result.passages = shown_passages(inputs["hits"], shown, result.citations)
        result.timings_ms = {**inputs["timings_ms"], **result.timings_ms,
                             "answer": (time.perf_counter() - started) * 1000}
        return result

    return RunnableLambda(retrieve).with_config(run_name="retrieve") | RunnableLambda(
        answer).with_config(run_name="answer")
