"""Pure metric functions: retrieval ranks, answer matching, citations, thresholds, percentiles.

Nothing here touches a model or a file, so every function is tested on hand-computed cases.

>>> hit_at_k(["a", "b", "c"], {"c"}, 2), reciprocal_rank(["a", "b", "c"], {"c"}, 10)
(0.0, 0.3333333333333333)
>>> normalize_answer("The Three Bears!")
'3 bears'
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
}
ARTICLES = {"a", "an", "the"}
_CITATION_MARK = re.compile(r"\[\d+\]")
# Keep a decimal point or thousands separator between digits ("3.5", "1,000") as one token.
_NUMBER_PUNCT = re.compile(r"(?<=\d)[.,](?=\d)")
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}‘’“”–—…]")
# "$5 million" and "5 million dollars", "47%" and "47 percent", "&" and "and" read the same.
_CURRENCIES = {"$": "dollars", "£": "pounds", "€": "euros"}
_MONEY = re.compile(r"(?:us)?([$£€])\s?(\d[\d,.]*(?:\s?(?:million|billion|trillion|thousand|"
                    r"m|bn|k)\b)?)", re.IGNORECASE)
_PERCENT = re.compile(r"(?<=\d)\s?(?:%|per ?cent\b)", re.IGNORECASE)


# --- answers ------------------------------------------------------------------------------
def normalize_answer(text: str) -> str:
    """Lower-case; drop [n] markers, punctuation and articles; number words as digits.

    >>> normalize_answer("An engine, Twenty-one jets [1]")
    'engine 21 jets'
    >>> normalize_answer("$5 & 47%"), normalize_answer("5 dollars and 47 percent")
    ('5 dollars and 47 percent', '5 dollars and 47 percent')
    """
    text = _CITATION_MARK.sub(" ", text.lower())
    text = _MONEY.sub(lambda m: f"{m.group(2)} {_CURRENCIES[m.group(1)]}", text)
    text = _PERCENT.sub(" percent", text).replace("&", " and ")
    text = _NUMBER_PUNCT.sub(lambda m: "" if m.group(0) == "," else "·", text)
    text = _PUNCT.sub(" ", text).replace("·", ".")
    words = [NUMBER_WORDS.get(w, w) for w in text.split() if w not in ARTICLES]
    return " ".join(_join_compound_numbers(words))


def _join_compound_numbers(words: list[str]) -> list[str]:
    """"20 1" (from "twenty-one") becomes "21"."""
    out: list[str] = []
    for w in words:
        if (out and len(w) == 1 and w.isdigit() and out[-1].isdigit() and len(out[-1]) == 2
                and out[-1].endswith("0") and out[-1] != "10"):
            out[-1] = str(int(out[-1]) + int(w))
        else:
            out.append(w)
    return out


def contains_answer(prediction: str, answers: Sequence[str], match: str = "any") -> bool:
    """Whether the normalized prediction contains an answer (``all``: every answer part).

    Matching is on whole words, so "1994" does not match "19945".
    """
    return contains_normalized(f" {normalize_answer(prediction)} ", answers, match)


def contains_normalized(padded: str, answers: Sequence[str], match: str = "any") -> bool:
    """``contains_answer`` on a text already normalized and padded with spaces, so that a large
    text is normalized once for many questions.

    >>> contains_normalized(" the final ended 16 13 ", ["16-13"])
    True
    """
    wanted = [f" {a} " for a in map(normalize_answer, answers) if a]
    if not wanted:
        return False
    found = [w in padded for w in wanted]
    return all(found) if match == "all" else any(found)


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """Best bag-of-words F1 of the normalized prediction against any answer (SQuAD style)."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for answer in answers:
        gold = normalize_answer(answer).split()
        common = sum((Counter(pred) & Counter(gold)).values())
        if not common:
            continue
        p, r = common / len(pred), common / len(gold)
        best = max(best, 2 * p * r / (p + r))
    return best


def exact_match(prediction: str, answers: Sequence[str]) -> bool:
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(a) for a in answers)


# A right short answer holds a gold answer and has at most this many times its words.
RIGHT_MAX_WORDS = 3


def short_right(prediction: str, answers: Sequence[str], match: str = "any") -> bool:
    """Whether a shown short answer is right: its normalized words hold a gold answer's as
    whole words (``all``: every answer part) and number at most ``RIGHT_MAX_WORDS`` times that
    answer's (its parts' together), i.e. token F1 >= 0.5 against the answer it holds.

    >>> short_right("Coach Hossein Abdi", ["Hossein Abdi"]), short_right("Abdi", ["Hossein Abdi"])
    (True, False)
    >>> short_right("13", ["16-13"]), short_right("the AFC U-20 Asian Cup China", ["China"])
    (False, False)
    """
    words = normalize_answer(prediction).split()
    padded = f" {' '.join(words)} "
    golds = [g.split() for g in map(normalize_answer, answers) if g]
    held = [g for g in golds if f" {' '.join(g)} " in padded]
    if not words or not held:
        return False
    if match == "all":
        return len(held) == len(golds) and len(words) <= RIGHT_MAX_WORDS * sum(map(len, golds))
    return any(len(words) <= RIGHT_MAX_WORDS * len(g) for g in held)


# --- right or silent: short answers ranked by their confidence ----------------------------
@dataclass(frozen=True)
class CurvePoint:
    """Showing only the short answers scored at least ``threshold`` (None: all of them, those
    without a score too): ``coverage`` of the answerable questions shown, ``precision`` of
    those right."""

    threshold: float | None
    coverage: float
    precision: float


