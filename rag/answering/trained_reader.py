"""The short answer from the trained span reader, over the best-scored sentences.

Each of the ``config.reader_windows`` best sentences is read with its neighbours in its passage
(the window the reader was trained on: 1-5 sentences); the span is taken from the centre
sentence, so that the sentence cited first is the one holding it. A span's score is the
reader's probability for it, summed over the spans of its window that stand for the same answer;
a question that asks for a name, a date or a number takes only spans of that kind
(rag/answering/typed_spans.py); the same words found in several windows keep their best. The
answer shows a span in bold only from ``config.short_answer_threshold`` up (``confident``).
"""

from __future__ import annotations

from functools import cache

from rag.answering.answer_types import ANY, asked_type
from rag.answering.short_answer import ShortAnswer
from rag.answering.span_reader import RANKED_SPANS, SpanReader
from rag.answering.spans import NOUN_PHRASE, Span, get_span_finder
from rag.answering.typed_spans import typed_span
from rag.config import Config
from rag.index.base import Hit
from rag.scoring import ScoredSentence
from rag.sentences import sentence_spans


@cache
def shared_span_reader(threads: int = 0) -> SpanReader:
    """One loaded reader per process (it is read-only and thread-safe)."""
    return SpanReader(threads=threads)


def window_of(sentence: ScoredSentence, around: dict[int, list[tuple[int, int]]],
              context: int = 1) -> tuple[int, int]:
    """Article offsets of ``sentence`` with ``context`` sentences before and after it in its
    passage; ``around`` caches each passage's sentence spans."""
    hit: Hit = sentence.hit
    spans = around.get(id(hit))
    if spans is None:
        spans = around[id(hit)] = sentence_spans(hit.chunk.text, offset=hit.chunk.start)
    at = next((i for i, (s, _) in enumerate(spans) if s == sentence.start), None)
    if at is None:
        return sentence.start, sentence.end
    return spans[max(0, at - context)][0], spans[min(len(spans) - 1, at + context)][1]


def heading(title: str | None) -> str:
    """An article's title as the first line of its windows: what "the project" or "the club" of
    a sentence is (the reader learned to doubt windows that do not name what the question names).

    >>> heading("Dam opens"), heading(None)
    ('Dam opens.\\n', '')
    """
    title = (title or "").strip()
    return f"{title}.\n" if title else ""


class TrainedShortReader:
    """Picks the short answer with the trained span reader (rag/answering/span_reader.py).

    >>> from rag.config import Config
    >>> TrainedShortReader(Config(short_answer_threshold=0.6)).threshold
    0.6
    """

    def __init__(self, config: Config, reader: SpanReader | None = None) -> None:
        self.config = config
        self.threshold = config.short_answer_threshold
        self._reader = reader

    @property
    def span_reader(self) -> SpanReader:
        if self._reader is None:
            self._reader = shared_span_reader(self.config.embedding_threads)
        return self._reader

    def confident(self, candidate: ShortAnswer) -> bool:
        """Whether ``candidate`` may be shown in bold."""
        return candidate.score >= self.threshold

    def support(self, question: str, sentence: ScoredSentence, start: int, end: int) -> float:
        """The reader's probability for the answer at article offsets ``start:end`` of
        ``sentence``, read in its window as :meth:`candidates` reads it (headed by its title
        with ``reader_titles``): how the LLM's short answer is checked."""
        a, b = window_of(sentence, {}, self.config.reader_context)
        head = heading(sentence.hit.article.title) if self.config.reader_titles else ""
        window = head + sentence.hit.article.text[a:b]
        shift = len(head) - a
        return self.span_reader.span_probability(question, window, start + shift, end + shift)

    def candidates(self, question: str, scored: list[ScoredSentence]) -> list[ShortAnswer]:
        """The spans the reader finds in the best ``config.reader_windows`` sentences, each at
        its most probable occurrence, most probable first. With ``config.reader_typed``, a
        window's answer is the most probable of its spans of the asked kind
        (rag/answering/typed_spans.py)."""
        pool = scored[: self.config.reader_windows]
        if not pool:
            return []
        around: dict[int, list[tuple[int, int]]] = {}
        bounds = [window_of(s, around, self.config.reader_context) for s in pool]
        heads = [heading(s.hit.article.title) if self.config.reader_titles else "" for s in pool]
        windows = [h + s.hit.article.text[a:b]
                   for h, s, (a, b) in zip(heads, pool, bounds, strict=True)]
        focus = [(len(h) + s.start - a, len(h) + s.end - a)
                 for h, s, (a, _) in zip(heads, pool, bounds, strict=True)]
        q = question.lower()
        asked = asked_type(question) if self.config.reader_typed else ANY
        entities = self._entities(pool) if asked.labels else [[] for _ in pool]
        best: dict[str, ShortAnswer] = {}
        read = self.span_reader.read_ranked(question, windows, focus,
                                            most=RANKED_SPANS if asked.labels else 1)
        for sentence, head, (a, _), spans, found_in in zip(pool, heads, bounds, read, entities,
                                                           strict=True):
            # Spans that stand for the same answer ("Valmora", "Valmora Shipping") pool their
            # probability: the window's answer is the one with the most.
            mass: dict[str, float] = {}
            first: dict[str, tuple[str, int]] = {}
            for found in spans:
                start = a + found.start - len(head)
                picked = typed_span(asked, start, start + len(found.text), found_in,
                                    found.text)
                if picked is None:
                    continue
                start, end = picked
                raw = sentence.hit.article.text[start:end]
                text = raw.strip(" ,.;:\"'“”‘’()")
                if not text or text.lower() in q:
                    continue
                key = text.lower()
                mass[key] = mass.get(key, 0.0) + found.probability
                first.setdefault(key, (text, start + raw.find(text)))
            if not mass:
                continue
            key = max(mass, key=lambda k: mass[k])
            text, start = first[key]
            score = min(1.0, mass[key])
            if key not in best or score > best[key].score:
                best[key] = ShortAnswer(text, sentence, start, start + len(text), "span", score)
        return sorted(best.values(), key=lambda c: -c.score)

    def _entities(self, pool: list[ScoredSentence]) -> list[list[Span]]:
        """The named entities of each sentence of ``pool``, at article offsets (none without a
        named-entity model: then any span fits)."""
        if not self.config.ner_model:
            return [[] for _ in pool]
        finder = get_span_finder(self.config.ner_model)
        found = finder.spans([s.text for s in pool])
        return [[Span(e.text, s.start + e.start, s.start + e.end, e.label) for e in spans
                 if e.label != NOUN_PHRASE] for s, spans in zip(pool, found, strict=True)]
