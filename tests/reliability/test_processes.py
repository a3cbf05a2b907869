"""Several processes on one index: two `rag ingest` writers and a reader at once (issue 17
item 3), and an app process writing after the CLI replaced an article (item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import probes

from rag import Config, RagSystem
from rag.articles import Article


def test_two_writers_and_a_reader_on_one_index(tmp_path: Path) -> None:
    # One article per commit: the most overlapping writes (before the fix one writer crashed
    # on the other's temp file in about half the runs, and the reader never saw the other
    # process's commits).
    run = probes.two_writers_and_a_reader(tmp_path, per_writer=15, commit_every=1)
    assert run.ok, "\n".join(run.problems)
    assert run.returncodes == [0, 0]
    assert run.reader["queries"] > 0 and run.reader["max_articles"] > 0
    assert probes.stats_problems(tmp_path / "index") == []


def test_an_app_writing_after_the_cli_replaced_an_article_saves_no_stale_vector(
        tmp_path: Path, embedder) -> None:
    index = tmp_path / "index"
    feed = tmp_path / "feed.jsonl"
    alpha = {"doc_id": "a1", "title": "Alpha", "text": "The Alphaville dam burst on Monday."}
    beta = {"doc_id": "b1", "title": "Beta", "text": "The Betatown orchestra played on Tuesday."}
    feed.write_text(f"{json.dumps(alpha)}\n{json.dumps(beta)}\n", encoding="utf-8")
    app = RagSystem(Config(index_dir=index), embedder=embedder)  # this process is the app
    assert app.ingest_paths([feed]).added == 2
    new_beta = "Volcanic ash grounded every flight out of Reykjavik for a week."
    feed.write_text(f"{json.dumps(alpha)}\n{json.dumps({**beta, 'text': new_beta})}\n",
                    encoding="utf-8")
    cli = probes.rag("ingest", str(feed), "--index", str(index))  # another process replaces b1
    assert "updated 1" in cli.stdout, cli.stdout + cli.stderr
    # The app sees that commit without a restart...
    [hit] = app.index.search(embedder.embed_query(f"Beta\n{new_beta}"), k=1)
    assert hit.article.id == "b1" and hit.score > 0.9
    # ...and its next upload does not save its old vectors over it.
    app.ingest([Article(title="Gamma", text="The Gammaton bakery won a prize on Wednesday.")])
    assert probes.index_problems(index) == []
    again = RagSystem(Config(index_dir=index), embedder=embedder)
    [hit] = again.index.search(embedder.embed_query(f"Beta\n{new_beta}"), k=1)
    assert hit.article.id == "b1" and hit.score > 0.9
