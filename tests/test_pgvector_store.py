"""What only the pgvector backend has: schema names, connection errors, the bulk HNSW build,
the approximate filtered path, and the CLI on it. The shared behaviour is in
test_index_conformance.py."""

from __future__ import annotations

import json
import os
import re
import uuid

import numpy as np
import pytest

from rag.articles import Article
from rag.chunking import Chunk
from rag.errors import RagError
from rag.index.base import ArticleWrite, SearchFilters
from rag.index.pgvector_store import DSN_ENV, PgVectorIndex, describe_dsn, schema_for

needs_server = pytest.mark.skipif(
    not os.environ.get(DSN_ENV),
    reason=f"{DSN_ENV} is not set: no PostgreSQL server (`source .ci/start.d/30-postgres.sh`)")


@pytest.fixture
def fresh_index():
    """A PgVectorIndex in a new schema, dropped afterwards."""
    opened = []

    def make(dimension: int = 8) -> PgVectorIndex:
        index = PgVectorIndex(f"test_pg_{uuid.uuid4().hex[:8]}", model="m", dimension=dimension)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.drop()
        index.close()


def random_writes(n_articles: int, chunks_each: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    writes = []
    for i in range(n_articles):
        sentences = [f"Line {j} of {i}." for j in range(chunks_each)]
        article = Article(title=f"A{i}", text=" ".join(sentences), id=f"a{i}",
                          source="even" if i % 2 == 0 else "odd")
        chunks, start = [], 0
        for j, s in enumerate(sentences):
            chunks.append(Chunk(article.id, j, start, start + len(s), s, article.title))
            start += len(s) + 1
        v = rng.standard_normal((chunks_each, dim)).astype(np.float32)
        writes.append(ArticleWrite(article, chunks, v / np.linalg.norm(v, axis=1, keepdims=True)))
    return writes


def exact(writes, query, k, keep=lambda a: True):
    scored = sorted(((float(v @ query), w.article.id, c.ordinal) for w in writes
                     if keep(w.article) for c, v in zip(w.chunks, w.vectors, strict=True)),
                    reverse=True)
    return [(aid, o) for _, aid, o in scored[:k]]


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
        PgVectorIndex("news", model="m", dimension=4)


def test_an_unreachable_server_is_a_clear_error_without_the_password():
    with pytest.raises(RagError, match=re.escape("127.0.0.1:1/news")) as info:
        PgVectorIndex("news", model="m", dimension=4,
                      dsn="postgresql://bob:hunter2@127.0.0.1:1/news?connect_timeout=3")
    assert "hunter2" not in str(info.value)


@pytest.mark.pgvector
@needs_server
def test_a_big_first_write_builds_the_hnsw_index_after_loading(fresh_index, monkeypatch):
    from rag.index import pgvector_store

    monkeypatch.setattr(pgvector_store, "BULK_BUILD_ROWS", 20)
    index = fresh_index()
    writes = random_writes(10, 4, 8)
    index.write(writes)
    indexes = dict(index._db.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
        (index.schema,)).fetchall())
    assert "hnsw" in indexes["chunks_embedding"] and "vector_ip_ops" in indexes["chunks_embedding"]
    for query in writes[3].vectors:
        assert [(h.article.id, h.chunk.ordinal) for h in index.search(query, 5)] == exact(
            writes, query, 5)


@pytest.mark.pgvector
@needs_server
def test_the_approximate_filtered_path_finds_what_exact_search_finds(fresh_index, monkeypatch):
    from rag.index import pgvector_store

    monkeypatch.setattr(pgvector_store, "EXACT_FILTER_ROWS", 0)  # force the HNSW route
    index = fresh_index()
    writes = random_writes(30, 3, 8, seed=1)
    index.write(writes)
    rng = np.random.default_rng(2)
    for _ in range(3):
        query = rng.standard_normal(8).astype(np.float32)
        hits = index.search(query, 6, SearchFilters(sources=("odd",)))
        assert [(h.article.id, h.chunk.ordinal) for h in hits] == exact(
            writes, query, 6, lambda a: a.source == "odd")


@pytest.mark.pgvector
@pytest.mark.slow
@needs_server
def test_the_cli_works_on_pgvector(sample_system, monkeypatch):
    from typer.testing import CliRunner

    from rag.cli import app
    from rag.index import copy_index

    name = f"test_cli_{uuid.uuid4().hex[:8]}"
    target = PgVectorIndex(name, model=sample_system.index.model,
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
        target.drop()
        target.close()
