"""Sentences of retrieved passages scored against a question: what the extractive answer, the
sentence reranker, the short-answer readers and the citation verifier all read.

A sentence scores by embedding similarity to the question blended with the share of the
question's words it holds (``ScoredSentence.score``); ``ScoredSentence.cite`` makes the
``Citation`` of one. It sits beside rag/sentences.py and rag/text.py, outside both stages that
use it, so that retrieval (rag/retrieval/rerank.py) and answering need not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from embeddings.base import Embedder
from rag.embed_cache import cached
from rag.index.base import Hit
from rag.sentences import sentence_spans
from rag.text import content_terms
from rag.types import Citation, source_refs

SENTENCE_DENSE_WEIGHT = 0.7
MIN_SENTENCE_WORDS = 4
# Sentences are embedded in small batches: each batch is padded to its longest sentence, and
# 16 took half the time of 64 for 48 news sentences (the encoder sorts them by length first).
SENTENCE_BATCH = 16


@dataclass(frozen=True)
class ScoredSentence:
    hit: Hit
    start: int
    end: int
    text: str
    dense: float
    lexical: float
    vector: np.ndarray = field(repr=False, compare=False)

    @property
    def score(self) -> float:
        return SENTENCE_DENSE_WEIGHT * self.dense + (1 - SENTENCE_DENSE_WEIGHT) * self.lexical

    def cite(self, n: int, *, verified: bool = True) -> Citation:
        """Citation ``[n]`` quoting this sentence at its offsets in its article, with the
        article's near-duplicate copies.

        >>> from rag.articles import Article
        >>> from rag.chunking import Chunk
        >>> a = Article(id="a", title="T", text="Japan won 16-13.", source="CNN")
        >>> hit = Hit(Chunk("a", 0, 0, 16, a.text), a, 0.5)
        >>> c = ScoredSentence(hit, 0, 16, a.text, 0.5, 0.5, np.zeros(1)).cite(2)
        >>> c.n, c.quote, c.source, c.verified
        (2, 'Japan won 16-13.', 'CNN', True)
        """
        a = self.hit.article
        return Citation(n=n, article_id=a.id, title=a.title, quote=self.text, start=self.start,
                        end=self.end, source=a.source, url=a.url, published_at=a.published_at,
                        verified=verified, also_in=source_refs(self.hit.duplicates),
                        collection=self.hit.collection)


def is_question(sentence: str) -> bool:
    """A sentence that asks something, which never answers a question.

    >>> is_question("Who will pay for it?"), is_question('"Why not?" he said.')
    (True, False)
    """
    return sentence.rstrip(" \"'”’)").endswith("?")


def lexical_overlap(question_terms: set[str], text: str) -> float:
    """Share of the question's content words that occur in ``text``."""
    if not question_terms:
        return 0.0
    return len(question_terms & set(content_terms(text))) / len(question_terms)


class SentenceScorer:
    """Scores the sentences of retrieved passages against a question with ``embedder``.

    >>> from rag.scoring import SentenceScorer
    >>> SentenceScorer.__name__
    'SentenceScorer'
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def score_sentences(self, question: str, hits: list[Hit], per_passage: int | None = None,
                        most: int | None = None,
                        keep: Callable[[str, int, int], bool] | None = None,
                        query_vector: np.ndarray | None = None) -> list[ScoredSentence]:
        """Every distinct sentence of ``hits``, scored against ``question``, best first.

        With ``per_passage``, only that many sentences of each hit, those sharing the most
        question words, are embedded and scored (embedding is the cost; a cheap first cut);
        with ``most``, at most that many in all, by question words shared, then by hit rank.
        ``keep(article text, start, end)``, if given, says which sentences may be scored at
        all (a timeline's lines must be whole sentences), before either cut. ``query_vector``,
        if given, is what the sentences are compared with instead of the question's embedding
        (a briefing's story without a topic: the centre of its articles' vectors).
        """
        q_terms = set(content_terms(question))
        seen: set[tuple[str, int]] = set()
        found: list[tuple[Hit, int, int, str, float]] = []
        for hit in hits:
            text = hit.article.text
            mine = []
            for s, e in sentence_spans(hit.chunk.text, offset=hit.chunk.start):
                sentence = text[s:e]
                if ((hit.article.id, s) in seen or len(sentence.split()) < MIN_SENTENCE_WORDS
                        or is_question(sentence) or (keep is not None and not keep(text, s, e))):
                    continue
                seen.add((hit.article.id, s))
                mine.append((hit, s, e, sentence, lexical_overlap(q_terms, sentence)))
            if per_passage is not None:
                mine = sorted(mine, key=lambda f: -f[4])[:per_passage]
            found.extend(mine)
        if most is not None:
            found = sorted(found, key=lambda f: -f[4])[:most]  # stable: hit rank breaks ties
        if not found:
            return []
        # Cached: the sentence reranker has usually embedded these very sentences already.
        vectors = cached(self.embedder)
        q_vec = vectors.embed_query(question) if query_vector is None else query_vector
        s_vecs = vectors.embed([f[3] for f in found], batch_size=SENTENCE_BATCH)
        dense = s_vecs @ q_vec
        scored = [
            ScoredSentence(hit, s, e, sentence, float(d), lexical, v)
            for (hit, s, e, sentence, lexical), d, v in zip(found, dense, s_vecs, strict=True)
        ]
        return sorted(scored, key=lambda x: x.score, reverse=True)
