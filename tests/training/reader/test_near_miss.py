"""Detail near-misses (training/reader/near_miss.py) on handmade examples and a handmade file."""

from __future__ import annotations

import json
import random
from pathlib import Path

from typer.testing import CliRunner

from training.reader.near_miss import near_miss

CONTEXT = ("Nils Brekke of Team Sorensa won the Tour of the Fjords in 2026, the second win of "
           "his career. The team's coach, Ida Lunde, said the riders covered 812 kilometres.")


def row(question: str, answer: str) -> dict:
    return {"id": "art-3", "question": question, "context": CONTEXT, "answer": answer,
            "answer_start": CONTEXT.index(answer), "kind": "person", "article_id": "art"}


def twin(question: str, answer: str, kind: str, seed: int = 1) -> str | None:
    made = near_miss(row(question, answer), kind, random.Random(seed))
    if made is None:
        return None
    assert made.answer == "" and made.answer_start == -1 and made.context == CONTEXT
    assert made.source == f"near-miss-{kind}"
    return made.question


def test_a_year_the_window_states_is_moved_off_by_one_to_three() -> None:
    for seed in range(20):
        q = twin("Who won the Tour of the Fjords in 2026?", "Nils Brekke", "year", seed)
        assert q is not None
        year = int(q.split()[-1].rstrip("?"))
        assert year != 2026 and abs(year - 2026) <= 3


def test_an_ordinal_becomes_another_one_the_window_does_not_state() -> None:
    q = twin("Who won the Tour of the Fjords for the second time?", "Nils Brekke", "ordinal")
    assert q is not None and "second" not in q
    assert q.startswith("Who won the Tour of the Fjords for the ")


def test_a_number_is_scaled_and_a_role_swapped_for_another() -> None:
    q = twin("Whose riders covered 812 kilometres?", "Team Sorensa", "number")
    assert q is not None and "812" not in q and "kilometres" in q
    q = twin("Who is the team's coach?", "Ida Lunde", "role")
    assert q is not None and "coach" not in q


def test_details_the_window_does_not_state_or_the_answer_holds_are_left() -> None:
    assert twin("Who won the Tour of the Fjords in 2019?", "Nils Brekke", "year") is None
    assert twin("In what year did Brekke win?", "2026", "year") is None
    assert twin("Which team won?", "Team Sorensa", "role") is None


def test_a_title_before_a_name_is_not_a_role_to_swap() -> None:
    assert twin("Whom did coach Ida Lunde praise?", "Nils Brekke", "role") is None


def test_a_preamble_is_never_changed() -> None:
    q = twin("Brekke won in 2026. Who coaches his team, which won in 2026?", "Ida Lunde", "year")
    assert q is not None and q.startswith("Brekke won in 2026. ")


def test_the_command_writes_each_twin_after_its_positive_and_is_seeded(tmp_path: Path) -> None:
    import typer

    from training.reader.near_miss import main

    data = tmp_path / "data.jsonl"
    rows = [dict(row("Who won the Tour of the Fjords in 2026?", "Nils Brekke"), id=f"a-{i}",
                 source="rule") for i in range(5)]
    rows.append(dict(row("Who won?", "Nils Brekke"), id="a-9", source="other-window"))
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    app = typer.Typer()
    app.command()(main)
    outs = []
    for name in ("one.jsonl", "two.jsonl"):
        out = tmp_path / name
        result = CliRunner().invoke(app, ["--data", str(data), "--out", str(out),
                                          "--per-kind", "3"])
        assert result.exit_code == 0, result.output
        outs.append(out.read_text())
    assert outs[0] == outs[1]
    written = [json.loads(line) for line in outs[0].splitlines()]
    assert len(written) == 6  # three year twins, each after its positive
    for positive, made in zip(written[::2], written[1::2], strict=True):
        assert positive["source"] == "rule" and made["source"] == "near-miss-year"
        assert made["id"] == positive["id"] + "-ny"
    summary = json.loads((tmp_path / "one.summary.json").read_text())
    assert summary["twins"] == {"year": 3} and summary["examples"] == 6
