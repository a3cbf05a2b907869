"""The default answerer: the best supported sentences of the passages, cited, no LLM needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from embeddings.base import Embedder
from rag.answering.answer_types import expected_type, has_type
from rag.answering.base import NO_ANSWER, passages_of
from rag.config import Config
from rag.embed_cache import cached
from rag.index.base import Hit
from rag.sentences import sentence_spans
from rag.text import content_terms
from rag.types import Answer, Citation, source_refs

if TYPE_CHECKING:
    from rag.answering.reader import ShortAnswer, ShortAnswerReader

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


# A runner-up from another article is shown only when it scores within this much of the short
# answer: beyond it, such sentences mostly cited articles that do not answer the question.
RUNNER_UP_MARGIN = 0.1


def evidence_of(candidates: list[ShortAnswer], most: int,
                shown: list[Hit] | None = None) -> list[ScoredSentence]:
    """The sentences of the best ``candidates`` (best first), up to ``most``: the first, then
    runners-up of the ``shown`` passages (all, when None) that are in the first's article or
    score within ``RUNNER_UP_MARGIN`` of it; a candidate whose words an earlier sentence
    already shows is skipped."""
    lead: list[ScoredSentence] = []
    shown_ids = None if shown is None else {id(h) for h in shown}
    for cand in candidates:
        if len(lead) >= most:
            break
        if lead:
            best = candidates[0]
            same = cand.sentence.hit.article.id == best.sentence.hit.article.id
            close = cand.score >= best.score - RUNNER_UP_MARGIN
            if (shown_ids is not None and id(cand.sentence.hit) not in shown_ids) or not (
                    same or close):
                continue
        if cand.sentence in lead or any(cand.text.lower() in s.text.lower() for s in lead):
            continue
        lead.append(cand.sentence)
    return lead


class ExtractiveAnswerer:
    """Scores every sentence of the retrieved passages against the question and cites the best.

    The score blends embedding similarity with the share of question words present. Below
    ``config.abstain_threshold`` the answer abstains instead of offering a weak sentence.
    """

    name = "extractive"

    def __init__(self, embedder: Embedder, config: Config) -> None:
        self.embedder = embedder
        self.config = config
        self._reader: ShortAnswerReader | None = None

    @property
    def reader(self) -> ShortAnswerReader | None:
        """The short-answer reader (None when ``config.ner_model`` is empty); the NER model
        loads on the first answer, not at start-up."""
        if self._reader is None and self.config.ner_model:
            from rag.answering.reader import ShortAnswerReader
            from rag.answering.spans import get_span_finder

            self._reader = ShortAnswerReader(get_span_finder(self.config.ner_model))
        return self._reader

    def depth(self, k: int) -> int:
        """Passages to read when ``k`` are shown: the answer often sits in a deeper one."""
        return max(k, self.config.reader_passages)

    def score_sentences(self, question: str, hits: list[Hit], per_passage: int | None = None,
                        most: int | None = None) -> list[ScoredSentence]:
        """Every distinct sentence of ``hits``, scored against ``question``, best first.

        With ``per_passage``, only that many sentences of each hit, those sharing the most
        question words, are embedded and scored (embedding is the cost; a cheap first cut);
        with ``most``, at most that many in all, by question words shared, then by hit rank.
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
                        or is_question(sentence)):
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
        q_vec = vectors.embed_query(question)
        s_vecs = vectors.embed([f[3] for f in found], batch_size=SENTENCE_BATCH)
        dense = s_vecs @ q_vec
        scored = [
            ScoredSentence(hit, s, e, sentence, float(d), lexical, v)
            for (hit, s, e, sentence, lexical), d, v in zip(found, dense, s_vecs, strict=True)
        ]
        return sorted(scored, key=lambda x: x.score, reverse=True)

    def score(self, question: str, hits: list[Hit]) -> list[ScoredSentence]:
        """The sentences the readers read, scored (``score_sentences`` within
        ``config.reader_sentences_per_passage`` and ``config.reader_max_sentences``)."""
        return self.score_sentences(question, hits,
                                    per_passage=self.config.reader_sentences_per_passage or None,
                                    most=self.config.reader_max_sentences or None)

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        return self.compose(question, hits, self.score(question, hits))

    @staticmethod
    def of_the_asked_kind(question: str, scored: list[ScoredSentence]) -> list[ScoredSentence]:
        """The sentences that can answer ``question``: for "how many" or "when", only those
        stating a number or a date (rag/answering/answer_types.py); else all."""
        kind = expected_type(question)
        return [s for s in scored if has_type(s.text, kind)] if kind else scored

    def should_abstain(self, scored: list[ScoredSentence], question: str | None = None) -> bool:
        """True when no sentence (of the kind ``question`` asks for) scores up to
        ``config.abstain_threshold``."""
        if question is not None:
            scored = self.of_the_asked_kind(question, scored)
        return not scored or scored[0].score < self.config.abstain_threshold

    def without_model(self, question: str, hits: list[Hit], scored: list[ScoredSentence],
                      backend: str) -> Answer | None:
        """For an LLM backend: the abstention it returns without asking its model when no
        sentence (of the kind asked for) is close enough to the question; else None."""
        if not self.should_abstain(scored, question):
            return None
        answer = self.compose(question, hits, scored)
        answer.backend = backend
        answer.notes.append("no retrieved sentence (of the kind asked for) is close enough "
                            "to the question: the model was not asked")
        return answer

    def compose(self, question: str, hits: list[Hit], scored: list[ScoredSentence]) -> Answer:
        """The cited answer from sentences already scored by :meth:`score_sentences`."""
        passages = passages_of(hits)
        scored = self.of_the_asked_kind(question, scored)
        if self.should_abstain(scored):
            return Answer(question, NO_ANSWER, abstained=True, passages=passages,
                          backend=self.name)
        # Sentences beyond the evidence of the short answers come from the passages shown.
        shown = {id(h) for h in hits[: self.config.top_k]}
        chosen = self._select([s for s in scored if id(s.hit) in shown] or scored)
        candidates = self.reader.candidates(question, scored) if self.reader else []
        short = candidates[0] if candidates else None
        if short is not None:
            # The sentence holding the short answer is cited first: its [1] verifies it. Then
            # the sentences of the runners-up not shown yet, so that a reader who doubts the
            # short answer sees the other candidates' evidence.
            lead = evidence_of(candidates, self.config.max_answer_sentences,
                               hits[: self.config.top_k])
            chosen = [*lead, *(c for c in chosen if c not in lead)]
            chosen = chosen[: self.config.max_answer_sentences]
        citations, parts = [], []
        for n, s in enumerate(chosen, start=1):
            a = s.hit.article
            citations.append(Citation(n=n, article_id=a.id, title=a.title, quote=s.text,
                                      start=s.start, end=s.end, source=a.source, url=a.url,
                                      published_at=a.published_at,
                                      also_in=source_refs(s.hit.duplicates)))
            parts.append(f"{s.text} [{n}]")
        return Answer(question, " ".join(parts), citations=citations, passages=passages,
                      backend=self.name, short_answer=short.text if short else None,
                      short_answer_score=short.score if short else None)

    def _select(self, scored: list[ScoredSentence]) -> list[ScoredSentence]:
        """The best sentence, then up to two more that score close to it and add something new."""
        best = scored[0]
        floor = max(self.config.abstain_threshold, best.score - 0.08)
        chosen = [best]
        for cand in scored[1:]:
            if len(chosen) >= self.config.max_answer_sentences or cand.score < floor:
                break
            if all(float(cand.vector @ c.vector) < self.config.redundancy_threshold
                   for c in chosen):
                chosen.append(cand)
        return chosen
