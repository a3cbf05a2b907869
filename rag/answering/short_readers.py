"""The short-answer readers by name (``config.short_reader``): ``trained`` or ``rules``.

Kept out of rag/answering/short_answer.py, the types both readers import, so that no import
cycle runs through the readers; a reader's module loads only when it is asked for.
"""

from __future__ import annotations

from rag.answering.short_answer import ShortReader
from rag.config import Config


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
