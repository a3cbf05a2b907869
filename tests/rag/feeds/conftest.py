"""Fixtures of the feed state's tests beside tests/conftest.py's."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def schema(request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of a new PostgreSQL schema on ``RAG_PG_DSN`` (``rag_test_<module>_<random>``,
    made by the store that uses it), dropped after the test. Without ``RAG_PG_DSN`` the test is
    skipped, or fails in CI, where the pgvector tests must run."""
    if not os.environ.get("RAG_PG_DSN"):
        if os.environ.get("CI"):
            pytest.fail("in CI the pgvector tests must run: RAG_PG_DSN is not set")
        pytest.skip("RAG_PG_DSN is not set: no PostgreSQL server")
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    name = f"rag_test_{module}_{uuid.uuid4().hex[:8]}"
    yield name
    import psycopg

    with psycopg.connect(os.environ["RAG_PG_DSN"], autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
