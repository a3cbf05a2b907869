"""CI quality gate: the sample question set and a fixed slice of RealTime QA dev must score at
least the floors in eval/floors.json (measured values minus a margin; see docs/evaluation.md)."""

from __future__ import annotations

import pytest

from eval.data import make_slice
from eval.floors import check_floors, load_floors
from eval.runner import run_eval
from rag import SAMPLE_CORPUS, Config

pytestmark = pytest.mark.slow
FLOORS = load_floors()
SETS = FLOORS["sets"]


def test_floor_check_catches_a_drop():
    metrics = SETS["sample"]["metrics"]
    key = next(iter(metrics))
    report: dict = {}
    *parents, leaf = key.split(".")
    node = report
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = metrics[key].get("floor", 0) - 0.01
    assert any(line.startswith(key) for line in check_floors(report, {key: metrics[key]}))


def test_sample_set_meets_floors(tmp_path, eval_cache_dir, sample_index_dir):
    spec = SETS["sample"]
    report = run_eval(SAMPLE_CORPUS, SAMPLE_CORPUS.parent.parent / spec["questions"],
                      tmp_path / "sample", config=Config(), cache_dir=eval_cache_dir,
                      seed_index=sample_index_dir, progress=False, plots=False)
    assert report["n_questions"] == spec["n_questions"]
    assert check_floors(report, spec["metrics"]) == []


def test_realtimeqa_slice_meets_floors(tmp_path, realtimeqa_dir, eval_cache_dir):
    spec = SETS["realtimeqa-slice"]
    corpus, questions = make_slice(realtimeqa_dir / "corpus.jsonl",
                                   realtimeqa_dir / "questions.dev.jsonl", tmp_path / "slice",
                                   **spec["slice"])
    report = run_eval(corpus, questions, tmp_path / "rtqa", config=Config(),
                      cache_dir=eval_cache_dir, progress=False, plots=False)
    assert report["n_questions"] == spec["n_questions"]
    assert check_floors(report, spec["metrics"]) == []
