"""Scores of timelines against the gold set: one row per (system, story), their summary per
system, and the sign tests of one system against another (docs/evaluation.md defines each).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from eval.metrics import mean, percentile, sign_test
from eval.timeline_gold import GoldStory
from eval.timeline_metrics import (
    TOLERANCE_DAYS,
    Dated,
    Rouge,
    align,
    align_rouge,
    date_f1,
    days_apart,
    duplicates,
    gold_recall,
)

# (label, row score key, higher is better) of the measures a story is compared on.
STORY_MEASURES = (
    ("date F1", "date_f1", True), ("date F1 ±2 days", "date_f1_2d", True),
    ("ROUGE-1 F (align)", "rouge1_f", True), ("ROUGE-2 F (align)", "rouge2_f", True),
    ("events cited and verified", "verified_share", True),
    ("duplicate-event rate", "duplicate_rate", False), ("latency ms", "latency_ms", False),
)


def line_day(event: dict[str, Any]) -> date | None:
    """The ISO day of a predicted event; None when it has none or a bad one."""
    try:
        return date.fromisoformat(str(event.get("day") or "")[:10])
    except ValueError:
        return None


def is_cited(event: dict[str, Any]) -> bool:
    citation = event.get("citation") or {}
    return bool(citation.get("article_id")) and bool(str(citation.get("quote") or "").strip())


def is_verified(event: dict[str, Any]) -> bool:
    return is_cited(event) and (event.get("citation") or {}).get("verified") is True


def score_story(story: GoldStory, events: Sequence[dict[str, Any]], rouge: Rouge
                ) -> dict[str, Any]:
    """The scores of one predicted timeline, with per-line and per-gold-event details."""
    dated = [(i, d) for i, e in enumerate(events) if (d := line_day(e)) is not None]
    pred = [Dated(d, str(events[i].get("text") or "")) for i, d in dated]
    gold = [Dated(g.date, g.text) for g in story.events]
    pairs = align(pred, gold, rouge)
    dup_of = duplicates(pred, gold, rouge.excluding(rouge.tokens(story.topic)))
    exact = date_f1([p.day for p in pred], [g.day for g in gold])
    near = date_f1([p.day for p in pred], [g.day for g in gold], TOLERANCE_DAYS)
    r1, r2 = (align_rouge(pred, gold, pairs, rouge, n) for n in (1, 2))
    n = len(events)
    scores = {
        "events": n, "undated": n - len(pred),
        "date_p": exact.precision, "date_r": exact.recall, "date_f1": exact.f1,
        "date_p_2d": near.precision, "date_r_2d": near.recall, "date_f1_2d": near.f1,
        "rouge1_p": r1.precision, "rouge1_r": r1.recall, "rouge1_f": r1.f1,
        "rouge2_p": r2.precision, "rouge2_r": r2.recall, "rouge2_f": r2.f1,
        "cited": sum(map(is_cited, events)), "verified": sum(map(is_verified, events)),
        "duplicates": sum(d is not None for d in dup_of),
    }
    scores["verified_share"] = scores["verified"] / n if n else None
    scores["duplicate_rate"] = scores["duplicates"] / len(pred) if pred else None
    aligned = dict(pairs)
    recall1 = gold_recall(pred, gold, pairs, rouge)
    lines = [{"line": i, "aligned_to": aligned.get(k), "duplicate_of":
              None if dup_of[k] is None else dated[dup_of[k]][0]}
             for k, (i, _) in enumerate(dated)]
    gold_rows = [{"date": g.day.isoformat(), "text": g.text,
                  "covered_2d": any(days_apart(p.day, g.day) <= TOLERANCE_DAYS for p in pred),
                  "rouge1_recall": recall1[j]} for j, g in enumerate(gold)]
    return {"scores": scores, "lines": lines, "gold": gold_rows}


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One system's rows summed up: date F1 and ROUGE are means over stories (the timeline
    summarisation convention); shares and the duplicate rate pool every predicted event."""
    def avg(key: str) -> float | None:
        return mean(r["scores"][key] for r in rows)

    events = sum(r["scores"]["events"] for r in rows)
    dated = events - sum(r["scores"]["undated"] for r in rows)
    latencies = [r["latency_ms"] for r in rows]
    return {
        "stories": len(rows), "events": events, "gold_events": sum(len(r["gold"]) for r in rows),
        "events_per_story": events / len(rows) if rows else None,
        "date": {"p": avg("date_p"), "r": avg("date_r"), "f1": avg("date_f1")},
        "date_2d": {"p": avg("date_p_2d"), "r": avg("date_r_2d"), "f1": avg("date_f1_2d")},
        "rouge1": {"p": avg("rouge1_p"), "r": avg("rouge1_r"), "f1": avg("rouge1_f")},
        "rouge2": {"p": avg("rouge2_p"), "r": avg("rouge2_r"), "f1": avg("rouge2_f")},
        "cited": sum(r["scores"]["cited"] for r in rows) / events if events else None,
        "verified": sum(r["scores"]["verified"] for r in rows) / events if events else None,
        "duplicate_rate": (sum(r["scores"]["duplicates"] for r in rows) / dated
                           if dated else None),
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                       "max": max(latencies, default=None)},
    }


def _flips(pairs: list[tuple[Any, Any]], better: Callable[[Any, Any], bool]) -> dict[str, Any]:
    """How often ``b`` is better / worse than ``a`` over paired outcomes, and the sign test."""
    up = sum(1 for a, b in pairs if better(b, a))
    down = sum(1 for a, b in pairs if better(a, b))
    return {"better": up, "worse": down, "ties": len(pairs) - up - down,
            "p": sign_test(up, down)}


def sign_tests(base: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]]
               ) -> dict[str, Any]:
    """``other`` against ``base`` over the stories both scored: per gold event (covered within
    2 days; its date-weighted ROUGE-1 recall) and per story (each of STORY_MEASURES)."""
    by_id = {r["id"]: r for r in base}
    shared = [(by_id[r["id"]], r) for r in other if r["id"] in by_id]
    events = [(ga, gb) for a, b in shared for ga, gb in zip(a["gold"], b["gold"], strict=True)]
    out: dict[str, Any] = {
        "stories": len(shared), "gold_events": len(events),
        "events": {
            "covered ±2 days": _flips([(a["covered_2d"], b["covered_2d"]) for a, b in events],
                                      lambda x, y: bool(x) and not y),
            "ROUGE-1 recall": _flips([(a["rouge1_recall"], b["rouge1_recall"])
                                      for a, b in events], lambda x, y: x > y + 1e-12)},
        "stories_by_measure": {}}
    for label, key, higher in STORY_MEASURES:
        values = [(a.get(key) if key == "latency_ms" else a["scores"].get(key),
                   b.get(key) if key == "latency_ms" else b["scores"].get(key)) for a, b in shared]
        values = [(x, y) for x, y in values if x is not None and y is not None]
        out["stories_by_measure"][label] = _flips(
            values, (lambda x, y: x > y + 1e-12) if higher else (lambda x, y: x < y - 1e-12))
    return out
