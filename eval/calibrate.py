"""``eval calibrate``: the abstain threshold of the extractive answerer, chosen on data.

For every question, retrieve as ask() does and take the best sentence score of
``ExtractiveAnswerer.score_sentences``. Questions are answerable or unanswerable by their label
(answers / ``unanswerable``) or because they are asked against a corpus that is not theirs.
The threshold (abstain when the best score is below it) maximizes balanced accuracy: the mean of
the share of answerable questions answered and the share of unanswerable ones abstained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.cache import default_cache_dir, open_eval_index
from eval.data import file_hash, load_questions
from eval.metrics import best_threshold, mean
from rag.answering.extractive import ExtractiveAnswerer
from rag.config import Config


def calibrate(labelled: list[tuple[Path, Path]], unanswerable: list[tuple[Path, Path]], *,
              config: Config, cache_dir: Path | None = None, seed_index: Path | None = None,
              require_gold: bool = True) -> dict[str, Any]:
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    scores: list[dict[str, Any]] = []
    sets = [(c, q, False) for c, q in labelled] + [(c, q, True) for c, q in unanswerable]
    for corpus, questions, forced in sets:
        index = open_eval_index(Path(corpus), file_hash(corpus), config, cache_dir,
                                seed=Path(seed_index) if seed_index else None)
        system = index.system
        answerer = ExtractiveAnswerer(system.embedder, system.config)
        for q in load_questions(questions):
            if forced or not q.answerable:
                label = "unanswerable"
            elif require_gold and not q.gold_doc_ids:
                continue
            else:
                label = "answerable"
            scored = answerer.score_sentences(q.question, system.retriever.retrieve(q.question))
            scores.append({"id": q.id, "set": f"{Path(questions).name} @ {Path(corpus).name}",
                           "label": label, "score": round(scored[0].score, 4) if scored else 0.0})
    answerable = [s["score"] for s in scores if s["label"] == "answerable"]
    unanswered = [s["score"] for s in scores if s["label"] == "unanswerable"]
    threshold, balanced = best_threshold(answerable, unanswered)
    current = config.abstain_threshold
    return {
        "threshold": round(threshold, 3),
        "balanced_accuracy": round(balanced, 4),
        "answered_answerable": round(mean(s >= threshold for s in answerable) or 0, 4),
        "abstained_unanswerable": round(mean(s < threshold for s in unanswered) or 0, 4),
        "previous_threshold": current,
        "previous_balanced_accuracy": round(
            ((mean(s >= current for s in answerable) or 0)
             + (mean(s < current for s in unanswered) or 0)) / 2, 4),
        "n_answerable": len(answerable), "n_unanswerable": len(unanswered),
        "sets": sorted({s["set"] for s in scores}),
        "scores": scores,
    }
