"""The trained short-answer reader: which span of a window answers the question, and how sure.

A MiniLM with a span head, trained here on questions generated from older news
(training/reader/, docs/reader.md), shipped as int8 ONNX in rag/answering/reader_model/ and run
with onnxruntime. Like SQuAD 2.0 readers it can point at [CLS]: "this window does not say".
Two models trained on different mixes read every window and their start and end logits are
averaged (a product of the two distributions: a span is likely only if both find it likely),
which was right more often and wrong less often than either alone (docs/reader.md).
The files are checked against the sha256 values pinned below before they are loaded.

>>> reader = SpanReader()
>>> found = reader.read("Which team did Iran beat?", ["Iran defeated Indonesia 3-0 on Tuesday."])
>>> found[0].text, found[0].probability > 0.5
('Indonesia', True)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answering.gguf import file_sha256
from rag.errors import RagError

FOLDER = Path(__file__).resolve().parent / "reader_model"
TOKENIZER_FILE = "tokenizer.json"
# Written by `python -m training.reader.export [--name reader-v5]`; a file that does not match
# is refused. Both models share the tokenizer of their base (all-MiniLM-L6-v2).
MODELS: tuple[tuple[str, str], ...] = (
    ("reader.int8.onnx", "a35b081be554ca5f47fabf8d20443d439f739c99b15f1d5a21e2a84beecafcc7"),
    ("reader-v5.int8.onnx", "276e397f406d7b6853c1fd4b51d96f4ec897d46122e187c4f2eab276bae0accb"),
)
MODEL_FILE = MODELS[0][0]
TOKENIZER_SHA256 = "1aee5500eaeaa0765c4615f30e1d36e1087feda4c509ce53fa57df437d3a38b0"
MAX_LENGTH = 192
MAX_ANSWER_TOKENS = 16
BATCH = 16
# Spans kept per window by ``read_ranked``: enough to reach the best one of the asked type.
RANKED_SPANS = 20


class ReaderModelError(RagError):
    """The reader's files are missing or are not the ones this release was built with."""


@dataclass(frozen=True)
class ReadSpan:
    """The best span of one window: ``window[start:end]``, with the model's probability that it
    is the answer (start and end both right) and that the window does not say."""

    text: str
    start: int
    end: int
    probability: float
    no_answer: float

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span offsets {self.start}:{self.end}")


def checked(folder: Path = FOLDER) -> tuple[list[Path], Path]:
    """The models' and the tokenizer's paths in ``folder`` once their sha256 match the pinned
    ones."""
    pairs = [*((folder / name, sha) for name, sha in MODELS),
             (folder / TOKENIZER_FILE, TOKENIZER_SHA256)]
    for path, want in pairs:
        if not path.is_file():
            raise ReaderModelError(f"the short-answer reader's {path.name} is missing from "
                                   f"{folder}: reinstall the package (pip install -e .)")
        got = file_sha256(path)
        if got != want:
            raise ReaderModelError(f"{path} has sha256 {got[:12]}..., not the pinned "
                                   f"{want[:12]}...: refusing to load it")
    return [path for path, _ in pairs[:-1]], pairs[-1][0]


