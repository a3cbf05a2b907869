"""A hostile corpus through a real `rag ingest`: every bad item named, every good one in, `rag
stats` equal to SQLite, and searches equal to an index rebuilt from SQLite."""

from __future__ import annotations

from pathlib import Path

import probes


def test_hostile_corpus_every_bad_item_named_every_good_one_in(tmp_path: Path) -> None:
    corpus = probes.hostile_corpus(tmp_path)
    index = tmp_path / "index"
    result = probes.rag("ingest", str(corpus.folder), "--index", str(index))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    failed = probes.failures_of(result.stderr)
    for name, reason in corpus.bad.items():
        assert name in failed, f"{name} has no named error:\n{result.stderr}"
        assert reason.lower() in failed[name].lower(), (name, failed[name])
    assert set(failed) == set(corpus.bad), result.stderr
    assert "note:" in result.stderr and "stray.txt" in result.stderr  # the replaced byte
    found = probes.titles_by_word(index, list(corpus.good))
    assert found == corpus.good  # every good item in, with its cleaned title
    assert probes.sqlite_counts(index)[0] == len(corpus.good)
    assert probes.stats_problems(index) == []
    assert probes.index_problems(index) == []
