"""PostgreSQL + pgvector: the article store in a schema, searched by pgvector's HNSW index.

Written on psycopg 3 and the ``pgvector`` package directly rather than on langchain-postgres'
PGVectorStore: our store is article-shaped (an article and all its chunks replaced or deleted
in one transaction together with other articles, filters on article columns, a vector cache keyed
by chunk content, a model/dimension identity check), while PGVectorStore keeps LangChain
Documents with JSON metadata in one table and commits each call on its own.

One index is one schema, named from the index name (``rag.index.store.schema_for``), so several
indexes live in one database::

    <schema>.meta      model, dimension, format, generation
    <schema>.articles  one row per article (the same columns as the SQLite store)
    <schema>.chunks    one row per chunk with its ``vector(dimension)``, under an HNSW index on
                       inner product: the embedder's vectors are L2-normalized, so this is cosine
                       similarity, and the scores equal those of FAISS's IndexFlatIP.

The store is ``rag.index.store.PostgresStore`` (it connects, to ``RAG_PG_DSN`` or the ``dsn``
argument); this module holds the vector index, :class:`PgVectorHnsw`, which searches the store's
own table, so it is updated in the store's transaction. ``open_index("pgvector", name, ...)``
joins the two.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from rag.errors import RagError
from rag.index.base import HNSWIndex, StoredVectors, VectorParams
from rag.index.store import PostgresStore

HNSW_MAX_EF_SEARCH = 1000  # pgvector's upper limit
# A filtered search over at most this many chunks is exact (a scan of just those rows): pgvector's
# HNSW filters after the graph walk, so a selective filter could otherwise find fewer than k.
EXACT_FILTER_ROWS = 50_000
# The first write into an empty index with at least this many chunks builds the HNSW index after
# loading the rows, which is several times faster than inserting into the graph row by row; the
# build is fastest when the graph fits in maintenance_work_mem (about 2 GB per million chunks).
BULK_BUILD_ROWS = 20_000
BUILD_MEMORY = "1GB"

HNSW_SQL = ("CREATE INDEX IF NOT EXISTS chunks_embedding ON {s}.chunks USING hnsw "
            "(embedding vector_ip_ops) WITH (m = {m}, ef_construction = {ef})")


class PgVectorHnsw:
    """pgvector's HNSW index over the ``embedding`` column of a :class:`PostgresStore`'s chunks.

    The vectors are the store's rows, written in its transaction, so ``add``, ``remove``,
    ``load`` and ``save`` have nothing to do: PostgreSQL keeps the graph in step.

    >>> import os, numpy as np
    >>> from rag.index import open_index
    >>> from rag.index.base import ArticleWrite
    >>> from rag.articles import Article
    >>> from rag.chunking import Chunk
    >>> if os.environ.get("RAG_PG_DSN"):  # needs a server: see .ci/start.d/30-postgres.sh
    ...     idx = open_index("pgvector", "doctest", model="m", dimension=2)
    ...     a = Article(title="T", text="Hello world.")
    ...     idx.write([ArticleWrite(a, [Chunk(a.id, 0, 0, 12, "Hello world.", "T")],
    ...                             np.array([[1.0, 0.0]], dtype="float32"))])
    ...     print(idx.search(np.array([1.0, 0.0], dtype="float32"), k=1)[0].chunk.text)
    ...     idx.store.drop()
    ... else:
    ...     print("Hello world.")
    Hello world.
    """

    backend = "pgvector"

    def __init__(self, store: PostgresStore, params: HNSWIndex | None = None) -> None:
        self.store = store
        self.params = self.checked(params)
        self._db = store.connection  # one transaction for the rows and the graph
        self._session_ef: int | None = None
        self._db.execute(self._q(HNSW_SQL))

    @staticmethod
    def checked(params: VectorParams | None) -> HNSWIndex:
        """``params`` if pgvector can build them (None: the defaults), else a named error;
        cheap, so it runs before connecting."""
        params = params or HNSWIndex()
        if not isinstance(params, HNSWIndex):
            raise RagError(f"the pgvector backend has an HNSW index only, not {params!r}")
        if not 1 <= params.ef_search <= HNSW_MAX_EF_SEARCH:
            raise RagError(f"hnsw ef_search must be between 1 and {HNSW_MAX_EF_SEARCH}, "
                           f"got {params.ef_search}")
        return params

    def _q(self, template: str) -> Any:
        from psycopg import sql

        return sql.SQL(template).format(s=sql.Identifier(self.store.schema),
                                        m=sql.Literal(self.params.m),
                                        ef=sql.Literal(self.params.ef_construction))

    def load(self, store: StoredVectors, generation: int) -> bool:
        return False

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        pass

    def remove(self, ids: np.ndarray) -> None:
        pass

    def save(self, generation: int) -> None:
        pass

    def problems(self, store: StoredVectors) -> list[str]:
        return []  # the graph indexes the store's own rows: nothing to differ

    def count(self) -> int:
        return self.store.counts()[1]

    @contextlib.contextmanager
    def writing(self, n_new: int) -> Iterator[None]:
        """A big first load builds the graph after the rows are in: several times faster than
        inserting into it row by row."""
        bulk = n_new >= BULK_BUILD_ROWS and not self._db.execute(
            self._q("SELECT EXISTS (SELECT 1 FROM {s}.chunks)")).fetchone()[0]
        if bulk:
            self._db.execute(self._q("DROP INDEX IF EXISTS {s}.chunks_embedding"))
        yield
        if bulk:
            self._db.execute(  # at least BUILD_MEMORY, more if the server allows more
                "SELECT set_config('maintenance_work_mem', %s, true) WHERE pg_size_bytes("
                "current_setting('maintenance_work_mem')) < pg_size_bytes(%s)",
                (BUILD_MEMORY, BUILD_MEMORY))
            self._db.execute(self._q(HNSW_SQL))

    def search(self, vector: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        with self.store.lock:
            if allowed is None and k <= HNSW_MAX_EF_SEARCH:  # the common case: one round trip
                self._set_ef_search(max(k, self.params.ef_search))
                rows = self._nearest(query, k, None)
            else:
                rows = self._filtered(query, k, allowed)
        return [(int(i), float(score)) for i, score in rows]

    def _filtered(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple]:
        n_allowed = self.count() if allowed is None else len(allowed)
        ids = None if allowed is None else [int(i) for i in allowed]
        with self._db.transaction():
            if k <= HNSW_MAX_EF_SEARCH and n_allowed > EXACT_FILTER_ROWS:
                # HNSW filters after its graph walk: widen the walk, and if it still finds
                # fewer than k allowed chunks, fall back to the exact scan below.
                ef = min(HNSW_MAX_EF_SEARCH, max(k, 4 * self.params.ef_search))
                self._db.execute(f"SET LOCAL hnsw.ef_search = {int(ef)}")
                rows = self._nearest(query, k, ids)
                if len(rows) >= min(k, n_allowed):
                    return rows
            # A top-k sort over just the allowed rows: exact, and fast for a selective filter.
            self._db.execute("SET LOCAL enable_indexscan = off")
            return self._nearest(query, k, ids)

    def _set_ef_search(self, ef: int) -> None:
        if self._session_ef != ef:
            self._db.execute(f"SET hnsw.ef_search = {int(ef)}")
            self._session_ef = ef

    def ef_search_in_force(self) -> int:
        """The session's ``hnsw.ef_search`` (what the last unfiltered search used)."""
        return int(self._db.execute("SHOW hnsw.ef_search").fetchone()[0])

    def _nearest(self, query: np.ndarray, k: int, ids: list[int] | None) -> list[tuple]:
        where, args = ("WHERE id = ANY(%s)", [ids]) if ids is not None else ("", [])
        return self._db.execute(self._q(
            f"SELECT id, -(embedding <#> %s) AS score FROM {{s}}.chunks {where} "
            "ORDER BY embedding <#> %s LIMIT %s"), [query, *args, query, k]).fetchall()
