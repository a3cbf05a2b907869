"""FAISS vector indexes (flat, IVF, HNSW) in an index folder, next to their SQLite store.

``open_index("faiss", folder, ...)`` joins the two: ``rag.index.store.SqliteStore.in_folder``
and :class:`FaissVectors`.

Layout of the index folder::

    store.sqlite    articles, chunks, vectors (the source of truth; transactional)
    vectors.faiss   FAISS index over chunk ids (derived; rebuilt from SQLite if stale)
    manifest.json   model, dimension, backend, generation, library versions
    write.lock      held by a writer from its SQLite commit to its manifest

No pickle anywhere. A write commits SQLite first, then replaces the FAISS file atomically and then
the manifest; a crash in between leaves a generation mismatch, and the next open rebuilds the FAISS
file from the vectors in SQLite, so the last committed state always loads.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.files import atomic_write, remove_stale_temp_files
from rag.index.base import FlatIndex, HNSWIndex, IVFIndex, StoredVectors, VectorParams
from rag.index.store import FORMAT_VERSION

# With no explicit parameters, from this many chunks on a rebuild trains an IVF index
# (approximate: it scans IVF_NPROBE of its lists) instead of the exact flat one: at 100k chunks
# bench/scale.py measured ~150x lower latency for recall@10 0.994 (docs/pgvector.md). IVF,
# unlike HNSW, can remove ids, so writes stay incremental.
APPROX_MIN_CHUNKS = 100_000
IVF_NPROBE = 16
# Up to this many chunks an opened flat FAISS file is checked vector by vector against SQLite
# (~0.1 s per 30k chunks); larger indexes are checked by ids only.
CHECK_VECTORS_MAX = 200_000
FAISS_FILE = "vectors.faiss"
MANIFEST = "manifest.json"
DERIVED = (FAISS_FILE, MANIFEST)


class FaissVectors:
    """A FAISS index over chunk ids, saved as ``vectors.faiss`` + ``manifest.json`` in ``folder``.

    ``params``: ``FlatIndex()``, ``IVFIndex(nprobe)`` or ``HNSWIndex(m, ef_construction,
    ef_search)``; None (the default) is flat, switching to IVF from ``APPROX_MIN_CHUNKS`` on.
    FAISS HNSW cannot remove ids: a write that replaces or deletes rebuilds its graph.

    >>> import tempfile, numpy as np
    >>> vectors = FaissVectors(tempfile.mkdtemp(), dimension=2, model="m")
    >>> vectors.add(np.array([7]), np.array([[1.0, 0.0]]))
    >>> vectors.search(np.array([1.0, 0.0]), k=1), vectors.kind
    ([(7, 1.0)], 'flat')
    """

    backend = "faiss"
    FILES = DERIVED  # what it saves in the folder, derived from the store beside them

    def __init__(self, folder: str | Path, dimension: int, model: str,
                 params: VectorParams | None = None) -> None:
        import faiss

        self._faiss = faiss
        self.folder = Path(folder)
        self.dimension = int(dimension)
        self.model = model
        self.params = params
        self.index: Any = self._new()

    # --- kinds ----------------------------------------------------------------------------------
    def _new(self, vectors: np.ndarray | None = None) -> Any:
        """An empty index of the kind ``params`` asks for (IVF trained on ``vectors``)."""
        faiss, p = self._faiss, self.params
        if isinstance(p, HNSWIndex):
            graph = faiss.IndexHNSWFlat(self.dimension, p.m, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = p.ef_construction
            graph.hnsw.efSearch = p.ef_search
            return faiss.IndexIDMap2(graph)
        if vectors is not None and len(vectors) and (
                isinstance(p, IVFIndex) or (p is None and len(vectors) >= APPROX_MIN_CHUNKS)):
            return ivf_index(vectors, self.dimension, self._nprobe())
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))

    def _nprobe(self) -> int:
        return self.params.nprobe if isinstance(self.params, IVFIndex) else IVF_NPROBE

    @property
    def kind(self) -> str:
        """``flat``, ``ivf`` or ``hnsw``: what the index in memory is."""
        return self._kind(self.index)

    def _kind(self, index: Any) -> str:
        if self._faiss.try_extract_index_ivf(index) is not None:
            return "ivf"
        return "hnsw" if self._hnsw(index) is not None else "flat"

    def _hnsw(self, index: Any) -> Any:
        """The HNSW graph inside ``index``, or None."""
        inner = getattr(index, "index", None)
        if inner is None:
            return None
        inner = self._faiss.downcast_index(inner)
        return inner if isinstance(inner, self._faiss.IndexHNSW) else None

    def _ef_search(self) -> int:
        return self.params.ef_search if isinstance(self.params, HNSWIndex) else 200

    def _wanted(self, index: Any) -> bool:
        """Whether a loaded index is of the kind ``params`` asks for."""
        kind, p = self._kind(index), self.params
        if p is None:
            return kind in ("flat", "ivf")
        return kind == {FlatIndex: "flat", IVFIndex: "ivf", HNSWIndex: "hnsw"}[type(p)]

    # --- VectorIndex --------------------------------------------------------------------------
    def load(self, store: StoredVectors, generation: int) -> bool:
        """The saved index if it is of ``generation`` and holds the store's vectors (False),
        else one rebuilt from the store (True: the caller saves it if it may)."""
        path, manifest = self.folder / FAISS_FILE, self._manifest()
        if path.exists() and manifest.get("generation") == generation:
            index = self._read(path, store)
            if index is not None:
                self.index = index
                return False
        ids, vectors = store.chunk_vectors()
        self._rebuild(ids, vectors)
        return True

    def _rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index = self._new(vectors if len(ids) else None)
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def _read(self, path: Path, store: StoredVectors) -> Any:
        """The FAISS file if it loads and holds exactly the store's chunk ids, else None."""
        try:
            index = self._faiss.read_index(str(path))
        except RuntimeError:  # truncated or corrupt: the store has everything to rebuild it
            return None
        ids = _faiss_ids(index)
        if index.d != self.dimension or ids is None or not self._wanted(index):
            return None
        self._tune(index)
        stored = store.chunk_ids()
        if not np.array_equal(np.sort(ids), stored):
            return None
        # Right ids can still hold wrong vectors: before issue 17's fix a process could save
        # a stale index over another's commit, a reused chunk id keeping a deleted vector.
        checked = hasattr(index, "id_map") and len(stored) <= CHECK_VECTORS_MAX
        if checked and _compare(index, *store.chunk_vectors(), self._faiss):
            return None
        return index

    def _tune(self, index: Any) -> None:
        """Search settings in force now, not those saved with the index."""
        ivf = self._faiss.try_extract_index_ivf(index)
        if ivf is not None:
            ivf.nprobe = self._nprobe()

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        if self._kind(self.index) == "flat" and (
                isinstance(self.params, IVFIndex)
                or (self.params is None and self.index.ntotal >= APPROX_MIN_CHUNKS)):
            self._rebuild(*self._held())  # IVF is trained once, on the vectors held now

    def remove(self, ids: np.ndarray) -> None:
        if self._kind(self.index) != "hnsw":
            self.index.remove_ids(ids)
            return
        held_ids, held = self._held()  # HNSW cannot remove: rebuild the graph without them
        keep = ~np.isin(held_ids, ids)
        self._rebuild(held_ids[keep], held[keep])

    def _held(self) -> tuple[np.ndarray, np.ndarray]:
        ids = self._faiss.vector_to_array(self.index.id_map).astype(np.int64)
        if not len(ids):
            return ids, np.zeros((0, self.dimension), dtype=np.float32)
        return ids, self.index.index.reconstruct_n(0, self.index.ntotal)

    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, vector: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if self.index.ntotal == 0:
            return []
        faiss = self._faiss
        k = min(k, self.index.ntotal)
        sel = None if allowed is None else faiss.IDSelectorBatch(
            np.asarray(allowed, dtype=np.int64))
        ivf = faiss.try_extract_index_ivf(self.index)
        if ivf is not None:  # filtered: every list scanned, exact over the allowed chunks
            params = faiss.SearchParametersIVF(sel=sel, nprobe=ivf.nlist) if sel else None
        elif self._hnsw(self.index) is not None:
            params = faiss.SearchParametersHNSW(efSearch=max(k, self._ef_search()))
            if sel is not None:
                params.sel = sel
        else:
            params = faiss.SearchParameters(sel=sel) if sel else None
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        scores, ids = self.index.search(query, k, params=params)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        if allowed is not None and len(found) < min(k, len(allowed)):
            # A graph walk that met too few allowed chunks: exact over those chunks instead.
            held = self.index.reconstruct_batch(np.asarray(allowed, dtype=np.int64))
            exact = held @ query[0]
            top = np.argsort(-exact, kind="stable")[:k]
            found = [(int(allowed[i]), float(exact[i])) for i in top]
        return found

    @contextlib.contextmanager
    def writing(self, n_new: int) -> Iterator[None]:
        yield

    def save(self, generation: int) -> None:
        """Write the FAISS file, then the manifest naming ``generation`` (call with the store's
        write lock: temp files left by a killed writer are removed first)."""
        remove_stale_temp_files(self.folder, DERIVED)
        atomic_write(self.folder / FAISS_FILE, self._write_index)
        manifest = {
            "format": FORMAT_VERSION, "backend": self.backend, "model": self.model,
            "dimension": self.dimension, "generation": generation, "versions": _versions(),
        }
        atomic_write(self.folder / MANIFEST,
                     lambda tmp: tmp.write_text(json.dumps(manifest, indent=2)))

    def _write_index(self, path: Path) -> None:
        try:
            self._faiss.write_index(self.index, str(path))
        except RuntimeError as exc:  # FAISS reports a failed write (a full disk) this way
            raise OSError(f"cannot write {path.name}: {exc}") from exc

    def _manifest(self) -> dict:
        try:
            return json.loads((self.folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return {}

    def problems(self, store: StoredVectors) -> list[str]:
        """How the index in memory and the saved one differ from the store."""
        ids, vectors = store.chunk_vectors()
        path = self.folder / FAISS_FILE
        on_disk = self._faiss.read_index(str(path)) if path.exists() else None
        out = []
        for name, index in (("memory", self.index), ("disk", on_disk)):
            if index is None:
                out.append(f"{name}: no FAISS index")
                continue
            out.extend(f"{name}: {p}" for p in _compare(index, ids, vectors, self._faiss))
        generation = store.generation()
        if self._manifest().get("generation") != generation:
            out.append(f"manifest generation {self._manifest().get('generation')} is not "
                       f"SQLite's {generation}")
        return out


def ivf_index(vecs: np.ndarray, dimension: int, nprobe: int = IVF_NPROBE) -> Any:
    """An empty IVF index (4·sqrt(n) lists, at most n/39) trained on a sample of ``vecs``."""
    import faiss

    n = len(vecs)
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist,
                               faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, min(n, 64 * nlist), replace=False)
    index.train(np.ascontiguousarray(vecs[np.sort(sample)]))
    index.nprobe = nprobe
    return index


def _faiss_ids(index: Any) -> np.ndarray | None:
    """The chunk ids held by a flat (IDMap2) or IVF index; None for any other kind."""
    import faiss

    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map)
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return None
    lists = ivf.invlists
    parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
             for i in range(lists.nlist) if lists.list_size(i)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _compare(index: Any, stored: np.ndarray, stored_vecs: np.ndarray, faiss: Any) -> list[str]:
    """How a FAISS index differs from the store's chunk ids and vectors (in id order)."""
    ids = _faiss_ids(index)
    if ids is None or not np.array_equal(np.sort(ids), stored):
        return [f"chunk ids differ from SQLite ({0 if ids is None else len(ids)} vs "
                f"{len(stored)})"]
    if not hasattr(index, "id_map"):
        return []  # IVF: ids checked; its vectors are not reconstructable by id
    if not len(stored):
        return []
    where = {int(cid): pos for pos, cid in enumerate(faiss.vector_to_array(index.id_map))}
    held = index.index.reconstruct_n(0, index.ntotal)[[where[int(cid)] for cid in stored]]
    off = np.abs(held - stored_vecs).max(axis=1) > 1e-5
    wrong = [int(cid) for cid, bad in zip(stored, off, strict=True) if bad]
    return [f"chunk {cid}: FAISS holds another vector than SQLite" for cid in wrong[:5]] + (
        [f"... {len(wrong) - 5} more"] if len(wrong) > 5 else [])


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("news-rag", "faiss-cpu", "sentence-transformers"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out
