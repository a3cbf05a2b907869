"""The short answer shown in bold: what a short-answer reader returns, and the readers by name.

Two readers implement ``ShortReader``: ``trained`` (rag/answering/trained_reader.py, the span
reader trained here; the default) and ``rules`` (rag/answering/reader.py, spaCy spans ranked by
hand-set weights; kept as the baseline in eval). Both read sentences already scored
(rag/answering/scoring.py) and return candidates best first; ``confident`` says whether one may
be shown in bold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rag.answering.scoring import ScoredSentence
from rag.config import Config


@dataclass(frozen=True)
class ShortAnswer:
    """``text``, a span of ``sentence`` at article offsets ``start:end``; ``score``: the
    reader's confidence (the trained reader's probability; the rules reader's weighted sum)."""

    text: str
    sentence: ScoredSentence
    start: int
    end: int
    label: str
    score: float


class ShortReader(Protocol):
    """Finds the short answer among scored sentences."""

    def candidates(self, question: str, scored: list[ScoredSentence]) -> list[ShortAnswer]:
        """Distinct candidate answers, best first."""
        ...

    def confident(self, candidate: ShortAnswer) -> bool:
        """Whether ``candidate`` may be shown in bold."""
        ...


def get_short_reader(config: Config) -> ShortReader | None:
    """The reader ``config.short_reader`` names (None: ``rules`` without ``config.ner_model``).

    >>> get_short_reader(Config(short_reader="rules", ner_model="")) is None
    True
    """
    if config.short_reader == "trained":
        from rag.answering.trained_reader import TrainedShortReader

        return TrainedShortReader(config)
    if not config.ner_model:
        return None
    from rag.answering.reader import ShortAnswerReader
    from rag.answering.spans import get_span_finder

    return ShortAnswerReader(get_span_finder(config.ner_model))
