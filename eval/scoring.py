"""Per-question scores (one results.jsonl row) and their summary, overall and per type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eval import metrics as m
from eval.data import Question

RETRIEVAL_K = (1, 5, 10)
CURVE_K = tuple(range(1, 11))
STAGES = ("retrieve", "answer", "total")


def score_question(q: Question, answer: dict[str, Any], ranked: Sequence[str],
                   copies: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """One results.jsonl row: the answer (``Answer.to_json()``), hit ranks and every score.

    ``copies`` maps a ranked article to the near-duplicates collapsed into it (the same wire
    story on other sites); like a citation's ``also_in``, a copy that is gold makes it a hit.
    """
    gold = set(q.gold_doc_ids)
    raw_ranked = list(ranked)
    ranked = as_gold(ranked, copies or {}, gold)
    cited = as_gold([c["article_id"] for c in answer["citations"]],
                    {c["article_id"]: [r["article_id"] for r in c.get("also_in", ())]
                     for c in answer["citations"]}, gold)
    quotes = [c["quote"] for c in answer["citations"]]
    short = None if answer["abstained"] else answer.get("short_answer")
    # What a reader sees: the short answer, then the cited sentences.
    text = "" if answer["abstained"] else " ".join(x for x in (short, answer["answer"]) if x)
    scores: dict[str, Any] = {}
    if gold:
        scores.update({f"hit@{k}": m.hit_at_k(ranked, gold, k) for k in RETRIEVAL_K})
        scores["mrr@10"] = m.reciprocal_rank(ranked, gold, 10)
        scores["ndcg@10"] = m.ndcg_at_k(ranked, gold, 10)
        scores["recall@10"] = m.recall_at_k(ranked, gold, 10)
    if q.answerable:
        scores["contains"] = m.contains_answer(text, q.answers, q.match)
        scores["f1"] = m.token_f1(text, q.answers)
        scores["exact"] = m.exact_match(text, q.answers)
        scores["short_exact"] = m.exact_match(short or "", q.answers)
        scores["short_f1"] = m.token_f1(short or "", q.answers)
        scores["short_right"] = m.short_right(short, q.answers, q.match) if short else None
        scores["citation_support"] = m.citation_support(quotes, q.answers)
    scores["citation_precision"] = m.citation_precision(cited, gold)
    return {
        "id": q.id, "type": q.type, "question": q.question, "answers": list(q.answers),
        "gold_doc_ids": list(q.gold_doc_ids), "answerable": q.answerable,
        "answer": answer["answer"], "short_answer": short,
        "short_answer_score": answer.get("short_answer_score") if short else None,
        "abstained": answer["abstained"],
        "citations": [{"n": c["n"], "article_id": c["article_id"], "quote": c["quote"]}
                      for c in answer["citations"]],
        "ranked": raw_ranked[:10], "hit_rank": m.first_hit_rank(ranked, gold) if gold else None,
        "scores": scores,
        "timings_ms": {k: round(v, 1) for k, v in answer["timings_ms"].items() if k in STAGES},
    }


def _avg(rows: list[dict[str, Any]], key: str) -> float | None:
    value = m.mean(r["scores"].get(key) for r in rows)
    return None if value is None else round(value, 4)


def as_gold(ids: Sequence[str], copies: Mapping[str, Sequence[str]],
            gold: set[str]) -> list[str]:
    """``ids`` with each one that stands for a gold copy replaced by that gold id.

    >>> as_gold(["a", "b"], {"b": ["g"]}, {"g"})
    ['a', 'g']
    """
    return [next((c for c in (i, *copies.get(i, ())) if c in gold), i) for i in ids]


def summarize(rows: list[dict[str, Any]], by_type: bool = True,
              shorts: bool | None = None) -> dict[str, Any]:
    """The report.json metrics of these rows (nested; see docs/evaluation.md). ``shorts``:
    whether the system gives short answers at all (default: whether any row has one)."""
    with_gold = [r for r in rows if r["gold_doc_ids"]]
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    retrieval: dict[str, Any] = {f"hit@{k}": _avg(with_gold, f"hit@{k}") for k in RETRIEVAL_K}
    retrieval.update({key: _avg(with_gold, key) for key in ("mrr@10", "ndcg@10", "recall@10")})
    retrieval["n"] = len(with_gold)
    retrieval["curve"] = {
        str(k): round(sum(1 for r in with_gold if r["hit_rank"] and r["hit_rank"] <= k)
                      / len(with_gold), 4) if with_gold else None
        for k in CURVE_K}
    latency = {}
    for stage in STAGES:
        values = [r["timings_ms"][stage] for r in rows if stage in r["timings_ms"]]
        latency[stage] = {f"p{p}": _round(m.percentile(values, p)) for p in (50, 95)}
    # Short-answer metrics count a question without a short answer as wrong; they are null
    # for a system that gives none at all (the baselines' sentence answers).
    if shorts is None:
        shorts = any(r.get("short_answer") for r in rows)
    report: dict[str, Any] = {
        "n_questions": len(rows),
        "retrieval": retrieval,
        "answer": {"contains": _avg(answerable, "contains"), "f1": _avg(answerable, "f1"),
                   "exact": _avg(answerable, "exact"),
                   "short_exact": _avg(answerable, "short_exact") if shorts else None,
                   "short_f1": _avg(answerable, "short_f1") if shorts else None,
                   "n": len(answerable)},
        "short": short_summary(answerable, unanswerable) if shorts else dict.fromkeys(SHORT_KEYS),
        "citation": {"precision": _avg(rows, "citation_precision"),
                     "support": _avg(answerable, "citation_support"),
                     "per_answer": _round(m.mean(len(r["citations"]) for r in rows
                                                 if not r["abstained"]), 2)},
        "abstention": {"correct": _round(m.mean(r["abstained"] for r in unanswerable), 4),
                       "false": _round(m.mean(r["abstained"] for r in answerable), 4),
                       "n_unanswerable": len(unanswerable)},
        "latency_ms": latency,
    }
    if by_type:
        types = sorted({r["type"] for r in rows})
        report["by_type"] = {t: summarize([r for r in rows if r["type"] == t], by_type=False,
                                          shorts=shorts)
                             for t in types}
    return report


SHORT_KEYS = ("precision", "coverage", "right", "wrong", "unanswerable_shown", "aupc",
              "n_shown", "curve")


def short_summary(answerable: list[dict[str, Any]],
                  unanswerable: list[dict[str, Any]]) -> dict[str, Any]:
    """Right or silent: of the answerable questions, the share shown a short answer
    (``coverage``), the share of those right (``precision``), the shares of all answerable
    ones right and wrong; the share of unanswerable ones shown one; and the
    precision-coverage ``curve`` as a threshold on ``short_answer_score`` rises, with its
    area ``aupc`` (eval/metrics.py). Null where there is no question to count."""
    shown = [r for r in answerable if r.get("short_answer")]
    right = [bool(r["scores"].get("short_right")) for r in shown]
    scores = [r.get("short_answer_score") for r in shown]
    silent_scores = [r.get("short_answer_score") for r in unanswerable if r.get("short_answer")]
    n, n_un = len(answerable), len(unanswerable)
    points = m.precision_coverage(list(zip(scores, right, strict=True)), n) if n else []

    def unanswerable_at(t: float | None) -> float | None:
        kept = [s for s in silent_scores if t is None or (s is not None and s >= t)]
        return round(len(kept) / n_un, 4) if n_un else None

    return {
        "precision": round(sum(right) / len(shown), 4) if shown else None,
        "coverage": round(len(shown) / n, 4) if n else None,
        "right": round(sum(right) / n, 4) if n else None,
        "wrong": round((len(shown) - sum(right)) / n, 4) if n else None,
        "unanswerable_shown": unanswerable_at(None),
        "aupc": round(m.area_under_curve(points), 4) if n else None,
        "n_shown": len(shown),
        "curve": [{"threshold": p.threshold, "coverage": round(p.coverage, 4),
                   "precision": round(p.precision, 4),
                   "unanswerable_shown": unanswerable_at(p.threshold)} for p in points],
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def get_path(report: dict[str, Any], dotted: str) -> Any:
    """``get_path(report, "retrieval.hit@5")``; metric names hold dots only as separators."""
    node: Any = report
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
