"""Word-level helpers shared by lexical scoring: stemmed content words of a text."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:[’'][^\W_]+)*", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | {"say", "said", "says", "according"}


def content_terms(text: str) -> list[str]:
    """Lower-cased, stemmed words of ``text`` without stopwords.

    >>> content_terms("What did the engines say about Russia's jets?")
    ['engin', 'russia', 'jet']
    """
    stop = stopwords()
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    words = [w.removesuffix("'s") for w in words if w not in stop]
    return [w for w in _stemmer().stemWords([w for w in words if w not in stop]) if w]
