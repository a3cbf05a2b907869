"""Scale benchmark: exact vs approximate vector search at 100k-1M chunks, FAISS and pgvector.

Synthetic 384-d chunk vectors are perturbed copies of real chunk embeddings (so neighbourhoods
look like real ones): ``normalize(real + noise * gaussian / sqrt(d))``. Real vectors come from an
existing index folder (``--vectors-from``: its store.sqlite ``vectors`` table; nothing is
embedded), or, without one, from embedding the sample corpus. Queries are further perturbed
copies, not in the set. For each size and method it reports build time, memory, p50/p95 latency of
one top-10 query at a time, and recall@10 against exact search (FAISS IndexFlatIP)::

    python bench/scale.py --vectors-from /path/to/index --sizes 100000 1000000 \\
        --out bench/results/scale.json

Methods: ``flat`` (FAISS IndexFlatIP: exact, what the FAISS backend uses below
APPROX_MIN_CHUNKS), ``ivf`` (IndexIVFFlat exactly as FaissVectors builds it above that: nlist =
4 sqrt(n)), ``hnsw`` (FAISS IndexHNSWFlat, M=32; cannot delete, so not the FAISS backend's
default) and ``pgvector`` (the real ``open_index("pgvector", ...)``: bulk write + HNSW build in
one transaction, searched both by raw SQL returning ids and by the index's ``search`` returning
Hits; results up to issue 26 label that ``PgVectorIndex.search``). pgvector needs RAG_PG_DSN.
Memory is the index's size: FAISS's serialized index (what it holds in RAM; the RSS growth
during the build is logged too) and pgvector's HNSW index relation (the table is logged too).
Latencies are wall-clock, one query at a time on one core (FAISS limited to one thread, as one
pgvector backend process is), on a shared machine: compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

K = 10
CHUNKS_PER_ARTICLE = 10


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def rss_bytes() -> int:
    """This process's resident memory (Linux /proc; elsewhere the peak so far)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- data ------------------------------------------------------------------------------------
def real_vectors(folder: Path | None) -> np.ndarray:
    """Chunk embeddings of an existing index folder, or of the sample corpus embedded now."""
    if folder is not None:
        db = sqlite3.connect(f"file:{folder / 'store.sqlite'}?mode=ro", uri=True)
        rows = db.execute("SELECT vector FROM vectors").fetchall()
        db.close()
        if not rows:
            raise SystemExit(f"{folder}/store.sqlite has no vectors")
        return np.vstack([np.frombuffer(r[0], dtype=np.float32) for r in rows])
    from embeddings import get_embedder
    from rag.articles import load_paths
    from rag.config import Config
    from rag.ingest import chunk_for
    from rag.system import SAMPLE_CORPUS

    embedder, config = get_embedder(Config().embedding_model), Config()
    texts = [c.embed_text for a in load_paths([SAMPLE_CORPUS]).articles
             for c in chunk_for(a, embedder, config)]
    log(f"no --vectors-from: embedding {len(texts)} sample-corpus chunks")
    return embedder.embed(texts)


def perturbed(base: np.ndarray, n: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = base.shape[1]
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks, to bound temporary memory
        stop = min(n, start + 100_000)
        picks = rng.integers(0, len(base), stop - start)
        block = base[picks] + (noise / math.sqrt(d)) * rng.standard_normal(
            (stop - start, d), dtype=np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatIP(data.shape[1])
    index.add(data)
    scores, ids = index.search(queries, K)
    log(f"exact neighbours: mean cosine of the 1st {scores[:, 0].mean():.3f}, "
        f"of the {K}th {scores[:, -1].mean():.3f}")
    return ids


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:K]) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def timed_queries(search, queries: np.ndarray) -> tuple[list[list[int]], list[float]]:
    """Runs ``search(query) -> ids`` one query at a time, after a short warm-up."""
    for q in queries[:5]:
        search(q)
    found, times = [], []
    for q in queries:
        started = time.perf_counter()
        found.append(search(q))
        times.append((time.perf_counter() - started) * 1000)
    return found, times


def row(size: int, method: str, build_s: float, index_mb: float, times: list[float],
        rec: float, **extra) -> dict:
    out = {"chunks": size, "method": method, "build_s": round(build_s, 1),
           "index_mb": round(index_mb, 1), "p50_ms": round(float(np.percentile(times, 50)), 2),
           "p95_ms": round(float(np.percentile(times, 95)), 2), "recall_at_10": round(rec, 4)}
    out.update(extra)
    log(json.dumps(out))
    return out


