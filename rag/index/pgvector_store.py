"""PostgreSQL + pgvector backend: articles, chunks and vectors in Postgres tables, HNSW search.

Written on psycopg 3 and the ``pgvector`` package directly rather than on langchain-postgres'
PGVectorStore: our interface is article-shaped (an article and all its chunks replaced or deleted
in one transaction together with other articles, filters on article columns joined to chunks, a
vector cache keyed by chunk content, a model/dimension identity check), while PGVectorStore keeps
LangChain Documents with JSON metadata in one table and commits each call on its own. Plain SQL on
two small tables does all of ours in one transaction, with no second abstraction to work around.

One index is one schema, named from the index name (:func:`schema_for`), so several indexes live
in one database::

    <schema>.meta      model, dimension, format
    <schema>.articles  one row per article (the same columns as the FAISS backend's SQLite)
    <schema>.chunks    one row per chunk with its ``vector(dimension)``, under an HNSW index on
                       inner product: the embedder's vectors are L2-normalized, so this is cosine
                       similarity, and the scores equal those of FAISS's IndexFlatIP.

The connection string comes from ``RAG_PG_DSN`` (or the ``dsn`` argument).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.articles import Article
from rag.chunking import Chunk
from rag.config import Config
from rag.errors import IndexMismatchError, RagError
from rag.index.base import ArticleWrite, Hit, IndexStats, SearchFilters
from rag.index.faiss_store import ARTICLE_COLUMNS, _article, _prefixed

FORMAT_VERSION = 1
DSN_ENV = "RAG_PG_DSN"
# HNSW build and search parameters (pgvector's defaults are m=16, ef_construction=64,
# ef_search=40); bench/scale.py measures recall and latency with these same values.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = Config.pg_ef_search  # the default lives in the one config object
HNSW_MAX_EF_SEARCH = 1000  # pgvector's upper limit
# A filtered search over at most this many chunks is exact (a scan of just those rows): pgvector's
# HNSW filters after the graph walk, so a selective filter could otherwise find fewer than k.
EXACT_FILTER_ROWS = 50_000
# The first write into an empty index with at least this many chunks builds the HNSW index after
# loading the rows, which is several times faster than inserting into the graph row by row; the
# build is fastest when the graph fits in maintenance_work_mem (about 2 GB per million chunks).
BULK_BUILD_ROWS = 20_000
BUILD_MEMORY = "1GB"

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS {s}.articles (
    id text PRIMARY KEY, title text NOT NULL, text text NOT NULL, source text, url text,
    published_at text, author text, origin text, content_hash text NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_url ON {s}.articles (url);
CREATE INDEX IF NOT EXISTS articles_origin ON {s}.articles (origin);
CREATE INDEX IF NOT EXISTS articles_source ON {s}.articles (source);
CREATE TABLE IF NOT EXISTS {s}.chunks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id text NOT NULL REFERENCES {s}.articles (id) ON DELETE CASCADE,
    ordinal integer NOT NULL, start integer NOT NULL, "end" integer NOT NULL, key text NOT NULL,
    embedding vector({dim}) NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON {s}.chunks (article_id);
CREATE INDEX IF NOT EXISTS chunks_key ON {s}.chunks (key);
"""
HNSW_SQL = ("CREATE INDEX IF NOT EXISTS chunks_embedding ON {s}.chunks USING hnsw "
            f"(embedding vector_ip_ops) WITH (m = {HNSW_M}, "
            f"ef_construction = {HNSW_EF_CONSTRUCTION})")
HIT_COLUMNS = f'c.id, c.ordinal, c.start, c."end", {_prefixed("a")}'


def schema_for(name: str | Path) -> str:
    """The Postgres schema of the index called ``name``: readable, and distinct per name.

    >>> schema_for("news")
    'rag_news'
    >>> schema_for(".rag-index")
    'rag_rag_index_267de49f'
    """
    name = str(name)
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if slug != name or len(slug) > 40:
        slug = f"{slug[-40:].strip('_')}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return f"rag_{slug.strip('_')}"


