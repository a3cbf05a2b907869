"""Question answering over news articles, every claim cited to the passage that supports it.

>>> import tempfile
>>> from rag import SAMPLE_CORPUS, Config, RagSystem
>>> system = RagSystem(Config(index_dir=tempfile.mkdtemp()))
>>> system.ingest_paths([SAMPLE_CORPUS]).added
7
>>> answer = system.ask("What was the final score of the water polo match?")
>>> "16-13" in answer.citations[0].quote, answer.citations[0].title
(True, 'Iran Falls to Japan in Thrilling Match at 2025 Asian Water Polo Championship')

``answer.short_answer`` is a span of a cited sentence, or None (as here) when the trained reader
is not sure enough to claim one in bold.

``ask(question)`` does the same on the default index (``./.rag-index``, built from the sample
corpus on first use).
"""

from __future__ import annotations

from pathlib import Path

from rag.articles import Article
from rag.config import Config
from rag.errors import (
    BadInputError,
    DiskFullError,
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexReadOnlyError,
    IndexWriteError,
    RagError,
)
from rag.index.base import SearchFilters
from rag.retrieval.filters import make_filters
from rag.system import SAMPLE_CORPUS, RagSystem, get_system
from rag.types import Answer, Citation, Passage, Timeline, TimelineEvent


def ask(question: str, *, index_dir: str | Path | None = None, config: Config | None = None,
        k: int | None = None, filters: SearchFilters | None = None,
        history: list[str] | None = None, backend: str | None = None,
        reference_date: str | None = None, timeline: bool | None = None) -> Answer:
    """Answer ``question`` from the articles in the index, citing each claim as [n].

    With no index configured, the sample corpus is indexed on first use. ``history`` holds the
    earlier questions of a conversation, so a short follow-up keeps its topic. ``filters``
    restricts the articles searched, e.g. ``make_filters("cnn.com", since="2022-06-01")``.
    ``reference_date`` (ISO date, default today) is what "this week" or "yesterday" refer to.
    ``timeline``: answer with a timeline of the story (``Answer.timeline``), never, or (None)
    when the question asks what happened (docs/timelines.md).
    """
    config = config or Config.from_env()
    if index_dir is not None:
        config = config.replace(index_dir=Path(index_dir))
    return get_system(config).ask(question, k=k, filters=filters, history=history,
                                  backend=backend, reference_date=reference_date,
                                  timeline=timeline)


__all__ = ["SAMPLE_CORPUS", "Answer", "Article", "BadInputError", "Citation", "Config",
           "DiskFullError", "IndexBusyError", "IndexDamagedError", "IndexMismatchError",
           "IndexNotFoundError", "IndexReadOnlyError", "IndexWriteError", "Passage",
           "RagError", "RagSystem", "SearchFilters", "Timeline", "TimelineEvent", "ask",
           "get_system", "make_filters"]
