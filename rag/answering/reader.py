"""The short answer, without an LLM: which span of the best sentences answers the question.

The question says what kind of span it wants (rag/answering/answer_types.py: "which MP" a
person, "how many" a number, "what" anything). Candidate spans are the entities and noun phrases
of the best-scored sentences (rag/answering/spans.py) of that kind, minus what the question
already names. A span scores by its sentence's score, by how close it stands to the question's
words in that sentence, and by how many other top sentences repeat it (news repeats the answer).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.answering.answer_types import asked_type
from rag.answering.short_answer import ShortAnswer
from rag.answering.spans import NOUN_PHRASE, Span, SpanFinder
from rag.date_words import WEEKDAYS
from rag.scoring import ScoredSentence
from rag.text import content_terms

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Entity labels that answer an untyped ("what ...?") question only weakly.
_WEAK_FOR_ANY = frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY", "PERCENT", "MONEY"})


@dataclass(frozen=True)
class ReaderWeights:
    """How a candidate span is scored (tuned on RealTime QA dev through the eval harness)."""

    pool: int = 24  # best sentences whose spans are candidates
    proximity: float = 0.15  # closeness to the question's words in the sentence
    focus: float = 0.15  # closeness to the noun the question asks about ("coach")
    other_kind: float = -0.05  # an organisation for "who", where a person is likelier
    votes: float = 0.10  # share of other pool sentences that repeat the span
    phrase: float = -0.05  # a noun phrase rather than a named entity
    weak_kind: float = -0.10  # a number or date for a question that asked for neither
    partial: float = -0.10  # times the share of the span's words already in the question


class ShortAnswerReader:
    """Picks the short answer among the spans of the best sentences (``read(question,
    scored)``, with ``scored`` from ``ExtractiveAnswerer.score_sentences``)."""

    def __init__(self, finder: SpanFinder, weights: ReaderWeights | None = None) -> None:
        self.finder = finder
        self.weights = weights or ReaderWeights()

    def confident(self, candidate: ShortAnswer) -> bool:
        """Always: the rules reader has no calibrated confidence (the baseline in eval)."""
        return True

    def read(self, question: str, scored: list[ScoredSentence]) -> ShortAnswer | None:
        """The best span of ``scored`` (best first) that answers ``question``, or None."""
        found = self.candidates(question, scored)
        return found[0] if found else None

    def candidates(self, question: str, scored: list[ScoredSentence]) -> list[ShortAnswer]:
        """Every distinct span of ``scored`` (best first) that could answer ``question``, each
        at its best-scoring occurrence, best first."""
        w = self.weights
        pool = scored[: w.pool]
        if not pool:
            return []
        kind = asked_type(question)
        q_terms = set(content_terms(question))
        q_text = question.lower()
        spans = self.finder.spans([s.text for s in pool])
        lowered = [s.text.lower() for s in pool]
        best: dict[str, ShortAnswer] = {}
        focus = set(content_terms(kind.focus)) if kind.focus else set()
        for i, (sentence, found) in enumerate(zip(pool, spans, strict=True)):
            positions = _term_positions(sentence.text, q_terms)
            focus_at = _term_positions(sentence.text, focus) if focus else []
            for span in found:
                terms = content_terms(span.text)
                if not terms:
                    continue
                if is_attribution(span, sentence.text, sentence.hit.article.source, q_text) or (
                        kind.name != "date" and _WEEKDAY.fullmatch(span.text)):
                    continue
                if kind.options:  # "between Iran and Japan": the answer is one of them, in a
                    # sentence that names them all
                    if span.text.lower() not in kind.options or not all(
                            o in lowered[i] for o in kind.options):
                        continue
                    known = -3 * _match_role(question, sentence.text, span)
                else:
                    if kind.labels and span.label not in kind.labels:
                        continue
                    known = sum(t in q_terms for t in terms) / len(terms)
                    if known == 1.0 or span.text.lower() in q_text:
                        continue
                score = sentence.score + w.partial * known
                score += w.proximity * _closeness(span, positions)
                score += w.focus * _closeness(span, focus_at)
                if kind.name == "person" and span.label != "PERSON":
                    score += w.other_kind
                needle = span.text.lower()
                others = sum(needle in text for j, text in enumerate(lowered) if j != i)
                score += w.votes * others / max(1, len(pool) - 1)
                if not kind.labels:
                    if span.label == NOUN_PHRASE:
                        score += w.phrase
                    elif span.label in _WEAK_FOR_ANY:
                        score += w.weak_kind
                if needle not in best or score > best[needle].score:
                    if kind.plural:
                        span = _with_coordinated(span, found, sentence.text)
                    start = sentence.start + span.start
                    best[needle] = ShortAnswer(span.text, sentence, start,
                                               start + len(span.text), span.label, score)
        return sorted(best.values(), key=lambda a: -a.score)


_WEEKDAY = re.compile(rf"(?:on |last |this )?(?:{WEEKDAYS})", re.IGNORECASE)
# "WASHINGTON (CNN) —", "New York (CNN Business)": where the story was filed, and by whom.
_DATELINE_AFTER = re.compile(r"\s*(?:\([A-Z][\w ]*\)|[—–]|--)")


def is_attribution(span: Span, sentence: str, source: str | None, question: str) -> bool:
    """Whether ``span`` is the story's dateline or the outlet that reports it ("CNN" in a
    cnn.com article), which news questions almost never ask for (unless ``question`` names it).

    >>> is_attribution(Span("Washington", 0, 10, "GPE"), "Washington (CNN) The...", None, "")
    True
    >>> is_attribution(Span("CNN", 0, 3, "ORG"), "CNN reported ...", "cnn.com", "who?")
    True
    >>> is_attribution(Span("Japan", 23, 28, "GPE"), "Iran lost the final to Japan.", None, "")
    False
    """
    if span.start < 40 and _DATELINE_AFTER.match(sentence, span.end) and (
            span.start == 0 or not sentence[:span.start].strip(" \n\"'(").isalnum()):
        return True
    if not source:
        return False
    host = source.lower().removeprefix("www.").split("/")[0].split(".")
    outlet = host[-2] if len(host) >= 2 else host[0]
    compact = re.sub(r"[^a-z]", "", span.text.lower())
    return len(outlet) >= 2 and compact.startswith(outlet) and outlet not in question


_ASKS_WINNER = re.compile(r"\b(?:won|win|wins|beat|defeated)\b", re.IGNORECASE)
_ASKS_LOSER = re.compile(r"\b(?:lost|lose|loses)\b", re.IGNORECASE)
_BEATEN_BY = re.compile(r"\b(?:lost|losing|loses|fell|falls|bowed|succumbed) (?:\w+ )?to\s+$",
                        re.IGNORECASE)
_BEAT = re.compile(r"^\W*(?:\w+ ){0,2}?(?:defeated|beat|beats|edged|downed|overcame|"
                   r"won against|triumphed over)\b", re.IGNORECASE)


def _match_role(question: str, sentence: str, span: Span) -> float:
    """For "who won/lost ... between A and B": 1 if the sentence makes ``span`` the winner or
    loser asked for ("lost to Japan", "Iran defeated ..."), -1 for the other role, else 0."""
    wants = 1 if _ASKS_WINNER.search(question) else -1 if _ASKS_LOSER.search(question) else 0
    if not wants:
        return 0.0
    role = 0
    if _BEATEN_BY.search(sentence[max(0, span.start - 30):span.start]) or _BEAT.search(
            sentence[span.end:span.end + 40]):
        role = 1
    elif re.match(r"^\W*(?:\w+ ){0,4}?(?:lost|fell|bowed)\b", sentence[span.end:span.end + 60],
                  re.IGNORECASE):
        role = -1
    return float(wants * role)


_JOINER = re.compile(r"\s*(?:,\s*(?:and|or)?|and|or|&)\s*$")


def _with_coordinated(span: Span, found: list[Span], sentence: str) -> Span:
    """``span`` widened to the list it heads or ends ("A, B and C") of spans of its label."""
    same = sorted((s for s in found if s.label == span.label), key=lambda s: s.start)
    i = same.index(span)
    first = last = i
    while first > 0 and _JOINER.fullmatch(sentence[same[first - 1].end:same[first].start]):
        first -= 1
    while last + 1 < len(same) and _JOINER.fullmatch(sentence[same[last].end:same[last + 1].start]):
        last += 1
    if first == last:
        return span
    start, end = same[first].start, same[last].end
    return Span(sentence[start:end], start, end, span.label)


def _term_positions(sentence: str, q_terms: set[str]) -> list[int]:
    """Character offsets of the words of ``sentence`` that are question words."""
    out = []
    for m in _WORD.finditer(sentence):
        terms = content_terms(m.group())
        if terms and terms[0] in q_terms:
            out.append(m.start())
    return out


def _closeness(span: Span, positions: list[int]) -> float:
    """1 next to a question word (outside the span), falling with the distance in characters;
    0 with none."""
    if not positions:
        return 0.0
    outside = [p for p in positions if not span.start <= p < span.end]
    if not outside:
        return 0.0
    return math.exp(-min(min(abs(p - span.start), abs(p - span.end)) for p in outside) / 40)