def describe_dsn(dsn: str) -> str:
    """``host:port/dbname`` of a connection string, without user or password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(dsn)
    except Exception:  # a malformed DSN: say so without echoing it (it may hold a password)
        return "(unparsable connection string)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class PgVectorIndex:
    """An index in a PostgreSQL database with pgvector; same semantics as ``FaissIndex``.

    >>> import os, numpy as np
    >>> from rag.articles import Article
    >>> from rag.chunking import Chunk
    >>> from rag.index.base import ArticleWrite
    >>> if os.environ.get("RAG_PG_DSN"):  # needs a server: see .ci/start.d/30-postgres.sh
    ...     idx = PgVectorIndex("doctest", model="m", dimension=2)
    ...     a = Article(title="T", text="Hello world.")
    ...     idx.write([ArticleWrite(a, [Chunk(a.id, 0, 0, 12, "Hello world.", "T")],
    ...                             np.array([[1.0, 0.0]], dtype="float32"))])
    ...     print(idx.search(np.array([1.0, 0.0], dtype="float32"), k=1)[0].chunk.text)
    ...     idx.drop()
    ... else:
    ...     print("Hello world.")
    Hello world.
    """

    backend = "pgvector"

    def __init__(self, name: str | Path, model: str, dimension: int,
                 dsn: str | None = None, ef_search: int = HNSW_EF_SEARCH) -> None:
        import psycopg
        from pgvector.psycopg import register_vector
        from psycopg import sql

        self._sql = sql
        self.name = str(name)
        self.schema = schema_for(name)
        self.model = model
        self.dimension = int(dimension)
        if not 1 <= ef_search <= HNSW_MAX_EF_SEARCH:
            raise RagError(f"hnsw ef_search must be between 1 and {HNSW_MAX_EF_SEARCH}, "
                           f"got {ef_search}")
        self.ef_search = int(ef_search)  # graph candidates per query: recall vs latency
        dsn = dsn or os.environ.get(DSN_ENV)
        if not dsn:
            raise RagError(f"the pgvector backend needs a PostgreSQL connection string: set "
                           f"{DSN_ENV} (e.g. postgresql://user@127.0.0.1:5432/dbname)")
        self.where = describe_dsn(dsn)
        try:
            self._db = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as exc:
            raise RagError(f"cannot connect to PostgreSQL at {self.where}: "
                           f"{str(exc).strip().splitlines()[-1]}") from None
        self._lock = threading.RLock()
        self._s = sql.Identifier(self.schema)
        self._ef_search: int | None = None  # the session's hnsw.ef_search, once set
        try:
            self._ensure_extension()
            register_vector(self._db)
            self._create_or_check()
        except BaseException:
            self._db.close()
            raise

    # --- schema and identity -------------------------------------------------------------
    def _q(self, template: str):  # type: ignore[no-untyped-def]
        """SQL with ``{s}`` bound to this index's schema."""
        return self._sql.SQL(template).format(s=self._s)

    def _ensure_extension(self) -> None:
        import psycopg

        if self._db.execute("SELECT 1 FROM pg_extension WHERE extname='vector'").fetchone():
            return
        try:
            self._db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as exc:
            raise RagError(f"the pgvector extension is not installed in {self.where} and cannot "
                           f"be created by this user ({exc.sqlstate}): run CREATE EXTENSION "
                           "vector as a superuser") from None

    def _create_or_check(self) -> None:
        with self._lock, self._db.transaction():
            # Serializes creation when several processes open a new index at once.
            self._db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
            self._db.execute(self._q("CREATE SCHEMA IF NOT EXISTS {s}"))
            self._db.execute(self._q(
                "CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL)"))
            meta = dict(self._db.execute(self._q("SELECT key, value FROM {s}.meta")).fetchall())
            if not meta:
                for key, value in (("model", self.model), ("dimension", str(self.dimension)),
                                   ("format", str(FORMAT_VERSION)), ("name", self.name)):
                    self._db.execute(self._q("INSERT INTO {s}.meta VALUES (%s, %s)"),
                                     (key, value))
            elif meta.get("model") != self.model or int(meta.get("dimension", 0)) != self.dimension:
                raise IndexMismatchError(
                    f"index {self.name!r} (schema {self.schema} at {self.where}) was built with "
                    f"model {meta.get('model')!r} ({meta.get('dimension')} dims), not "
                    f"{self.model!r} ({self.dimension} dims): use that model, or another index "
                    "name")
            self._db.execute(self._sql.SQL(SCHEMA_SQL).format(
                s=self._s, dim=self._sql.Literal(self.dimension)))
            self._db.execute(self._q(HNSW_SQL))

    def drop(self) -> None:
        """Delete this index (its schema and everything in it) from the database."""
        with self._lock:
            self._db.execute(self._q("DROP SCHEMA IF EXISTS {s} CASCADE"))

    # --- writes ---------------------------------------------------------------------------
    def write(self, upserts: list[ArticleWrite], deletes: Iterable[str] = ()) -> None:
        for w in upserts:
            if w.vectors.size and w.vectors.shape[1] != self.dimension:
                raise IndexMismatchError(
                    f"vectors of {w.vectors.shape[1]} dims for an index of {self.dimension}")
        replaced = sorted({w.article.id for w in upserts} | set(deletes))
        n_new = sum(len(w.chunks) for w in upserts)
        with self._lock, self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
            if replaced:
                self._db.execute(self._q("DELETE FROM {s}.articles WHERE id = ANY(%s)"),
                                 (replaced,))
            bulk = n_new >= BULK_BUILD_ROWS and not self._db.execute(
                self._q("SELECT EXISTS (SELECT 1 FROM {s}.chunks)")).fetchone()[0]
            if bulk:
                self._db.execute(self._q("DROP INDEX IF EXISTS {s}.chunks_embedding"))
            self._copy_rows(upserts)
            self._db.execute(self._q(
                "INSERT INTO {s}.meta VALUES ('generation', '1') ON CONFLICT (key) "
                "DO UPDATE SET value = (meta.value::bigint + 1)::text"))
            if bulk:
                self._db.execute(  # at least BUILD_MEMORY, more if the server allows more
                    "SELECT set_config('maintenance_work_mem', %s, true) WHERE pg_size_bytes("
                    "current_setting('maintenance_work_mem')) < pg_size_bytes(%s)",
                    (BUILD_MEMORY, BUILD_MEMORY))
                self._db.execute(self._q(HNSW_SQL))

    def _copy_rows(self, upserts: list[ArticleWrite]) -> None:
        cur = self._db.cursor()
        with cur.copy(self._q(f"COPY {{s}}.articles ({ARTICLE_COLUMNS}, content_hash) "
                              "FROM STDIN")) as copy:
            for w in upserts:
                a = w.article
                copy.write_row((a.id, a.title, a.text, a.source, a.url, a.published_at,
                                a.author, a.origin, a.content_hash))
        with cur.copy(self._q('COPY {s}.chunks (article_id, ordinal, start, "end", key, '
                              "embedding) FROM STDIN WITH (FORMAT BINARY)")) as copy:
            copy.set_types(["text", "int4", "int4", "int4", "text", "vector"])
            for w in upserts:
                for chunk, vector in zip(w.chunks, w.vectors, strict=True):
                    copy.write_row((w.article.id, chunk.ordinal, chunk.start, chunk.end,
                                    chunk.key, np.asarray(vector, dtype=np.float32)))

    # --- search ---------------------------------------------------------------------------
    def search(self, vector: np.ndarray, k: int,
               filters: SearchFilters | None = None) -> list[Hit]:
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dimension:
            raise IndexMismatchError(
                f"a query vector of {query.shape[0]} dims for an index of {self.dimension}")
        where, args = self._filter_sql(filters or SearchFilters())
        with self._lock:
            if not filters and k <= HNSW_MAX_EF_SEARCH:  # the common case: one round trip
                self._session_ef_search(max(k, self.ef_search))
                rows = self._nearest(query, k, where, args)
            else:
                rows = self._filtered_nearest(query, k, where, args)
        return [self._hit(row[:12], row[12]) for row in rows]

    def _filtered_nearest(self, query: np.ndarray, k: int, where: str,
                          args: list) -> list[tuple]:
        with self._db.transaction():
            allowed = self._db.execute(self._q(
                "SELECT count(*) FROM {s}.chunks c JOIN {s}.articles a ON a.id = c.article_id "
                f"WHERE {where}"), args).fetchone()[0]
            if allowed == 0:
                return []
            if k <= HNSW_MAX_EF_SEARCH and allowed > EXACT_FILTER_ROWS:
                # HNSW filters after its graph walk: widen the walk, and if it still finds
                # fewer than k matching chunks, fall back to the exact scan below.
                ef = min(HNSW_MAX_EF_SEARCH, max(k, 4 * self.ef_search))
                self._db.execute(f"SET LOCAL hnsw.ef_search = {int(ef)}")
                rows = self._nearest(query, k, where, args)
                if len(rows) >= min(k, allowed):
                    return rows
            # A top-k sort over just the matching rows: exact, and fast for a selective filter.
            self._db.execute("SET LOCAL enable_indexscan = off")
            return self._nearest(query, k, where, args)

    def _session_ef_search(self, ef: int) -> None:
        if self._ef_search != ef:
            self._db.execute(f"SET hnsw.ef_search = {int(ef)}")
            self._ef_search = ef

    def _nearest(self, query: np.ndarray, k: int, where: str, args: list) -> list[tuple]:
        return self._db.execute(self._q(
            f"SELECT {HIT_COLUMNS}, -(c.embedding <#> %s) AS score FROM {{s}}.chunks c "
            f"JOIN {{s}}.articles a ON a.id = c.article_id WHERE {where} "
            "ORDER BY c.embedding <#> %s LIMIT %s"), [query, *args, query, k]).fetchall()

    @staticmethod
    def _filter_sql(f: SearchFilters) -> tuple[str, list]:
        where, args = ["TRUE"], []
        if f.sources:
            where.append("a.source = ANY(%s)")
            args.append(list(f.sources))
        if f.article_ids:
            where.append("a.id = ANY(%s)")
            args.append(list(f.article_ids))
        if f.date_from:
            where.append("left(a.published_at, 10) >= %s")
            args.append(f.date_from[:10])
        if f.date_to:
            where.append("left(a.published_at, 10) <= %s")
            args.append(f.date_to[:10])
        return " AND ".join(where) if len(where) > 1 else "TRUE", args

    @staticmethod
    def _hit(row: tuple, score: float) -> Hit:
        article = _article(row[4:12])
        start, end = row[2], row[3]
        chunk = Chunk(article.id, row[1], start, end, article.text[start:end], article.title)
        return Hit(chunk, article, float(score))

    def hits(self, found: list[tuple[int, float]]) -> list[Hit]:
        """Hits for ``(chunk id, score)`` pairs, in that order; unknown ids are left out."""
        if not found:
            return []
        with self._lock:
            rows = self._db.execute(self._q(
                f"SELECT {HIT_COLUMNS} FROM {{s}}.chunks c JOIN {{s}}.articles a "
                "ON a.id = c.article_id WHERE c.id = ANY(%s)"), ([i for i, _ in found],))
            by_id = {row[0]: row for row in rows.fetchall()}
        return [self._hit(by_id[i], score) for i, score in found if i in by_id]

    def all_chunks(self) -> list[tuple[int, Chunk, Article]]:
        """Every chunk with its id (as ``hits`` takes it) and its article, in id order."""
        with self._lock, self._db.transaction():  # one snapshot for both reads
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            articles = {r[0]: _article(r) for r in self._db.execute(
                self._q(f"SELECT {ARTICLE_COLUMNS} FROM {{s}}.articles"))}
            rows = self._db.execute(self._q(
                'SELECT id, article_id, ordinal, start, "end" FROM {s}.chunks ORDER BY id'))
            out = []
            for chunk_id, article_id, ordinal, start, end in rows:
                a = articles[article_id]
                out.append((int(chunk_id),
                            Chunk(a.id, ordinal, start, end, a.text[start:end], a.title), a))
        return out

    def generation(self) -> int:
        """A number that changes with every committed write, seen by every process."""
        with self._lock:
            row = self._db.execute(
                self._q("SELECT value FROM {s}.meta WHERE key = 'generation'")).fetchone()
        return int(row[0]) if row else 0

    # --- reads ----------------------------------------------------------------------------
    def article_hashes(self) -> dict[str, tuple[str, str | None]]:
        with self._lock:
            rows = self._db.execute(
                self._q("SELECT id, content_hash, origin FROM {s}.articles")).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def article_urls(self) -> dict[str, str]:
        """{url: article id} for every article that has a url."""
        with self._lock:
            return dict(self._db.execute(
                self._q("SELECT url, id FROM {s}.articles WHERE url IS NOT NULL")).fetchall())

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        if not keys:
            return {}
        with self._lock:
            rows = self._db.execute(self._q(
                "SELECT DISTINCT ON (key) key, embedding FROM {s}.chunks WHERE key = ANY(%s)"),
                (list(keys),)).fetchall()
        return {key: _as_float32(vec) for key, vec in rows}

    def get_article(self, article_id: str) -> Article | None:
        with self._lock:
            row = self._db.execute(
                self._q(f"SELECT {ARTICLE_COLUMNS} FROM {{s}}.articles WHERE id = %s"),
                (article_id,)).fetchone()
        return _article(row) if row else None

    def list_articles(self) -> list[tuple[Article, int]]:
        # NULLS LAST and the C collation give the same order as the SQLite of the FAISS backend.
        with self._lock:
            rows = self._db.execute(self._q(
                f"SELECT {_prefixed('a')}, "
                "(SELECT count(*) FROM {s}.chunks c WHERE c.article_id = a.id) "
                "FROM {s}.articles a "
                'ORDER BY a.published_at DESC NULLS LAST, a.title COLLATE "C"')).fetchall()
        return [(_article(r[:8]), int(r[8])) for r in rows]

    def chunks_of(self, article_id: str) -> list[Chunk]:
        article = self.get_article(article_id)
        if article is None:
            return []
        with self._lock:
            rows = self._db.execute(self._q(
                'SELECT ordinal, start, "end" FROM {s}.chunks WHERE article_id = %s '
                "ORDER BY ordinal"), (article_id,)).fetchall()
        return [Chunk(article.id, o, s, e, article.text[s:e], article.title) for o, s, e in rows]

    def stats(self) -> IndexStats:
        with self._lock:
            n_articles, n_chunks, size = self._db.execute(self._q(
                "SELECT (SELECT count(*) FROM {s}.articles), (SELECT count(*) FROM {s}.chunks), "
                "(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                " JOIN pg_namespace n ON n.oid = c.relnamespace "
                " WHERE n.nspname = %s AND c.relkind = 'r')"), (self.schema,)).fetchone()
        return IndexStats(int(n_articles), int(n_chunks), self.model, self.dimension,
                          self.backend, int(size),
                          {"path": f"{self.where} schema {self.schema}",
                           "database": self.where, "schema": self.schema})

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _as_float32(vec: object) -> np.ndarray:
    """A stored vector as float32: pgvector-python 0.5 reads `pgvector.Vector`, older ones numpy."""
    to_numpy = getattr(vec, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy else vec, dtype=np.float32)
