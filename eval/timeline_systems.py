"""The timeline makers ``eval timeline`` scores, each giving a story's events in the JSON of
``Answer.to_json()["timeline"]["events"]``:

- ``ours``: ``RagSystem.timeline(topic, since, until, as_of=until)`` as users call it.
- ``retrieval``: plain retrieval, the baseline: the top-k passages for the story's question
  within [since, until], oldest first, each one line: its article's publication day and the
  passage's first sentence, quoted from the article (so cited, and verified by comparing the
  quote with the article's text at its span).
"""

from __future__ import annotations

from typing import Any, Protocol

from eval.timeline_gold import GoldStory
from rag.config import Config
from rag.errors import BadInputError
from rag.index.base import Hit, SearchFilters
from rag.sentences import sentence_spans
from rag.system import RagSystem

SYSTEMS = ("ours", "retrieval")
# Lines of the baseline when the config has no ``timeline_events`` setting.
DEFAULT_EVENTS = 10


def default_k(config: Config) -> int:
    """How many lines a timeline may show: ``timeline_events`` where the config has it.

    >>> default_k(Config()) >= 1
    True
    """
    return int(getattr(config, "timeline_events", 0) or DEFAULT_EVENTS)


class TimelineSystem(Protocol):
    """What ``eval timeline`` asks: a ``name`` and a story's timeline events."""

    name: str

    def timeline(self, story: GoldStory) -> list[dict[str, Any]]:
        """The events of ``story``'s timeline, as JSON objects (day, date_source, text,
        sources, source_ids, citation)."""
        ...


class OursTimeline:
    """``RagSystem.timeline`` over the story's topic and window, asked on its last day; a
    system without it is refused.

    >>> OursTimeline(object())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    rag.errors.BadInputError: this version of rag has no RagSystem.timeline ...
    """

    name = "ours"

    def __init__(self, system: RagSystem) -> None:
        if not callable(getattr(system, "timeline", None)):
            raise BadInputError(
                "this version of rag has no RagSystem.timeline (issue #27, parts 1 and 3): "
                "score the baseline alone with --baseline retrieval")
        self.system = system

    def timeline(self, story: GoldStory) -> list[dict[str, Any]]:
        answer = self.system.timeline(  # type: ignore[attr-defined]
            story.topic, story.since.isoformat(), story.until.isoformat(),
            as_of=story.until.isoformat())
        part = answer.to_json().get("timeline") or {}
        return list(part.get("events") or [])


class RetrievalTimeline:
    """The baseline: top-``k`` passages for the story's question in its window, by date.

    >>> RetrievalTimeline(None, 0)  # type: ignore[arg-type]
    Traceback (most recent call last):
    rag.errors.BadInputError: the baseline needs k >= 1 lines, not 0
    """

    name = "retrieval"

    def __init__(self, system: RagSystem, k: int) -> None:
        if k < 1:
            raise BadInputError(f"the baseline needs k >= 1 lines, not {k}")
        self.system = system
        self.k = k

    def timeline(self, story: GoldStory) -> list[dict[str, Any]]:
        window = SearchFilters(date_from=story.since.isoformat(),
                               date_to=story.until.isoformat())
        hits = self.system.retriever.retrieve(self.system.check_question(story.query), self.k,
                                              window, reference=story.until)
        events = [passage_event(h) for h in hits]
        return sorted(events, key=lambda e: e["day"] or "9999")  # stable: ties keep rank


def passage_event(hit: Hit) -> dict[str, Any]:
    """A passage as one timeline line: its article's publication day and its first sentence."""
    chunk, article = hit.chunk, hit.article
    spans = sentence_spans(chunk.text, offset=chunk.start) or [(chunk.start, chunk.end)]
    start, end = spans[0]
    quote = chunk.text[start - chunk.start:end - chunk.start]
    copies = [a.id for a in hit.duplicates]
    return {"day": (article.published_at or "")[:10] or None, "date_source": "published",
            "text": quote, "sources": 1 + len(copies), "source_ids": [article.id, *copies],
            "citation": {"article_id": article.id, "quote": quote, "start": start, "end": end,
                         "verified": article.text[start:end] == quote}}


def make_timeline_system(name: str, system: RagSystem, k: int | None = None) -> TimelineSystem:
    """The timeline maker called ``name`` (one of SYSTEMS) over ``system``'s index."""
    if name == "ours":
        return OursTimeline(system)
    if name == "retrieval":
        return RetrievalTimeline(system, k or default_k(system.config))
    raise BadInputError(f"unknown timeline system {name!r}; choose one of {', '.join(SYSTEMS)}")
