"""An Answer read back from its JSON contract (``Answer.to_json()``): what a stored answer (a
followed feed's briefing, ``rag.feeds.briefs``) is kept as.

Every field is checked for its type; a JSON that is not an Answer's is a ValueError naming the
field, so a damaged file is refused whole rather than shown half.

>>> from rag.types import Citation
>>> c = Citation(1, "a", "Queen", "Queen Elizabeth II died at 96.", 0, 30)
>>> a = Answer(question="q", text="- Queen Elizabeth II died at 96. [1]", citations=[c])
>>> answer_from_json(a.to_json(), "q") == a
True
>>> answer_from_json({"answer": 3}, "q")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: answer: expected str, got int
"""

from __future__ import annotations

from typing import Any, TypeVar

from rag.config import DEFAULT_COLLECTION
from rag.types import (
    Answer,
    Briefing,
    BriefingStory,
    Citation,
    Passage,
    SourceRef,
    Timeline,
    TimelineEvent,
)

T = TypeVar("T")
_NUMBER = (int, float)


def answer_from_json(data: Any, question: str) -> Answer:
    """The Answer whose ``to_json()`` is ``data``, as the answer to ``question`` (the contract
    leaves the question out). ``answer_from_json(a.to_json(), q).to_json() == a.to_json()``."""
    d = _object(data, "the answer")
    timeline, briefing = d.get("timeline"), d.get("briefing")
    score = _opt(d, "short_answer_score", _NUMBER)
    return Answer(
        question=question,
        text=_get(d, "answer", str),
        short_answer=_opt(d, "short_answer", str),
        short_answer_score=None if score is None else float(score),
        abstained=_get(d, "abstained", bool),
        citations=[_citation(c) for c in _get(d, "citations", list)],
        passages=[_passage(p) for p in _get(d, "passages", list)],
        timings_ms={_str(k, "timings_ms"): float(_typed(v, _NUMBER, f"timings_ms.{k}"))
                    for k, v in _get(d, "timings_ms", dict).items()},
        backend=_get(d, "backend", str),
        notes=_strings(_get(d, "notes", list), "notes"),
        unsupported=_strings(_get(d, "unsupported", list), "unsupported"),
        draft=_opt(d, "draft", str),
        fallback=_opt(d, "fallback", str),
        timeline=None if timeline is None else _timeline(timeline),
        briefing=None if briefing is None else _briefing(briefing))


def _citation(data: Any) -> Citation:
    d = _object(data, "a citation")
    return Citation(
        n=_get(d, "n", int), article_id=_get(d, "article_id", str), title=_get(d, "title", str),
        quote=_get(d, "quote", str), start=_get(d, "start", int), end=_get(d, "end", int),
        source=_opt(d, "source", str), url=_opt(d, "url", str),
        published_at=_opt(d, "published_at", str), verified=_get(d, "verified", bool),
        also_in=tuple(_source_ref(r) for r in _get(d, "also_in", list)),
        collection=_opt(d, "collection", str) or DEFAULT_COLLECTION)


def _source_ref(data: Any) -> SourceRef:
    d = _object(data, "an also_in source")
    return SourceRef(_get(d, "article_id", str), _get(d, "title", str), _opt(d, "source", str),
                     _opt(d, "url", str), _opt(d, "published_at", str))


def _passage(data: Any) -> Passage:
    d = _object(data, "a passage")
    return Passage(_get(d, "article_id", str), _get(d, "title", str), _get(d, "text", str),
                   float(_get(d, "score", _NUMBER)), _get(d, "start", int), _get(d, "end", int),
                   _opt(d, "source", str), _opt(d, "url", str), _opt(d, "published_at", str),
                   _opt(d, "collection", str) or DEFAULT_COLLECTION)


def _timeline(data: Any) -> Timeline:
    d = _object(data, "the timeline")
    return Timeline(_get(d, "topic", str), _opt(d, "since", str), _opt(d, "until", str),
                    tuple(_event(e) for e in _get(d, "events", list)), _opt(d, "note", str))


def _event(data: Any) -> TimelineEvent:
    d = _object(data, "an event")
    # An undated event's day is null (TimelineEvent checks it against its date_source).
    return TimelineEvent(_opt(d, "day", str), _get(d, "date_source", str),  # type: ignore[arg-type]
                         _get(d, "text", str), _citation(d.get("citation")),
                         _get(d, "sources", int), tuple(_strings(_get(d, "source_ids", list),
                                                                 "source_ids")),
                         headline=_opt(d, "headline", str), stated=_opt(d, "stated", str))


def _briefing(data: Any) -> Briefing:
    d = _object(data, "the briefing")
    return Briefing(_get(d, "since", str), _get(d, "until", str), _opt(d, "topic", str),
                    tuple(_story(s) for s in _get(d, "stories", list)), _opt(d, "feed", str),
                    built_at=_opt(d, "built_at", str), cached=bool(d.get("cached", False)))


def _story(data: Any) -> BriefingStory:
    d = _object(data, "a story")
    return BriefingStory(_get(d, "headline_text", str), _citation(d.get("citation")),
                         _get(d, "sources", int),
                         tuple(_strings(_get(d, "source_ids", list), "source_ids")),
                         _get(d, "day", str), _get(d, "events", int))


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what} is not a JSON object")
    return data


def _typed(value: Any, kind: type[T] | tuple[type, ...], name: str) -> T:
    # bool is an int in Python, not in JSON: a count or offset must not be true/false.
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        wanted = kind.__name__ if isinstance(kind, type) else "number"
        raise ValueError(f"{name}: expected {wanted}, got {type(value).__name__}")
    return value  # type: ignore[return-value]


def _get(d: dict[str, Any], key: str, kind: type[T] | tuple[type, ...]) -> T:
    return _typed(d.get(key), kind, key)


def _opt(d: dict[str, Any], key: str, kind: type[T] | tuple[type, ...]) -> T | None:
    value = d.get(key)
    return None if value is None else _typed(value, kind, key)


def _str(value: Any, name: str) -> str:
    return _typed(value, str, name)


def _strings(values: list[Any], name: str) -> list[str]:
    return [_str(v, name) for v in values]
