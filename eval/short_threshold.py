"""``eval calibrate-short``: the short-answer threshold, read off a run's precision-coverage curve.

Run the questions with every short answer shown (``--config short_answer_threshold=0``), then
pick the lowest threshold at which the shown answers are right at least ``precision`` of the
time: the widest coverage that keeps that precision. Questions one calibrates on are never
those one reports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.errors import BadInputError


def pick_threshold(curve: list[dict[str, Any]], precision: float, min_shown: int = 5,
                   n_answerable: int | None = None) -> dict[str, Any] | None:
    """The curve point with the widest coverage whose precision is at least ``precision``,
    among points showing at least ``min_shown`` answers (None: no point qualifies).

    >>> curve = [{"threshold": 0.9, "coverage": 0.1, "precision": 1.0},
    ...          {"threshold": 0.5, "coverage": 0.4, "precision": 0.7},
    ...          {"threshold": 0.1, "coverage": 0.9, "precision": 0.4}]
    >>> pick_threshold(curve, 0.65, min_shown=1, n_answerable=10)["threshold"]
    0.5
    """
    best = None
    for point in curve:
        if point["threshold"] is None or point["precision"] < precision:
            continue
        if n_answerable is not None and point["coverage"] * n_answerable < min_shown - 1e-9:
            continue
        if best is None or point["coverage"] > best["coverage"]:
            best = point
    return best


def calibrate_short(run: Path, precision: float) -> dict[str, Any]:
    """The threshold for ``run`` (a folder ``python -m eval run`` wrote) at ``precision``."""
    report_file = run / "report.json"
    if not report_file.is_file():
        raise BadInputError(f"{run} holds no report.json: run `python -m eval run` first")
    report = json.loads(report_file.read_text())
    short = report.get("short") or {}
    curve = short.get("curve") or []
    if not curve:
        raise BadInputError(f"{run}: the report has no short-answer curve")
    threshold_run = report.get("config", {}).get("short_answer_threshold")
    n = round(short["n_shown"] / short["coverage"]) if short.get("coverage") else None
    chosen = pick_threshold(curve, precision, n_answerable=n)
    return {"run": str(run), "target_precision": precision, "chosen": chosen,
            "run_threshold": threshold_run,
            "curve_at": {str(t): _at(curve, t) for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)}}


def _at(curve: list[dict[str, Any]], t: float) -> dict[str, Any] | None:
    """The point of ``curve`` a threshold ``t`` keeps (the lowest threshold >= t)."""
    kept = [p for p in curve if p["threshold"] is not None and p["threshold"] >= t]
    return min(kept, key=lambda p: p["threshold"]) if kept else None