def precision_coverage(shown: Sequence[tuple[float | None, bool]],
                       n_answerable: int) -> list[CurvePoint]:
    """The precision-coverage curve of the ``(score, right)`` short answers shown on
    ``n_answerable`` answerable questions, as the threshold falls from the best score: one
    point per distinct score (tied answers enter together), then one for the unscored (None
    ranks last).

    >>> [(p.threshold, p.coverage, round(p.precision, 3))
    ...  for p in precision_coverage([(0.7, True), (0.9, True), (0.8, False)], 4)]
    [(0.9, 0.25, 1.0), (0.8, 0.5, 0.5), (0.7, 0.75, 0.667)]
    """
    if n_answerable < len(shown):
        raise ValueError(f"{len(shown)} shown answers among {n_answerable} questions")
    scores = sorted({s for s, _ in shown if s is not None}, reverse=True)
    steps: list[float | None] = [*scores, *([None] if any(s is None for s, _ in shown) else [])]
    points = []
    for t in steps:
        kept = [right for s, right in shown if t is None or (s is not None and s >= t)]
        points.append(CurvePoint(t, len(kept) / n_answerable, sum(kept) / len(kept)))
    return points


def area_under_curve(points: Sequence[CurvePoint]) -> float:
    """Area under the precision-coverage curve, coverage from 0 to 1 (precision 0 beyond the
    last point): each step's precision times the coverage it adds. At most the last point's
    coverage (every answer right); for given answers, largest when every right one ranks
    first; with one score for all answers it is precision x coverage.

    >>> round(area_under_curve(precision_coverage([(0.9, True), (0.8, False), (0.7, True)], 4)), 4)
    0.5417
    >>> area_under_curve(precision_coverage([(0.5, True), (0.5, False)], 4))
    0.25
    >>> area_under_curve([])
    0.0
    """
    area, covered = 0.0, 0.0
    for p in points:
        area += p.precision * (p.coverage - covered)
        covered = p.coverage
    return area


# --- retrieval (article level) ---------------------------------------------------------
def dedupe(ids: Iterable[str]) -> list[str]:
    """Ids in first-seen order, each once (passages -> ranked articles)."""
    return list(dict.fromkeys(ids))


def first_hit_rank(ranked: Sequence[str], gold: set[str]) -> int | None:
    """1-based rank of the first gold id, or None."""
    return next((i for i, doc in enumerate(ranked, start=1) if doc in gold), None)


def hit_at_k(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return 1.0 if any(doc in gold for doc in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    rank = first_hit_rank(ranked[:k], gold)
    return 1.0 / rank if rank else 0.0


def recall_at_k(ranked: Sequence[str], gold: set[str], k: int) -> float:
    if not gold:
        return 0.0
    return len(set(ranked[:k]) & gold) / len(gold)


def ndcg_at_k(ranked: Sequence[str], gold: set[str], k: int) -> float:
    """Binary-relevance nDCG: DCG of the ranking over the DCG of all gold ids ranked first."""
    dcg = sum(1.0 / math.log2(i + 1) for i, doc in enumerate(ranked[:k], start=1) if doc in gold)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


# --- citations -------------------------------------------------------------------------
def citation_precision(cited_ids: Sequence[str], gold: set[str]) -> float | None:
    """Share of citations pointing at a gold article; None without citations or gold."""
    if not cited_ids or not gold:
        return None
    return sum(1 for c in cited_ids if c in gold) / len(cited_ids)


def citation_support(quotes: Sequence[str], answers: Sequence[str]) -> float | None:
    """Share of cited sentences that contain an answer string; None without citations."""
    if not quotes or not answers:
        return None
    return sum(1 for q in quotes if contains_answer(q, answers, "any")) / len(quotes)


# --- aggregation -----------------------------------------------------------------------
def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def best_threshold(answerable: Sequence[float],
                   unanswerable: Sequence[float]) -> tuple[float, float]:
    """The abstain threshold (abstain when score < t) with the best balanced accuracy.

    Candidates are midpoints between consecutive distinct scores (and just beyond both ends);
    ties keep the lowest threshold. Returns (threshold, balanced accuracy).

    >>> best_threshold([0.6, 0.7, 0.8], [0.2, 0.3, 0.65])
    (0.45, 0.8333333333333333)
    """
    if not answerable or not unanswerable:
        raise ValueError("calibration needs both answerable and unanswerable scores")
    scores = sorted(set(answerable) | set(unanswerable))
    candidates = ([scores[0] - 1e-6] + [(a + b) / 2 for a, b in pairwise(scores)]
                  + [scores[-1] + 1e-6])
    best = (candidates[0], -1.0)
    for t in candidates:
        kept = sum(1 for s in answerable if s >= t) / len(answerable)
        abstained = sum(1 for s in unanswerable if s < t) / len(unanswerable)
        balanced = (kept + abstained) / 2
        if balanced > best[1] + 1e-12:
            best = (round(t, 6), balanced)
    return best


# --- comparing two runs -----------------------------------------------------------------
def sign_test(gained: int, lost: int) -> float:
    """Two-sided exact sign test p-value of ``gained`` vs ``lost`` paired flips (ties left
    out): how often chance alone would split the flipped questions at least this unevenly.

    >>> sign_test(1, 4)
    0.375
    >>> sign_test(0, 0)
    1.0
    """
    if gained + lost == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(gained, gained + lost, 0.5).pvalue)

