"""The default answerer: the best supported sentences of the passages, cited, no LLM needed."""

from __future__ import annotations

from dataclasses import replace

from embeddings.base import Embedder
from rag.answering.answer_types import expected_type, has_type
from rag.answering.base import NO_ANSWER, Answerer
from rag.answering.short_answer import ShortAnswer, ShortReader
from rag.answering.short_readers import get_short_reader
from rag.config import Config
from rag.index.base import Hit
from rag.scoring import ScoredSentence, SentenceScorer
from rag.types import Reading

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


class ExtractiveAnswerer(Answerer):
    """Scores every sentence of the retrieved passages against the question and cites the best.

    The score blends embedding similarity with the share of question words present. Below
    ``config.abstain_threshold`` the answer abstains instead of offering a weak sentence.
    """

    name = "extractive"

    def __init__(self, embedder: Embedder, config: Config) -> None:
        self.embedder = embedder
        self.config = config
        self.scorer = SentenceScorer(embedder)
        self._reader: ShortReader | None = None
        self._rules: ShortReader | None = None

    @property
    def reader(self) -> ShortReader | None:
        """The short-answer reader ``config.short_reader`` names (None: the rules reader without
        an NER model); its model loads on the first answer, not at start-up."""
        if self._reader is None:
            self._reader = get_short_reader(self.config)
        return self._reader

    def rules_evidence(self, question: str, scored: list[ScoredSentence],
                       candidates: list[ShortAnswer]) -> list[ShortAnswer]:
        """The rules reader's candidates, whose sentences lead the evidence when the trained
        reader is not sure (``candidates`` when the rules reader is what is configured, or has
        no NER model)."""
        if self.config.short_reader == "rules" or not self.config.ner_model:
            return candidates
        if self._rules is None:
            self._rules = get_short_reader(self.config.replace(short_reader="rules"))
        return self._rules.candidates(question, scored) if self._rules else candidates

    def depth(self, k: int) -> int:
        """Passages to read when ``k`` are shown: the answer often sits in a deeper one."""
        return max(k, self.config.reader_passages)

    def score_sentences(self, question: str, hits: list[Hit], per_passage: int | None = None,
                        most: int | None = None) -> list[ScoredSentence]:
        """``SentenceScorer.score_sentences`` (rag/scoring.py) with this answerer's
        embedder."""
        return self.scorer.score_sentences(question, hits, per_passage, most)

    def score(self, question: str, hits: list[Hit]) -> list[ScoredSentence]:
        """The sentences the readers read, scored (``score_sentences`` within
        ``config.reader_sentences_per_passage`` and ``config.reader_max_sentences``)."""
        return self.score_sentences(question, hits,
                                    per_passage=self.config.reader_sentences_per_passage or None,
                                    most=self.config.reader_max_sentences or None)

    def answer(self, question: str, hits: list[Hit]) -> Reading:
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
                      backend: str) -> Reading | None:
        """For an LLM backend: the abstention it returns without asking its model when no
        sentence (of the kind asked for) is close enough to the question; else None."""
        if not self.should_abstain(scored, question):
            return None
        reading = self.compose(question, hits, scored)
        return replace(reading, backend=backend, notes=[
            *reading.notes, "no retrieved sentence (of the kind asked for) is close enough to "
            "the question: the model was not asked"])

    def compose(self, question: str, hits: list[Hit], scored: list[ScoredSentence]) -> Reading:
        """The cited answer from sentences already scored by :meth:`score_sentences`."""
        scored = self.of_the_asked_kind(question, scored)
        if self.should_abstain(scored):
            return Reading(NO_ANSWER, backend=self.name, abstained=True)
        # Sentences beyond the evidence of the short answers come from the passages shown.
        shown = {id(h) for h in hits[: self.config.top_k]}
        chosen = self._select([s for s in scored if id(s.hit) in shown] or scored)
        reader = self.reader
        candidates = reader.candidates(question, scored) if reader else []
        floor = self.config.reader_abstain_below
        if floor > 0 and self.config.short_reader == "trained" and (
                not candidates or candidates[0].score < floor):
            return Reading(NO_ANSWER, backend=self.name, abstained=True,
                           notes=[f"the reader found no answer in the {len(scored)} sentences "
                                  f"read (best probability below {floor})"])
        short = candidates[0] if candidates and reader and reader.confident(candidates[0]) \
            else None
        # Below the reader's threshold nothing is claimed in bold, and the evidence is ordered
        # by the spaCy spans' reader as before (rules_evidence): it cites the answer more often
        # than the trained reader's unsure guess did (docs/reader.md).
        leads = candidates if short is not None else self.rules_evidence(question, scored,
                                                                         candidates)
        if leads:
            # The sentence holding the short answer is cited first: its [1] verifies it. Then
            # the sentences of the runners-up not shown yet, so that a reader who doubts the
            # short answer sees the other candidates' evidence.
            lead = evidence_of(leads, self.config.max_answer_sentences,
                               hits[: self.config.top_k])
            chosen = [*lead, *(c for c in chosen if c not in lead)]
            chosen = chosen[: self.config.max_answer_sentences]
        citations, parts = [], []
        for n, s in enumerate(chosen, start=1):
            citations.append(s.cite(n))
            parts.append(f"{s.text} [{n}]")
        return Reading(" ".join(parts), backend=self.name, citations=citations,
                       short_answer=short.text if short else None,
                       short_answer_score=short.score if short else None)

    def _select(self, scored: list[ScoredSentence]) -> list[ScoredSentence]:
        """The best sentence, then up to two more that score close to it and add something new."""
        best = scored[0]
        floor = max(self.config.abstain_threshold, best.score - self.config.evidence_margin)
        chosen = [best]
        for cand in scored[1:]:
            if len(chosen) >= self.config.max_answer_sentences or cand.score < floor:
                break
            if all(float(cand.vector @ c.vector) < self.config.redundancy_threshold
                   for c in chosen):
                chosen.append(cand)
        return chosen
