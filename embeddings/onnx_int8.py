"""The packaged sentence-transformers model as int8 ONNX: exported and quantized once, cached.

On first use the model folder (the same one the torch backend loads) is exported with
``torch.onnx`` into one graph that does what the torch model does after tokenizing: the
transformer, the pooling its ``modules.json`` names (mean or CLS) and L2 normalization. The
graph's MatMul weights are then quantized to int8, per output channel (dynamic quantization:
activations are quantized on the fly). Per channel keeps cosine >= 0.98 with the torch vectors
on short and long texts; per tensor dropped to 0.91 (docs/embedding-backends.md).

Passages and sentences, the many texts, are embedded in int8. A question, one short text, is
embedded by the fp32 graph kept beside it (the same vector as torch's within 1e-5, a few ms):
with only one side quantized, int8 keeps more of torch's ranking (docs/embedding-backends.md,
"Questions in fp32").

The result lives in ``$NEWS_RAG_MODEL_CACHE`` (else ~/.cache/news-rag/models) under
``onnx/<model>-<digest>/``, the digest naming the source folder, its weights and the recipe.
Beside them, ``model.int8.json`` records each file's size, sha256 and mtime; a file that does
not match is exported again. The export writes to a unique temporary name and renames it into place,
under a cross-process lock, so two processes starting at once export once and neither sees half
a file.

Tokenization is the model's own tokenizer with the torch backend's settings (texts stripped,
truncated to ``max_seq_length``, padded per batch), so both see the same tokens.

>>> from embeddings import get_embedder
>>> e = get_embedder("all-MiniLM-L6-v2", "onnx-int8")
>>> e.name, e.dimension, e.embed(["Iran and Russia discussed aviation."]).shape
('all-MiniLM-L6-v2+onnx-int8', 384, (1, 384))
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embeddings.sentence_transformers import quiet_loading, resolve_model_path, stay_offline
from embeddings.shared import LocalEmbedderBase

if TYPE_CHECKING:
    import onnxruntime as ort

BACKEND = "onnx-int8"
# Bump when the export or quantization changes: older cached files are then not reused.
RECIPE = "torchscript-opset17+mean|cls+l2/matmul-qint8-per-channel/v1+fp32-queries"
CACHE_ENV = "NEWS_RAG_MODEL_CACHE"
MODEL_FILE = "model.int8.onnx"
QUERY_FILE = "model.fp32.onnx"
META_FILE = "model.int8.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_root() -> Path:
    """``$NEWS_RAG_MODEL_CACHE`` or ~/.cache/news-rag/models (shared with the GGUF cache)."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/news-rag/models").expanduser()


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelSpec:
    """What the export needs to know of a local sentence-transformers folder: its pooling,
    whether it normalizes, its sequence limit, and a digest naming this exact source.

    >>> spec = ModelSpec("all-MiniLM-L6-v2")
    >>> spec.pooling, spec.max_seq_length
    ('mean', 256)
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.folder = Path(resolve_model_path(name))
        modules_file = self.folder / "modules.json"
        if not modules_file.is_file():
            raise ValueError(f"embedding model {name!r}: {self.folder} has no modules.json, so "
                             "the onnx-int8 backend cannot tell its pooling; use backend torch")
        modules = json.loads(modules_file.read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            raise ValueError(f"embedding model {name!r} has modules {kinds}; the onnx-int8 "
                             "backend exports Transformer + Pooling (+ Normalize) only")
        pooling_config = json.loads(
            (self.folder / modules[1]["path"] / "config.json").read_text())
        modes = [k for k, v in pooling_config.items() if k.startswith("pooling_mode") and v]
        if modes == ["pooling_mode_mean_tokens"]:
            self.pooling = "mean"
        elif modes == ["pooling_mode_cls_token"]:
            self.pooling = "cls"
        else:
            raise ValueError(f"embedding model {name!r} pools by {modes}; the onnx-int8 "
                             "backend supports mean or CLS pooling only")
        st_config = self.folder / "sentence_bert_config.json"
        settings = json.loads(st_config.read_text()) if st_config.is_file() else {}
        self.max_seq_length = int(settings.get("max_seq_length") or 512)
        self.do_lower_case = bool(settings.get("do_lower_case", False))

    def digest(self) -> str:
        """Names this source (folder, weights' size and time) and the recipe."""
        h = hashlib.sha256(f"{RECIPE}\0{self.folder.resolve()}\0{self.pooling}".encode())
        for path in sorted(self.folder.iterdir()):
            if path.is_file() and path.suffix in (".safetensors", ".bin", ".json", ".txt"):
                st = path.stat()
                h.update(f"\0{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        return h.hexdigest()[:16]

    def export_dir(self, root: Path | None = None) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(self.name).name)
        return (root or cache_root()) / "onnx" / f"{safe}-{self.digest()}"


def cached_export_ok(folder: Path) -> bool:
    """True when ``folder`` holds an export whose files' sizes and sha256 match its record. As
    for the GGUF cache, a file whose size and mtime are those recorded when it was last hashed is
    not hashed again (0.1-0.4 s per start); any write to it changes its mtime."""
    meta = folder / META_FILE
    try:
        record = json.loads(meta.read_text())
        if record["recipe"] != RECIPE:
            return False
        files = {MODEL_FILE: record, QUERY_FILE: record["query_model"]}
        rehashed = False
        for name, entry in files.items():
            stat = (folder / name).stat()
            if stat.st_size != entry["size"]:
                return False
            if stat.st_mtime_ns == entry.get("mtime_ns"):
                continue
            if _sha256(folder / name) != entry["sha256"]:
                return False
            entry["mtime_ns"], rehashed = stat.st_mtime_ns, True
        if rehashed:
            _write_json(meta, record)
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_json(path: Path, data: dict) -> None:
    """Write ``path`` atomically (a unique temporary file renamed into place)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(data, indent=2))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def ensure_export(name: str, root: Path | None = None) -> Path:
    """The int8 ONNX file of model ``name`` (its fp32 graph for questions, ``QUERY_FILE``,
    beside it): the cached ones when they check out, else exported and quantized now (a few
    seconds), under a lock so that concurrent starts export once."""
    from filelock import FileLock

    spec = ModelSpec(name)
    folder = spec.export_dir(root)
    if cached_export_ok(folder):
        return folder / MODEL_FILE
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if cached_export_ok(folder):  # another process finished it while we waited
            return folder / MODEL_FILE
        # Once per machine (and model): a line, so a first start's pause is explained.
        print(f"Preparing the int8 embedding model {name} (once per machine, about 10 s)...",
              file=sys.stderr, flush=True)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as tmp, _quiet():
            fp32, int8 = Path(tmp) / "model.fp32.onnx", Path(tmp) / MODEL_FILE
            _export_fp32(spec, fp32)
            _quantize(fp32, int8)
            record = {"model": name, "source": str(spec.folder), "recipe": RECIPE,
                      "size": int8.stat().st_size, "sha256": _sha256(int8),
                      "query_model": {"size": fp32.stat().st_size, "sha256": _sha256(fp32)},
                      "pooling": spec.pooling, "max_seq_length": spec.max_seq_length,
                      "versions": _versions()}
            os.replace(int8, folder / MODEL_FILE)
            os.replace(fp32, folder / QUERY_FILE)
            record["mtime_ns"] = (folder / MODEL_FILE).stat().st_mtime_ns
            record["query_model"]["mtime_ns"] = (folder / QUERY_FILE).stat().st_mtime_ns
            _write_json(folder / META_FILE, record)
        print(f"Prepared it in {time.monotonic() - started:.1f} s: {folder / MODEL_FILE}",
              file=sys.stderr, flush=True)
    return folder / MODEL_FILE


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's tracing warnings and the quantizer's advice (both checked: the
    tests compare the exported vectors with torch's on short and long inputs)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def _export_fp32(spec: ModelSpec, out: Path) -> None:
    """Transformer + pooling + L2 normalization as one fp32 ONNX graph (TorchScript exporter;
    eager attention, whose traced graph holds for any padding)."""
    stay_offline()
    import torch
    from transformers import AutoModel, AutoTokenizer

    with quiet_loading():
        model = AutoModel.from_pretrained(str(spec.folder), attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(spec.folder))
    pooling = spec.pooling

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            tokens = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids)[0]
            if pooling == "cls":
                pooled = tokens[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    # A padded batch, so the traced graph keeps the attention mask's path.
    sample = tokenizer(["An example sentence.", "A longer example sentence, with more words."],
                       padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    with torch.no_grad():
        torch.onnx.export(Encoder().eval(), tuple(sample[n] for n in INPUTS), str(out),
                          input_names=list(INPUTS), output_names=["sentence_embedding"],
                          dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
                          opset_version=17, dynamo=False)


def _quantize(fp32: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


class OnnxInt8Embedder(LocalEmbedderBase):
    """The int8 ONNX export of a sentence-transformers model behind the
    :class:`embeddings.base.Embedder` interface. ``name`` is the model's identity in an index
    manifest: ``<model>+onnx-int8``, so an index of torch vectors refuses it and vice versa.

    ``embed`` runs the int8 graph; ``embed_query`` the fp32 one, loaded on the first question
    (questions are few and short; only one side of each comparison is then quantized).
    ``threads``: onnxruntime's intra-op threads (0: the cores this process may run on).
    Load it with ``get_embedder(name, "onnx-int8")`` (one per process, shared).
    """

    backend = BACKEND

    def __init__(self, model: str, *, threads: int = 0, cache_dir: Path | None = None) -> None:
        super().__init__()
        stay_offline()
        from transformers import AutoTokenizer

        self.model_name = model
        self.name = f"{model}+{BACKEND}"
        spec = ModelSpec(model)
        self.path = ensure_export(model, cache_dir)
        self.threads = threads if threads > 0 else available_cores()
        self.session = self._session(self.path)
        self._query_session: ort.InferenceSession | None = None
        self._query_lock = threading.Lock()
        self.tokenizer = AutoTokenizer.from_pretrained(str(spec.folder))
        self.max_tokens = spec.max_seq_length
        self.do_lower_case = spec.do_lower_case
        self.dimension = int(self.session.get_outputs()[0].shape[-1] or 0) or len(
            self._run(["dimension probe"])[0])

    def _session(self, path: Path) -> ort.InferenceSession:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def query_vector(self, text: str) -> np.ndarray:
        """One question through the fp32 graph (loaded on the first call, about 0.3 s)."""
        with self._query_lock:
            if self._query_session is None:
                self._query_session = self._session(self.path.parent / QUERY_FILE)
        return self._run([text], self._query_session)[0]

    def _run(self, texts: list[str], session: ort.InferenceSession | None = None) -> np.ndarray:
        # As sentence-transformers' Transformer.tokenize: stripped, truncated, padded per batch.
        texts = [t.strip().lower() if self.do_lower_case else t.strip() for t in texts]
        encoded = self.tokenizer(texts, padding=True, truncation="longest_first",
                                 max_length=self.max_tokens, return_tensors="np")
        ids = encoded["input_ids"].astype(np.int64)
        feed = {"input_ids": ids,
                "attention_mask": encoded["attention_mask"].astype(np.int64),
                "token_type_ids": (encoded["token_type_ids"].astype(np.int64)
                                   if "token_type_ids" in encoded else np.zeros_like(ids))}
        return (session or self.session).run(None, feed)[0]

    def embed(self, texts: list[str], *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Longest first, as sentence-transformers batches: less padding per batch.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        if show_progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches", unit="batch")
        for start in starts:
            idx = order[start:start + batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out
