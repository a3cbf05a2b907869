"""The short answer shown in bold: what a short-answer reader returns, and its interface.

Two readers implement ``ShortReader``: ``trained`` (rag/answering/trained_reader.py, the span
reader trained here; the default) and ``rules`` (rag/answering/reader.py, spaCy spans ranked by
hand-set weights; kept as the baseline in eval). Both read sentences already scored
(rag/scoring.py) and return candidates best first; ``confident`` says whether one may
be shown in bold. rag/answering/short_readers.py picks one by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rag.scoring import ScoredSentence


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

