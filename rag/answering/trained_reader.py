"""The short answer from the trained span reader, over the best-scored sentences.

Each of the ``config.reader_windows`` best sentences is read with its neighbours in its passage
(the window the reader was trained on: 1-5 sentences); the span is taken from the centre
sentence, so that the sentence cited first is the one holding it. A span's score is the
reader's probability for it; the same words found in several windows keep their best. The
answer shows a span in bold only from ``config.short_answer_threshold`` up (``confident``).
"""

from __future__ import annotations

from functools import cache

from rag.answering.short_answer import ShortAnswer
from rag.answering.span_reader import SpanReader
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


def _heading(sentence: ScoredSentence) -> str:
    """The article's title as a first line: what "the project" or "the club" of a sentence is
    (the reader learned to doubt windows that do not name what the question names)."""
    title = (sentence.hit.article.title or "").strip()
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
        ``sentence``, read in its window (how the LLM's short answer is checked)."""
        a, b = window_of(sentence, {}, self.config.reader_context)
        window = sentence.hit.article.text[a:b]
        return self.span_reader.span_probability(question, window, start - a, end - a)

    def candidates(self, question: str, scored: list[ScoredSentence]) -> list[ShortAnswer]:
        """The spans the reader finds in the best ``config.reader_windows`` sentences, each at
        its most probable occurrence, most probable first."""
        pool = scored[: self.config.reader_windows]
        if not pool:
            return []
        around: dict[int, list[tuple[int, int]]] = {}
        bounds = [window_of(s, around, self.config.reader_context) for s in pool]
        heads = [_heading(s) if self.config.reader_titles else "" for s in pool]
        windows = [h + s.hit.article.text[a:b]
                   for h, s, (a, b) in zip(heads, pool, bounds, strict=True)]
        focus = [(len(h) + s.start - a, len(h) + s.end - a)
                 for h, s, (a, _) in zip(heads, pool, bounds, strict=True)]
        q = question.lower()
        best: dict[str, ShortAnswer] = {}
        read = self.span_reader.read(question, windows, focus)
        for sentence, head, (a, _), found in zip(pool, heads, bounds, read, strict=True):
            if found is None:
                continue
            start = a + found.start - len(head)
            text = found.text.strip(" ,.;:\"'“”‘’()")
            if not text or text.lower() in q:
                continue
            start += found.text.find(text)
            key = text.lower()
            if key not in best or found.probability > best[key].score:
                best[key] = ShortAnswer(text, sentence, start, start + len(text), "span",
                                        found.probability)
        return sorted(best.values(), key=lambda c: -c.score)