class SpanReader:
    """Reads windows of text for the span that answers a question (int8 ONNX, CPU).

    ``threads``: onnxruntime's intra-op threads (0: the cores this process may run on).
    """

    def __init__(self, folder: Path = FOLDER, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from embeddings.onnx_int8 import available_cores

        models, tokenizer = checked(folder)
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(max_length=MAX_LENGTH, strategy="only_second")
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads if threads > 0 else available_cores()
        options.inter_op_num_threads = 1
        self.sessions = [ort.InferenceSession(str(model), options,
                                              providers=["CPUExecutionProvider"])
                         for model in models]
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def read(self, question: str, windows: list[str],
             focus: list[tuple[int, int]] | None = None) -> list[ReadSpan | None]:
        """The best span of each window (None: the window has no span within reach); with
        ``focus``, the best span inside each window's ``focus[i]`` character range (the model
        still reads the whole window)."""
        return [spans[0] if spans else None
                for spans in self.read_ranked(question, windows, focus, most=1)]

    def read_ranked(self, question: str, windows: list[str],
                    focus: list[tuple[int, int]] | None = None,
                    most: int = RANKED_SPANS) -> list[list[ReadSpan]]:
        """Up to ``most`` spans of each window, most probable first (``read``'s best span and
        the runners-up, for a caller that wants the best span of a given kind)."""
        if focus is not None and len(focus) != len(windows):
            raise ValueError(f"{len(focus)} focus ranges for {len(windows)} windows")
        out: list[list[ReadSpan]] = []
        for k in range(0, len(windows), BATCH):
            part = focus[k:k + BATCH] if focus is not None else None
            out.extend(self._read_batch(question, windows[k:k + BATCH], part, most))
        return out

    def span_probability(self, question: str, window: str, start: int, end: int) -> float:
        """The model's probability that ``window[start:end]`` (character offsets) is the answer:
        how a short answer found by someone else (an LLM) is checked."""
        with self._lock:
            enc = self.tokenizer.encode(question, window)
        feeds = {"input_ids": np.array([enc.ids], dtype=np.int64),
                 "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
                 "token_type_ids": np.array([enc.type_ids], dtype=np.int64)}
        starts, ends = self._logits(feeds)
        mask = np.array(enc.attention_mask, dtype=bool)
        p_start, p_end = _softmax(starts[0], mask), _softmax(ends[0], mask)
        inside = [i for i, (seq, (s, e)) in enumerate(zip(enc.sequence_ids, enc.offsets,
                                                          strict=True))
                  if seq == 1 and e > start and s < end]
        if not inside:
            return 0.0
        return float(p_start[inside[0]] * p_end[inside[-1]])

    def _logits(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits, averaged over the models."""
        runs = [session.run(["start_logits", "end_logits"], feeds) for session in self.sessions]
        return (np.mean([r[0] for r in runs], axis=0), np.mean([r[1] for r in runs], axis=0))

    def _read_batch(self, question: str, windows: list[str],
                    focus: list[tuple[int, int]] | None, most: int) -> list[list[ReadSpan]]:
        if not windows:
            return []
        with self._lock:
            encs = self.tokenizer.encode_batch([(question, w) for w in windows])
        feeds = {
            "input_ids": np.array([e.ids for e in encs], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64),
        }
        starts, ends = self._logits(feeds)
        ranges = focus or [(0, len(w)) for w in windows]
        return [_ranked_spans(w, e, s, t, r, most)
                for w, e, s, t, r in zip(windows, encs, starts, ends, ranges, strict=True)]


def _softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    z = np.where(mask, logits, -np.inf)
    z = np.exp(z - z.max())
    return z / z.sum()


def _ranked_spans(window: str, enc, start_logits: np.ndarray,  # type: ignore[no-untyped-def]
                  end_logits: np.ndarray, focus: tuple[int, int], most: int) -> list[ReadSpan]:
    mask = np.array(enc.attention_mask, dtype=bool)
    p_start, p_end = _softmax(start_logits, mask), _softmax(end_logits, mask)
    lo, hi = focus
    context = np.array([seq == 1 and lo <= s and e <= hi
                        for seq, (s, e) in zip(enc.sequence_ids, enc.offsets, strict=True)],
                       dtype=bool)
    idx = np.flatnonzero(context)
    if idx.size == 0:
        return []
    pair = np.outer(p_start[idx], p_end[idx])
    band = np.triu(np.ones_like(pair, dtype=bool)) & ~np.triu(
        np.ones_like(pair, dtype=bool), MAX_ANSWER_TOKENS)
    pair = np.where(band, pair, -1.0)
    flat = pair.ravel()
    order = np.argsort(-flat, kind="stable")[:most]
    no_answer = float(p_start[0] * p_end[0])
    out: list[ReadSpan] = []
    for k in order:
        if flat[k] < 0:
            break
        i, j = divmod(int(k), pair.shape[1])
        start, end = enc.offsets[idx[i]][0], enc.offsets[idx[j]][1]
        if end > start:
            out.append(ReadSpan(window[start:end], start, end, float(flat[k]), no_answer))
    return out