# --- FAISS -------------------------------------------------------------------------------------
def bench_faiss(method: str, data: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                args: argparse.Namespace) -> dict:
    import faiss

    n, d = data.shape
    before = rss_bytes()
    started = time.perf_counter()
    extra: dict = {}
    if method == "flat":
        index = faiss.IndexFlatIP(d)
        index.add(data)
    elif method == "ivf":  # exactly what FaissVectors switches to above APPROX_MIN_CHUNKS
        from rag.index.faiss_store import ivf_index

        index = ivf_index(data, d)
        index.add(data)
        index.nprobe = args.nprobe
        extra = {"params": f"nlist={index.nlist} nprobe={args.nprobe}"}
    elif method == "hnsw":
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 64
        index.add(data)
        index.hnsw.efSearch = args.ef_search
        extra = {"params": f"M=32 efConstruction=64 efSearch={args.ef_search}"}
    else:
        raise ValueError(method)
    build = time.perf_counter() - started
    extra["rss_growth_mb"] = round((rss_bytes() - before) / 1e6, 1)
    memory = faiss.serialize_index(index).nbytes / 1e6
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # one query on one core, like one pgvector backend process
    try:
        found, times = timed_queries(
            lambda q: index.search(q.reshape(1, -1), K)[1][0].tolist(), queries)
    finally:
        faiss.omp_set_num_threads(threads)
    return row(n, f"faiss-{method}", build, memory, times, recall(found, truth), **extra)


# --- pgvector ----------------------------------------------------------------------------------
def synthetic_writes(data: np.ndarray):  # type: ignore[no-untyped-def]
    """ArticleWrites of CHUNKS_PER_ARTICLE one-sentence chunks each, over ``data`` in order."""
    from rag.articles import Article
    from rag.chunking import Chunk
    from rag.index.base import ArticleWrite

    writes = []
    for a in range(math.ceil(len(data) / CHUNKS_PER_ARTICLE)):
        lo, hi = a * CHUNKS_PER_ARTICLE, min(len(data), (a + 1) * CHUNKS_PER_ARTICLE)
        sentences = [f"Passage {j} of synthetic story {a}." for j in range(hi - lo)]
        article = Article(title=f"Story {a}", text=" ".join(sentences), id=f"s{a}",
                          source=f"wire{a % 5}", published_at=f"{2020 + a % 5}-01-01")
        chunks, start = [], 0
        for j, s in enumerate(sentences):
            chunks.append(Chunk(article.id, j, start, start + len(s), s, article.title))
            start += len(s) + 1
        writes.append(ArticleWrite(article, chunks, data[lo:hi]))
    return writes


