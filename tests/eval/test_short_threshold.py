"""``eval calibrate-short`` on run folders written here: the lowest threshold that keeps every
limit on every run."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from eval.cli import app
from eval.short_threshold import Limits, calibrate_short, load_scores, pick_threshold


def write_run(folder: Path, rows: list[tuple[float | None, bool, bool]]) -> Path:
    """A run folder whose results.jsonl holds (score, right, answerable) per question."""
    folder.mkdir()
    with (folder / "results.jsonl").open("w") as f:
        for i, (score, right, answerable) in enumerate(rows):
            f.write(json.dumps({
                "id": f"q{i}", "answerable": answerable,
                "short_answer": "x" if score is not None else None,
                "short_answer_score": score,
                "scores": {"short_right": right if score is not None and answerable else None},
            }) + "\n")
    return folder


# Answerable: right at 0.9, 0.8, 0.7, 0.6; wrong at 0.5, 0.45; right at 0.3; wrong at 0.2; none.
TYPED = [(0.9, True, True), (0.8, True, True), (0.7, True, True), (0.6, True, True),
         (0.5, False, True), (0.45, False, True), (0.3, True, True), (0.2, False, True),
         (None, False, True), (None, False, True)]
# Unanswerable questions given a short answer at 0.55 and 0.25.
NEAR_MISS = [(0.55, False, False), (0.25, False, False), (None, False, False),
             (None, False, False)]


def test_precision_alone_takes_the_widest_coverage_it_allows(tmp_path: Path) -> None:
    run = load_scores(write_run(tmp_path / "a", TYPED + NEAR_MISS))
    # At 0.3: 5 right of 7 shown (0.71); at 0.2: 5 of 8 (0.625). Never the near-miss's 0.25:
    # it shows the same answerable questions as 0.3, and one more unanswerable.
    assert pick_threshold([run], Limits(precision=0.7, min_shown=2)) == 0.3
    assert pick_threshold([run], Limits(precision=0.6, min_shown=2)) == 0.2


def test_wrong_and_unanswerable_limits_raise_the_threshold(tmp_path: Path) -> None:
    run = load_scores(write_run(tmp_path / "a", TYPED + NEAR_MISS))
    # Wrong answers at or under 1 in 10 answerable: not below 0.5.
    assert pick_threshold([run], Limits(precision=0.6, min_shown=2, max_wrong=0.1)) == 0.5
    # A near-miss shown at 0.55 is one in four: at most 0.25 allows 0.5, none allows only 0.6.
    assert pick_threshold([run], Limits(precision=0.6, min_shown=2, max_wrong=0.1,
                                        max_unanswerable=0.25)) == 0.5
    assert pick_threshold([run], Limits(precision=0.6, min_shown=2,
                                        max_unanswerable=0.0)) == 0.6


def test_every_run_must_keep_the_limits(tmp_path: Path) -> None:
    typed = load_scores(write_run(tmp_path / "typed", TYPED + NEAR_MISS))
    # A second set where everything under 0.65 is wrong.
    quiz = load_scores(write_run(tmp_path / "quiz", [
        (0.95, True, True), (0.85, True, True), (0.75, True, True), (0.66, False, True),
        (0.62, False, True), (0.4, False, True), (0.35, False, True)]))
    limits = Limits(precision=0.6, min_shown=2)
    assert pick_threshold([typed], limits) == 0.2
    # At 0.45 quiz shows 3 right of 5 (0.6) and typed 4 of 6; lower, quiz falls under 0.6.
    assert pick_threshold([typed, quiz], limits) == 0.45
    assert pick_threshold([typed, quiz], Limits(precision=0.9, min_shown=6)) is None


def test_the_command_reports_the_choice_and_each_run(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", TYPED + NEAR_MISS)
    b = write_run(tmp_path / "b", TYPED)
    result = CliRunner().invoke(app, ["calibrate-short", str(a), str(b), "--precision", "0.6",
                                      "--min-shown", "2", "--max-wrong", "0.1"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["chosen"] == 0.5
    assert out["limits"] == {"precision": 0.6, "min_shown": 2, "max_wrong": 0.1,
                             "max_unanswerable": None}
    at = out["runs"][str(a)]["at_chosen"]
    assert (at["shown"], at["right"], at["unanswerable_shown"]) == (5, 4, 0.25)
    assert out["runs"][str(b)]["at_chosen"]["unanswerable_shown"] is None
    assert calibrate_short([a], Limits(precision=1.0, min_shown=20))["chosen"] is None


def test_a_folder_without_results_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["calibrate-short", str(tmp_path)])
    assert result.exit_code != 0
    assert str(tmp_path) in result.output and "results.jsonl" in result.output
