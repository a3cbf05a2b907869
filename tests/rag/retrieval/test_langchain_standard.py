"""LangChain's own standard suite (langchain-tests) for NewsRetriever, over FAISS and pgvector.

The vector-store suite does not apply: our index is article-shaped (an article and all its
chunks are written and replaced together, and only article fields are kept), where LangChain's
VectorStore stores free-form Documents with arbitrary metadata by id.
"""

from __future__ import annotations

import os
import uuid

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.config import Config
from rag.index.store import DSN_ENV
from rag.retrieval import NewsRetriever, Retriever

pytestmark = pytest.mark.slow


class StandardSuite(RetrieversIntegrationTests):
    backend = "faiss"

    @pytest.fixture(autouse=True)
    def _news_retriever(self, request) -> None:
        self.inner = request.getfixturevalue(f"{self.backend}_retriever")

    @property
    def retriever_constructor(self) -> type[NewsRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": self.inner}

    @property
    def retriever_query_example(self) -> str:
        return "Where is the nuclear plant being built?"


class TestNewsRetrieverOnFaiss(StandardSuite):
    backend = "faiss"


@pytest.mark.pgvector
@pytest.mark.skipif(not os.environ.get(DSN_ENV),
                    reason=f"{DSN_ENV} is not set: no PostgreSQL server "
                           "(`source .ci/start.d/30-postgres.sh`)")
class TestNewsRetrieverOnPgvector(StandardSuite):
    backend = "pgvector"


@pytest.fixture(scope="module")
def faiss_retriever(sample_system) -> Retriever:
    return sample_system.retriever


@pytest.fixture(scope="module")
def pgvector_retriever(sample_system, embedder):
    """The sample index copied into a fresh pgvector schema (nothing embedded again)."""
    from rag.index import copy_index, open_index

    index = open_index("pgvector", f"test_lc_{uuid.uuid4().hex[:8]}",
                       model=sample_system.index.model, dimension=sample_system.index.dimension)
    try:
        copy_index(sample_system.index, index)
        yield Retriever(index, embedder, Config(index_backend="pgvector"))
    finally:
        index.store.drop()
        index.close()