def bench_pgvector(data: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                   args: argparse.Namespace) -> list[dict]:
    import psycopg
    from pgvector.psycopg import register_vector
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from rag.index import open_index
    from rag.index.base import HNSWIndex
    from rag.index.store import DSN_ENV, schema_for

    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        log(f"skipping pgvector: {DSN_ENV} is not set")
        return []
    n = len(data)
    # Server-side build settings for this benchmark's connection only.
    options = (f"-c maintenance_work_mem={args.pg_build_memory} "
               f"-c max_parallel_maintenance_workers={args.pg_workers} "
               f"-c statement_timeout={int(args.pg_timeout_min * 60_000)}")
    dsn = make_conninfo(dsn, options=options)
    name = f"bench_scale_{n}_{uuid.uuid4().hex[:6]}"
    writes = synthetic_writes(data)
    build_params = HNSWIndex(m=16, ef_construction=64)
    index = open_index("pgvector", name, model="bench", dimension=data.shape[1], dsn=dsn,
                       params=build_params)
    schema = schema_for(name)
    db = psycopg.connect(dsn, autocommit=True)  # the benchmark's own raw-SQL connection
    register_vector(db)
    try:
        log(f"pgvector: writing {n} chunks + building HNSW (timeout {args.pg_timeout_min} min)")
        started = time.perf_counter()
        try:
            index.write(writes)
        except Exception as exc:  # the statement timeout: report it, do not hide it
            log(f"pgvector build failed after {time.perf_counter() - started:.0f}s: {exc}")
            return [{"chunks": n, "method": "pgvector-hnsw", "build_s": None,
                     "error": f"{type(exc).__name__}: {str(exc).strip()[:200]}",
                     "timeout_min": args.pg_timeout_min}]
        build = time.perf_counter() - started
        chunks = sql.Identifier(schema, "chunks")
        table_b, index_b, first_id = db.execute(sql.SQL(
            "SELECT pg_total_relation_size(%s::regclass) - pg_indexes_size(%s::regclass), "
            "pg_relation_size(%s::regclass), (SELECT min(id) FROM {t})").format(t=chunks),
            (f"{schema}.chunks",) * 2 + (f"{schema}.chunks_embedding",)).fetchone()
        nearest = sql.SQL("SELECT id FROM {t} ORDER BY embedding <#> %s LIMIT %s").format(
            t=chunks)
        rows = []
        for ef in args.pg_ef_search:  # one build, several search breadths
            params = (f"m={build_params.m} ef_construction={build_params.ef_construction} "
                      f"ef_search={ef}")
            db.execute(f"SET hnsw.ef_search = {int(ef)}")
            found, times = timed_queries(
                lambda q: [r[0] - first_id for r in db.execute(nearest, (q, K)).fetchall()],
                queries)
            rows.append(row(n, "pgvector-hnsw (SQL, ids)", build, index_b / 1e6, times,
                            recall(found, truth), params=params,
                            table_mb=round(table_b / 1e6, 1)))
            searcher = open_index("pgvector", name, model="bench", dimension=data.shape[1],
                                  dsn=dsn,
                                  params=HNSWIndex(m=16, ef_construction=64, ef_search=ef))

            def via_backend(q: np.ndarray, searcher=searcher) -> list[int]:
                return [int(h.article.id[1:]) * CHUNKS_PER_ARTICLE + h.chunk.ordinal
                        for h in searcher.search(q, K)]

            try:
                found, times = timed_queries(via_backend, queries)
            finally:
                searcher.close()
            rows.append(row(n, "pgvector-hnsw (NewsIndex.search)", build, index_b / 1e6,
                            times, recall(found, truth), params=params,
                            table_mb=round(table_b / 1e6, 1)))
        return rows
    finally:
        db.close()
        index.store.drop()
        index.close()


# --- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors-from", type=Path, default=None,
                        help="an index folder whose store.sqlite holds real chunk vectors")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--methods", default="flat,ivf,hnsw,pgvector")
    parser.add_argument("--hnsw-max", type=int, default=1_000_000,
                        help="skip FAISS HNSW above this many chunks (slow to build)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.8,
                        help="norm of the perturbation relative to the unit real vector")
    parser.add_argument("--nprobe", type=int, default=None,
                        help="IVF lists scanned (default: the FAISS backend's IVF_NPROBE)")
    parser.add_argument("--ef-search", type=int, default=64)
    parser.add_argument("--pg-build-memory", default="4GB")
    parser.add_argument("--pg-workers", type=int, default=1,
                        help="parallel maintenance workers besides the leader")
    parser.add_argument("--pg-timeout-min", type=float, default=25.0)
    parser.add_argument("--pg-ef-search", type=int, nargs="+", default=[100],
                        help="pgvector hnsw.ef_search values to query the one build with")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.nprobe is None:
        from rag.index.faiss_store import IVF_NPROBE

        args.nprobe = IVF_NPROBE
    methods = args.methods.split(",")

    base = real_vectors(args.vectors_from)
    log(f"{len(base)} real vectors of {base.shape[1]} dims"
        + (f" from {args.vectors_from}" if args.vectors_from else ""))
    queries = perturbed(base, args.queries, args.noise, seed=12345)
    rows: list[dict] = []
    for size in args.sizes:
        data = perturbed(base, size, args.noise, seed=size)
        log(f"--- {size} chunks")
        truth = exact_top(data, queries)
        for method in ("flat", "ivf", "hnsw"):
            if method in methods and not (method == "hnsw" and size > args.hnsw_max):
                rows.append(bench_faiss(method, data, queries, truth, args))
        if "pgvector" in methods:
            rows.extend(bench_pgvector(data, queries, truth, args))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "real_vectors": len(base),
                 "rows": rows}, indent=2))
        del data
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    cols = ["chunks", "method", "build_s", "index_mb", "p50_ms", "p95_ms", "recall_at_10"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, r.get("error", ""))) for c in cols) + " |")


if __name__ == "__main__":
    main()
