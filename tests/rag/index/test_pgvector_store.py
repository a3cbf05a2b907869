"""What only the pgvector backend has: schema names, connection errors, the bulk HNSW build,
the approximate filtered path, and the CLI on it. The shared behaviour is in
test_conformance.py."""

from __future__ import annotations

import json
import os
import re
import uuid

import pytest
from synthetic import DIM, exact_top, found, make_write, unit_vectors

from rag.errors import RagError
from rag.index import NewsIndex, open_index
from rag.index.base import HNSWIndex, SearchFilters
from rag.index.store import DSN_ENV, describe_dsn, schema_for

needs_server = pytest.mark.skipif(
    not os.environ.get(DSN_ENV),
    reason=f"{DSN_ENV} is not set: no PostgreSQL server (`source .ci/start.d/30-postgres.sh`)")


@pytest.fixture
def fresh_index():
    """A pgvector index in a new schema, dropped afterwards."""
    opened = []

    def make(dimension: int = DIM, **options) -> NewsIndex:
        index = open_index("pgvector", f"test_pg_{uuid.uuid4().hex[:8]}", model="m",
                           dimension=dimension, **options)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.store.drop()
        index.close()


def source_writes(n_articles: int, chunks_each: int, seed: int = 0):
    return [make_write(i, chunks_each, seed=seed * 1000 + i,
                       source="even" if i % 2 == 0 else "odd") for i in range(n_articles)]


def test_an_out_of_range_ef_search_is_refused_before_connecting():
    with pytest.raises(RagError, match="ef_search must be between 1 and 1000, got 2000"):
        open_index("pgvector", "x", model="m", dimension=DIM, dsn="postgresql://nowhere",
                   params=HNSWIndex(ef_search=2000))
    with pytest.raises(ValueError, match="ef_search must be at least 1"):
        HNSWIndex(ef_search=0)


@pytest.mark.pgvector
@needs_server
def test_ef_search_sets_the_hnsw_search_breadth(fresh_index):
    index = fresh_index(params=HNSWIndex(ef_search=250))
    index.write(source_writes(3, 2))
    assert index.search(unit_vectors(1, 7)[0], 3)
    assert index.vectors.ef_search_in_force() == 250
    assert index.search(unit_vectors(1, 7)[0], 400)  # k above it widens the walk to k
    assert index.vectors.ef_search_in_force() == 400
    other = open_index("pgvector", index.store.name, model="m", dimension=DIM,
                       params=HNSWIndex(ef_search=40))
    try:
        assert other.vectors.params.ef_search == 40
    finally:
        other.close()


def test_schema_names_are_readable_distinct_and_valid():
    assert schema_for("news") == "rag_news"
    names = ["news-2024", "news_2024", "News 2024", ".rag-index", "/tmp/x/" + "y" * 90]
    schemas = [schema_for(n) for n in names]
    assert len(set(schemas)) == len(names)
    assert all(len(s) <= 63 and s.replace("_", "").isalnum() and s.islower() for s in schemas)
    assert schema_for(".rag-index") == schema_for(".rag-index")


def test_a_dsn_is_described_without_its_password():
    text = describe_dsn("postgresql://alice:s3cret@db.example:6543/news")
    assert text == "db.example:6543/news" and "s3cret" not in text
    assert "s3cret" not in describe_dsn("not a dsn password=s3cret ===")


def test_no_connection_string_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(DSN_ENV, raising=False)
    with pytest.raises(RagError, match=DSN_ENV):
        open_index("pgvector", "news", model="m", dimension=4)


def test_an_unreachable_server_is_a_clear_error_without_the_password():
    with pytest.raises(RagError, match=re.escape("127.0.0.1:1/news")) as info:
        open_index("pgvector", "news", model="m", dimension=4,
                   dsn="postgresql://bob:hunter2@127.0.0.1:1/news?connect_timeout=3")
    assert "hunter2" not in str(info.value)


@pytest.mark.pgvector
@needs_server
def test_a_big_first_write_builds_the_hnsw_index_after_loading(fresh_index, monkeypatch):
    from rag.index import pgvector_store

    monkeypatch.setattr(pgvector_store, "BULK_BUILD_ROWS", 20)
    index = fresh_index()
    writes = source_writes(10, 4)
    index.write(writes)
    import psycopg

    with psycopg.connect(os.environ[DSN_ENV]) as db:
        indexes = dict(db.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
            (index.store.schema,)).fetchall())
    assert "hnsw" in indexes["chunks_embedding"] and "vector_ip_ops" in indexes["chunks_embedding"]
    for query in writes[3].vectors:
        assert found(index.search(query, 5)) == exact_top(writes, query, 5)


@pytest.mark.pgvector
@needs_server
def test_the_approximate_filtered_path_finds_what_exact_search_finds(fresh_index, monkeypatch):
    from rag.index import pgvector_store

    monkeypatch.setattr(pgvector_store, "EXACT_FILTER_ROWS", 0)  # force the HNSW route
    index = fresh_index()
    writes = source_writes(30, 3, seed=1)
    index.write(writes)
    for query in unit_vectors(3, seed=2):
        hits = index.search(query, 6, SearchFilters(sources=("odd",)))
        assert found(hits) == exact_top(writes, query, 6, lambda a: a.source == "odd")


@pytest.mark.pgvector
@pytest.mark.slow
@needs_server
def test_the_cli_works_on_pgvector(sample_system, monkeypatch):
    from typer.testing import CliRunner

    from rag.index import copy_index
    from rag_cli.main import app

    name = f"test_cli_{uuid.uuid4().hex[:8]}"
    target = open_index("pgvector", name, model=sample_system.index.model,
                        dimension=sample_system.index.dimension)
    try:
        copy_index(sample_system.index, target)
        monkeypatch.setenv("RAG_INDEX_BACKEND", "pgvector")
        runner = CliRunner()
        stats = runner.invoke(app, ["stats", "--index", name])
        assert stats.exit_code == 0, stats.output
        assert "pgvector" in stats.output and "articles: 7" in stats.output
        asked = runner.invoke(app, ["ask", "Where is the nuclear plant being built?",
                                    "--index", name, "--json"])
        assert asked.exit_code == 0, asked.output
        quotes = " ".join(c["quote"] for c in json.loads(asked.output)["citations"])
        assert "Bushehr" in quotes
    finally:
        target.store.drop()
        target.close()


@pytest.mark.pgvector
@needs_server
def test_a_writer_waits_lock_timeout_s_then_says_the_index_is_busy(fresh_index):
    """Another connection mid-write holds the index's advisory lock (issue 24 item 5)."""
    import psycopg

    from rag.errors import IndexBusyError

    index = fresh_index(lock_timeout_s=0.5)
    index.write(source_writes(2, 2))
    with psycopg.connect(os.environ[DSN_ENV]) as other, other.transaction():
        schema = index.store.schema
        other.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
        with pytest.raises(IndexBusyError, match=f"index {schema} at .* is busy"):
            index.write(source_writes(3, 2, seed=1))
        assert index.stats().articles == 2  # readers do not wait
    index.write(source_writes(3, 2, seed=1))  # the other writer is gone: it goes through
    assert index.stats().articles == 3
