"""Several processes on one index: two `rag ingest` writers and a reader at once (issue 17
item 3), an app process writing after the CLI replaced an article (item 2), and an open app
finding, by dense search and BM25 alike, what another process ingested (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import probes
import pytest

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


APP = textwrap.dedent('''
    import json, sys
    from rag import Config, RagSystem
    system = RagSystem(Config(index_dir=sys.argv[1], index_backend=sys.argv[2]))
    print(json.dumps({"articles": system.stats().articles}), flush=True)
    for line in sys.stdin:
        question = line.strip()
        dense = system.index.search(system.embedder.embed_query(question), 3)
        bm25 = system.retriever.lexical.search(question, 3)
        answer = system.ask(question).to_json()
        print(json.dumps({"dense": [h.article.title for h in dense],
                          "bm25": [h.article.title for h in bm25],
                          "passages": [p["title"] for p in answer["passages"]]}), flush=True)
''')
BACKENDS = ["faiss", pytest.param("pgvector", marks=pytest.mark.pgvector)]


def where(backend: str, tmp_path: Path) -> str:
    """An index location for ``backend``: a folder, or a fresh pgvector index name."""
    if backend == "faiss":
        return str(tmp_path / "index")
    if not os.environ.get("RAG_PG_DSN"):
        pytest.skip("RAG_PG_DSN is not set: no PostgreSQL server")
    return f"test_proc_{uuid.uuid4().hex[:8]}"


def drop(backend: str, name: str) -> None:
    if backend == "pgvector":
        import psycopg

        from rag.index.store import schema_for

        with psycopg.connect(os.environ["RAG_PG_DSN"], autocommit=True) as db:
            db.execute(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE')


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_open_app_finds_what_another_process_ingested_by_dense_and_bm25(
        tmp_path: Path, backend: str) -> None:
    index = where(backend, tmp_path)
    env = {**probes.child_env(), "RAG_INDEX_BACKEND": backend}
    first = probes.write_jsonl(tmp_path / "first.jsonl", 3, "early")
    assert subprocess.run([*probes.rag_command(), "ingest", str(first), "--index", index],
                          env=env, capture_output=True, check=False).returncode == 0
    app = subprocess.Popen([sys.executable, "-c", APP, index, backend], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert app.stdin is not None and app.stdout is not None
        assert json.loads(app.stdout.readline())["articles"] == 3, app.stderr
        later = probes.write_jsonl(tmp_path / "later.jsonl", 1, "late", start=7)
        cli = subprocess.run([*probes.rag_command(), "ingest", str(later), "--index", index],
                             env=env, capture_output=True, text=True, check=False)
        assert cli.returncode == 0 and "added 1" in cli.stdout, cli.stdout + cli.stderr
        title, _ = probes.story(7, "late")
        app.stdin.write("What is the latemarker7 proposal?\n")
        app.stdin.flush()
        seen = json.loads(app.stdout.readline())
        assert seen["dense"][0] == title, seen  # the app's vector index reloaded
        assert seen["bm25"][0] == title, seen  # and its BM25 build was redone
        assert seen["passages"][0] == title, seen
    finally:
        app.kill()
        app.communicate()
        drop(backend, index)


@pytest.mark.pgvector
def test_two_writer_processes_on_pgvector_both_land(tmp_path: Path) -> None:
    index = where("pgvector", tmp_path)
    env = {**probes.child_env(), "RAG_INDEX_BACKEND": "pgvector"}
    files = [probes.write_jsonl(tmp_path / f"{tag}.jsonl", 8, tag) for tag in ("pa", "pb")]
    try:
        writers = [subprocess.Popen([*probes.rag_command(), "ingest", str(f), "--index", index,
                                     "--commit-every", "1"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True) for f in files]
        outputs = [w.communicate(timeout=900)[0] for w in writers]
        assert [w.returncode for w in writers] == [0, 0], outputs
        system = RagSystem(Config(index_dir=index, index_backend="pgvector"))
        titles = {a.title for a, _ in system.index.list_articles()}
        assert titles == {probes.story(i, tag)[0] for tag in ("pa", "pb") for i in range(8)}
        system.index.close()
    finally:
        drop("pgvector", index)
