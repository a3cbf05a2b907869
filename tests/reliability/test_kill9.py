"""kill -9 at several points of a real `rag ingest`: every committed batch survives, the index
opens consistent after each kill, and a re-run completes to the clean-ingest count."""

from __future__ import annotations

from pathlib import Path

import probes

ARTICLES = 24
EVERY = 3  # 8 commits


def test_kill_9_at_several_points_then_a_rerun_completes(tmp_path: Path) -> None:
    feed = probes.write_jsonl(tmp_path / "feed.jsonl", ARTICLES, "k9")
    index = tmp_path / "index"
    args = ("ingest", str(feed), "--index", str(index), "--commit-every", str(EVERY))
    # Before the first commit (model loading), then the moment a generation lands: the SQLite
    # commit is done and the FAISS file and manifest are being written.
    seen = []
    for at in (0, 2, 5):
        proc = probes.start_rag(*args, log=tmp_path / f"kill-{at}.log")
        got = probes.kill_when(proc, index, at)
        assert got != -1, f"ingest finished before generation {at}"
        seen.append(got)
        articles, _ = probes.sqlite_counts(index)
        assert articles % EVERY == 0  # whole batches only
        assert probes.index_problems(index) == [], f"after kill at generation {got}"
    assert seen == sorted(seen)
    done = probes.rag(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert probes.sqlite_counts(index)[0] == ARTICLES
    assert probes.stats_problems(index) == []
    assert probes.index_problems(index) == []
    assert not list(index.glob("*.tmp")), list(index.iterdir())
