"""Timeline-summarisation measures: date selection F1, alignment-based ROUGE, duplicate lines.

Pure functions over dated lines (``Dated``), tested on hand-computed timelines. ROUGE n-gram
counts come from Google's ``rouge-score`` (its tokenizer and Porter stemming), with stopwords
removed first as ROUGE-1.5.5's ``-s`` and the timeline ROUGE of Martschat & Markert (2017) do.

>>> from datetime import date
>>> pred = [Dated(date(2022, 9, 28), "Ian made landfall in Florida.")]
>>> gold = [Dated(date(2022, 9, 28), "Hurricane Ian made landfall in southwest Florida."),
...         Dated(date(2022, 10, 3), "The death toll passed 100.")]
>>> date_f1([p.day for p in pred], [g.day for g in gold])
PRF(precision=1.0, recall=0.5, f1=0.6666666666666666)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import NamedTuple

# A line aligns with a gold event at most this many days away (the "within 2 days" of the
# date F1 and the alignment).
TOLERANCE_DAYS = 2
# Two lines report one happening when both align best with the same gold event with at least
# this ROUGE-1 F each, or when their own ROUGE-1 F reaches NEAR_COPY_F (dates within
# TOLERANCE_DAYS).
GOLD_MATCH_F = 0.2
NEAR_COPY_F = 0.5


class PRF(NamedTuple):
    """Precision, recall and F1 of one measure.

    >>> PRF(0.5, 1.0, 0.667).recall
    1.0
    """

    precision: float
    recall: float
    f1: float


def prf(precision: float, recall: float) -> PRF:
    """Precision, recall and their harmonic mean (0 when both are 0).

    >>> prf(0.5, 1.0).f1
    0.6666666666666666
    """
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1)


@dataclass(frozen=True)
class Dated:
    """A timeline line (predicted or gold): its day and text.

    >>> Dated(date(2022, 7, 7), "Johnson resigned.").day.isoformat()
    '2022-07-07'
    """

    day: date
    text: str


def days_apart(a: date, b: date) -> int:
    return abs((a - b).days)


def date_weight(a: date, b: date) -> float:
    """How much an aligned pair counts: 1 on the same day, 1/2 a day apart, 1/3 two days
    apart (Martschat & Markert's 1 / (|a - b| + 1)).

    >>> date_weight(date(2022, 1, 1), date(2022, 1, 3))
    0.3333333333333333
    """
    return 1 / (days_apart(a, b) + 1)


# --- dates --------------------------------------------------------------------------------
def date_f1(predicted: Sequence[date], gold: Sequence[date], tolerance: int = 0) -> PRF:
    """Date selection: precision is the share of the distinct predicted days within
    ``tolerance`` days of a gold date, recall the share of distinct gold dates within
    ``tolerance`` of a predicted day. Nothing predicted scores 0.

    >>> d = lambda n: date(2022, 9, n)
    >>> date_f1([d(1), d(5), d(9)], [d(1), d(3), d(20)], tolerance=2)
    PRF(precision=0.6666666666666666, recall=0.6666666666666666, f1=0.6666666666666666)
    """
    pred, ref = set(predicted), set(gold)
    if not pred or not ref:
        return PRF(0.0, 0.0, 0.0)
    hit_pred = sum(1 for p in pred if any(days_apart(p, g) <= tolerance for g in ref))
    hit_gold = sum(1 for g in ref if any(days_apart(p, g) <= tolerance for p in pred))
    return prf(hit_pred / len(pred), hit_gold / len(ref))


# --- ROUGE --------------------------------------------------------------------------------
class Rouge:
    """ROUGE-n counts over content words, from ``rouge-score``: its tokenizer (lower case,
    letters and digits) and Porter stemmer, after dropping spaCy's English stopwords and, for
    :meth:`excluding`, some stems (a story's topic words, which do not tell its events apart).

    >>> r = Rouge()
    >>> r.tokens("The storms were landing in Florida")
    ['storm', 'land', 'florida']
    >>> r.count("Ian made landfall in Florida", 2), r.overlap("Ian hit Florida", "Ian hit Cuba", 1)
    (2, 2)
    >>> r.excluding(r.tokens("Hurricane Ian")).tokens("Hurricane Ian hit Cuba")
    ['hit', 'cuba']
    """

    def __init__(self, ignore: frozenset[str] = frozenset()) -> None:
        from rouge_score import rouge_scorer, tokenize, tokenizers
        from spacy.lang.en.stop_words import STOP_WORDS

        stemmer = tokenizers.DefaultTokenizer(use_stemmer=True)
        split = tokenize.tokenize

        class ContentWords(tokenizers.Tokenizer):
            def tokenize(self, text: str) -> list[str]:
                words = [w for w in split(text, None) if w not in STOP_WORDS]
                return [t for t in stemmer.tokenize(" ".join(words)) if t not in ignore]

        self._tokenizer = ContentWords()
        self._scorers = {n: rouge_scorer.RougeScorer([f"rouge{n}"], tokenizer=self._tokenizer)
                         for n in (1, 2)}
        self.tokens = lru_cache(maxsize=4096)(self._tokenizer.tokenize)
        self.ignore = ignore

    def excluding(self, stems: Sequence[str]) -> Rouge:
        """The same counts without ``stems`` (as :meth:`tokens` gives them) either side."""
        return Rouge(self.ignore | frozenset(stems))

    def count(self, text: str, n: int) -> int:
        """How many n-grams ``text`` has."""
        return max(0, len(self.tokens(text)) - n + 1)

    def score(self, prediction: str, reference: str, n: int) -> tuple[float, float, float]:
        """rouge-score's (precision, recall, F) of ``prediction`` against ``reference``."""
        s = self._scorers[n].score(reference, prediction)[f"rouge{n}"]
        return s.precision, s.recall, s.fmeasure

    def overlap(self, prediction: str, reference: str, n: int) -> int:
        """The n-grams the two share (clipped counts): rouge-score's precision times the
        prediction's n-gram count."""
        return round(self.score(prediction, reference, n)[0] * max(self.count(prediction, n), 1))

    def f1(self, a: str, b: str, n: int = 1) -> float:
        return self.score(a, b, n)[2]


# --- alignment ----------------------------------------------------------------------------
def align(predicted: Sequence[Dated], gold: Sequence[Dated], rouge: Rouge,
          tolerance: int = TOLERANCE_DAYS) -> list[tuple[int, int]]:
    """One-to-one alignment of predicted lines to gold events at most ``tolerance`` days apart
    (Hungarian method), maximising the date-weighted unigram overlap, then the date weights:
    (predicted index, gold index) pairs, by predicted index.

    >>> d = lambda n: date(2022, 9, n)
    >>> pred = [Dated(d(2), "Storm hit Cuba"), Dated(d(3), "Storm hit Florida")]
    >>> gold = [Dated(d(3), "Ian hit Florida"), Dated(d(2), "Ian hit Cuba"),
    ...         Dated(d(20), "Toll passed 100")]
    >>> align(pred, gold, Rouge())
    [(0, 1), (1, 0)]
    """
    if not predicted or not gold:
        return []
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    weights = np.zeros((len(predicted), len(gold)))
    for i, p in enumerate(predicted):
        for j, g in enumerate(gold):
            if days_apart(p.day, g.day) <= tolerance:
                weights[i, j] = date_weight(p.day, g.day) * (
                    rouge.overlap(p.text, g.text, 1) + 1e-3)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if weights[i, j] > 0]


def align_rouge(predicted: Sequence[Dated], gold: Sequence[Dated],
                pairs: Sequence[tuple[int, int]], rouge: Rouge, n: int) -> PRF:
    """Alignment-based ROUGE-n of one timeline (Martschat & Markert 2017, "align"): the
    n-grams each aligned pair shares, weighted by :func:`date_weight`, over all predicted
    n-grams (precision) and all gold n-grams (recall). Unaligned lines count only in the
    denominators.

    >>> d = lambda n: date(2022, 9, n)
    >>> pred = [Dated(d(1), "Ian hit Cuba"), Dated(d(9), "Rain fell")]
    >>> gold = [Dated(d(2), "Ian hit western Cuba")]
    >>> [round(x, 4) for x in align_rouge(pred, gold, [(0, 0)], Rouge(), 1)]  # 1.5 / 5, 1.5 / 4
    [0.3, 0.375, 0.3333]
    """
    pred_total = sum(rouge.count(p.text, n) for p in predicted)
    gold_total = sum(rouge.count(g.text, n) for g in gold)
    matched = sum(date_weight(predicted[i].day, gold[j].day)
                  * rouge.overlap(predicted[i].text, gold[j].text, n) for i, j in pairs)
    return prf(matched / pred_total if pred_total else 0.0,
               matched / gold_total if gold_total else 0.0)


def gold_recall(predicted: Sequence[Dated], gold: Sequence[Dated],
                pairs: Sequence[tuple[int, int]], rouge: Rouge, n: int = 1) -> list[float]:
    """Per gold event: the share of its n-grams its aligned line covers, date-weighted (0 when
    no line aligns with it); what the per-event sign test compares."""
    out = [0.0] * len(gold)
    for i, j in pairs:
        total = rouge.count(gold[j].text, n)
        if total:
            out[j] = date_weight(predicted[i].day, gold[j].day) * rouge.overlap(
                predicted[i].text, gold[j].text, n) / total
    return out


# --- duplicates ---------------------------------------------------------------------------
def best_gold(line: Dated, gold: Sequence[Dated], rouge: Rouge,
              tolerance: int = TOLERANCE_DAYS) -> int | None:
    """The gold event a line reports: the one within ``tolerance`` days with the highest
    date-weighted ROUGE-1 F, if that F reaches GOLD_MATCH_F; else None."""
    best, best_score = None, 0.0
    for j, g in enumerate(gold):
        if days_apart(line.day, g.day) > tolerance:
            continue
        f = rouge.f1(line.text, g.text)
        if f >= GOLD_MATCH_F and date_weight(line.day, g.day) * f > best_score:
            best, best_score = j, date_weight(line.day, g.day) * f
    return best


def duplicates(predicted: Sequence[Dated], gold: Sequence[Dated], rouge: Rouge,
               tolerance: int = TOLERANCE_DAYS) -> list[int | None]:
    """Per line, the earlier line of the same timeline that reports the same happening (None
    when there is none): both report the same gold event (:func:`best_gold`), or their dates
    are within ``tolerance`` days and their texts' ROUGE-1 F reaches NEAR_COPY_F. Pass a
    ``rouge`` :meth:`~Rouge.excluding` the story's topic words, which every line shares.

    >>> d = lambda n: date(2022, 9, n)
    >>> gold = [Dated(d(28), "Hurricane Ian made landfall in Florida")]
    >>> pred = [Dated(d(28), "Ian made landfall in Florida on Wednesday"),
    ...         Dated(d(29), "Hurricane Ian landfall Florida coast"),
    ...         Dated(d(29), "Stocks fell on Thursday")]
    >>> duplicates(pred, gold, Rouge())
    [None, 0, None]
    """
    reports = [best_gold(p, gold, rouge, tolerance) for p in predicted]
    out: list[int | None] = []
    for i, p in enumerate(predicted):
        same = next((j for j in range(i) if (
            reports[i] is not None and reports[i] == reports[j]) or (
            days_apart(p.day, predicted[j].day) <= tolerance
            and rouge.f1(p.text, predicted[j].text) >= NEAR_COPY_F)), None)
        out.append(same)
    return out
