"""``eval calibrate-short``: the short-answer threshold, read off runs made with every answer shown.

Run the calibration questions with every short answer shown (``--config
short_answer_threshold=0``), then pick the lowest threshold (the widest coverage) at which, on
every run given, the shown answers are right at least ``precision`` of the time (over at least
``min_shown`` of them), and, where asked, at most ``max_wrong`` of the answerable questions get a
wrong short answer and at most ``max_unanswerable`` of the unanswerable ones get one at all.
Questions one calibrates on are never those one reports: the shipped threshold was calibrated on
eval/questions/typed-dev/ and the RealTime QA dev questions before 2022-09-01 (docs/reader.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.errors import BadInputError

REPORTED_AT = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


@dataclass(frozen=True)
class ShortScore:
    """One question of a run: its short answer's score (None: none found), whether that answer
    is right, and whether the question is answerable."""

    score: float | None
    right: bool
    answerable: bool


@dataclass(frozen=True)
class Limits:
    """What a threshold must keep on every calibration run."""

    precision: float = 0.65
    min_shown: int = 5
    max_wrong: float | None = None
    max_unanswerable: float | None = None


def load_scores(run: Path) -> list[ShortScore]:
    """The short answers of ``run`` (a folder ``python -m eval run`` wrote)."""
    results = run / "results.jsonl"
    if not results.is_file():
        raise BadInputError(f"{run} holds no results.jsonl: run `python -m eval run` first")
    out = []
    for line in results.open(encoding="utf-8"):
        r = json.loads(line)
        score = r.get("short_answer_score") if r.get("short_answer") else None
        out.append(ShortScore(score, bool(r["scores"].get("short_right")),
                              bool(r.get("answerable", True))))
    if not out:
        raise BadInputError(f"{run}: results.jsonl is empty")
    return out


def point_at(scores: list[ShortScore], threshold: float) -> dict[str, Any]:
    """What a threshold shows on one run.

    >>> s = [ShortScore(0.9, True, True), ShortScore(0.5, False, True), ShortScore(0.7, False,
    ...      False), ShortScore(None, False, True)]
    >>> p = point_at(s, 0.6)
    >>> p["shown"], p["right"], p["wrong_rate"], p["unanswerable_shown"]
    (1, 1, 0.0, 1.0)
    """
    answerable = [s for s in scores if s.answerable]
    unanswerable = [s for s in scores if not s.answerable]
    shown = [s for s in answerable if s.score is not None and s.score >= threshold]
    right = sum(s.right for s in shown)
    silent_shown = sum(s.score is not None and s.score >= threshold for s in unanswerable)
    return {
        "threshold": threshold, "shown": len(shown), "right": right,
        "precision": right / len(shown) if shown else None,
        "coverage": len(shown) / len(answerable) if answerable else None,
        "wrong_rate": (len(shown) - right) / len(answerable) if answerable else None,
        "unanswerable_shown": silent_shown / len(unanswerable) if unanswerable else None,
    }


def keeps(point: dict[str, Any], limits: Limits) -> bool:
    """Whether ``point`` meets ``limits`` (too few shown to judge its precision: it does not)."""
    if point["shown"] < limits.min_shown or point["precision"] < limits.precision:
        return False
    if limits.max_wrong is not None and point["wrong_rate"] > limits.max_wrong + 1e-12:
        return False
    unanswerable = point["unanswerable_shown"]
    return limits.max_unanswerable is None or unanswerable is None \
        or unanswerable <= limits.max_unanswerable + 1e-12


def pick_threshold(runs: list[list[ShortScore]], limits: Limits) -> float | None:
    """The lowest threshold that meets ``limits`` on every run (None: none does).

    >>> a = [ShortScore(x / 10, x >= 5, True) for x in range(10)]
    >>> pick_threshold([a], Limits(precision=0.9, min_shown=2))
    0.5
    >>> pick_threshold([a], Limits(precision=0.8, min_shown=2, max_wrong=0.0))
    0.5
    >>> pick_threshold([a], Limits(precision=1.0, min_shown=6)) is None
    True
    """
    # Only where an answerable question's answer comes or goes: between two of them, the lowest
    # threshold would show more unanswerable questions for the same answerable ones.
    candidates = sorted({s.score for scores in runs for s in scores
                         if s.score is not None and s.answerable})
    for t in candidates:
        if all(keeps(point_at(scores, t), limits) for scores in runs):
            return t
    return None


def calibrate_short(runs: list[Path], limits: Limits) -> dict[str, Any]:
    """The threshold for ``runs`` under ``limits``, and what it and a few others show on each."""
    scores = [load_scores(run) for run in runs]
    chosen = pick_threshold(scores, limits)
    return {
        "limits": asdict(limits),
        "chosen": chosen,
        "runs": {str(run): {"at_chosen": point_at(s, chosen) if chosen is not None else None,
                            "at": {str(t): point_at(s, t) for t in REPORTED_AT}}
                 for run, s in zip(runs, scores, strict=True)},
    }
