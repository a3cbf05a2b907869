"""The harness end to end on the sample corpus: report files, resume, index reuse, baselines,
compare and the `rag eval` command. Real model, real FAISS, real bm25s and LangChain."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from eval.runner import run_eval
from eval.scoring import get_path
from rag import SAMPLE_CORPUS, Config
from rag.errors import BadInputError

pytestmark = pytest.mark.slow
QUESTIONS = SAMPLE_CORPUS.parent.parent / "eval" / "questions" / "sample.jsonl"
STABLE_KEYS = ["retrieval.hit@1", "retrieval.hit@5", "retrieval.hit@10", "retrieval.mrr@10",
               "retrieval.ndcg@10", "answer.contains", "answer.f1", "citation.precision",
               "citation.support", "abstention.correct", "abstention.false",
               "latency_ms.total.p50", "latency_ms.total.p95", "n_questions"]


def _run(out, cache, seed, **kwargs):
    return run_eval(SAMPLE_CORPUS, QUESTIONS, out, cache_dir=cache, seed_index=seed,
                    progress=False, **kwargs)


def _rows(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory, eval_cache_dir, sample_index_dir):
    out = tmp_path_factory.mktemp("runs") / "ours"
    return out, _run(out, eval_cache_dir, sample_index_dir, limit=6)


def test_run_writes_report_results_and_plots(sample_run):
    out, report = sample_run
    for key in STABLE_KEYS:  # present; abstention.correct is null: no unanswerable among 6
        *parents, leaf = key.split(".")
        assert leaf in (get_path(report, ".".join(parents)) if parents else report), key
    assert get_path(report, "retrieval.hit@5") is not None
    assert report["abstention"]["correct"] is None and report["abstention"]["false"] is not None
    assert report["n_questions"] == 6
    assert json.loads((out / "report.json").read_text())["n_questions"] == 6
    assert "| hit@5 |" in (out / "report.md").read_text()
    assert (out / "hit_at_k.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "latency.png").stat().st_size > 0
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["s01", "s02", "s03", "s04", "s05", "s06"]
    assert all(r["citations"] or r["abstained"] for r in rows)
    # The sample's nuclear-plant question is answered from its story.
    assert rows[0]["ranked"][0] == rows[0]["gold_doc_ids"][0]


def test_rerun_resumes_and_skips_done_questions(sample_run, eval_cache_dir, sample_index_dir):
    out, _ = sample_run
    rows = _rows(out)
    kept = rows[:4]
    # Drop two answers and leave a line cut short, as a killed run would.
    (out / "results.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in kept) + '{"id": "s05", "quest')
    report = _run(out, eval_cache_dir, sample_index_dir, limit=6)
    again = _rows(out)
    assert report["n_questions"] == 6
    assert again[:4] == kept  # not asked again
    assert sorted(r["id"] for r in again) == sorted(r["id"] for r in rows)


def test_changed_settings_refuse_to_mix_into_a_run(sample_run, eval_cache_dir, sample_index_dir):
    out, _ = sample_run
    with pytest.raises(BadInputError, match="config"):
        _run(out, eval_cache_dir, sample_index_dir, limit=6, config=Config(top_k=3))


def test_index_is_reused_across_runs_with_other_answer_settings(
        sample_run, tmp_path, eval_cache_dir, sample_index_dir):
    _, report = sample_run
    other = _run(tmp_path / "k3", eval_cache_dir, sample_index_dir, limit=2,
                 config=Config.from_env(top_k=3))
    assert other["run"]["index_key"] == report["run"]["index_key"]
    assert other["run"]["index_build"].startswith("added 0, updated 0, skipped 7")


@pytest.mark.parametrize("baseline", ["dense", "bm25", "langchain"])
def test_baselines_run_in_the_same_harness(baseline, tmp_path, eval_cache_dir,
                                           sample_index_dir):
    report = _run(tmp_path / baseline, eval_cache_dir, sample_index_dir, limit=4,
                  system=baseline, plots=False)
    assert report["run"]["system"] == baseline
    assert report["n_questions"] == 4
    assert report["retrieval"]["hit@10"] > 0.5
    rows = _rows(tmp_path / baseline)
    assert any(not r["abstained"] and r["citations"] for r in rows)


def test_rag_eval_compare_and_unknown_baseline(sample_run, tmp_path, eval_cache_dir,
                                               sample_index_dir):
    from rag_cli.main import app

    out, _ = sample_run
    other = tmp_path / "dense"
    _run(other, eval_cache_dir, sample_index_dir, limit=6, system="dense", plots=False)
    result = CliRunner().invoke(app, ["eval", "compare", str(out), str(other),
                                      "--plot", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    assert f"| metric | {out.name} (ours) | dense (dense) |" in result.output
    assert "### Flipped:" in result.output
    assert (tmp_path / "c.png").is_file()
    result = CliRunner().invoke(app, ["eval", "run", "--corpus", str(SAMPLE_CORPUS),
                                      "--questions", str(QUESTIONS), "--out",
                                      str(tmp_path / "x"), "--baseline", "nope",
                                      "--cache-dir", str(eval_cache_dir)])
    assert result.exit_code == 1
    assert "unknown system 'nope'" in result.output


def test_without_the_eval_extra_rag_eval_says_how_to_install_it(monkeypatch) -> None:
    import eval.cli
    from rag_cli.main import app

    monkeypatch.setattr(eval.cli, "find_spec", lambda name: None if name == "matplotlib" else 1)
    result = CliRunner().invoke(app, ["eval", "compare", "runs/a", "runs/b"])
    assert result.exit_code == 1
    assert "error: rag eval needs matplotlib: pip install -e '.[eval]'" in result.output


def test_calibrate_citations_names_a_folder_without_its_files(tmp_path) -> None:
    from eval.cli import app

    result = CliRunner().invoke(app, ["calibrate-citations", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path} needs corpus.jsonl and questions.dev.jsonl" in result.output


def test_llm_support_refuses_an_unknown_backend() -> None:
    from eval.cli import app

    result = CliRunner().invoke(app, ["llm-support", "--backend", "extractive"])
    assert result.exit_code == 1 and "--backend must be openai or llamacpp" in result.output
