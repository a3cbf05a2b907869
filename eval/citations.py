"""Calibrate ``citation_threshold`` on RealTime QA: supported vs mismatched (claim, passage) pairs.

    python -m eval calibrate-citations --data ../shared/eval/realtimeqa

For each dev question with a gold article, the claim is the question followed by its gold answer.
Supported pair: the claim against the gold article's chunk that contains the answer. Mismatched
pairs: the claim against (a) a chunk of another question's gold article and (b) a chunk of the
same article that does not contain the answer (a related passage: the usual wrong citation).
Prints the support distributions and the threshold with the best balanced accuracy.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from embeddings import get_embedder
from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.verify import CitationVerifier
from rag.articles import article_from_record
from rag.chunking import chunk_article
from rag.config import Config
from rag.index.base import Hit


def load_pairs(folder: Path, config: Config, embedder) -> tuple[list[str], list[Hit], list[tuple[
        int, int, int, int]]]:
    """Claims, passages (as Hits) and per claim: (supported, other article, same article, -)."""
    questions = [json.loads(line) for line in (folder / "questions.dev.jsonl").open()]
    questions = [q for q in questions if q.get("gold_doc_ids")]
    wanted = {q["gold_doc_ids"][0] for q in questions}
    docs = {}
    with (folder / "corpus.jsonl").open() as f:
        for line in f:
            record = json.loads(line)
            if record["doc_id"] in wanted:
                docs[record["doc_id"]] = article_from_record(record)
    rng = random.Random(0)
    claims: list[str] = []
    hits: list[Hit] = []
    rows: list[tuple[int, int, int, int]] = []
    chunked = {}
    for q in questions:
        doc = docs.get(q["gold_doc_ids"][0])
        if doc is None:
            continue
        chunks = chunked.setdefault(doc.id, chunk_article(doc, embedder.count_tokens,
                                                           config.chunk_tokens))
        answer = q["answers"][0].lower()
        gold = [c for c in chunks if answer in c.text.lower()]
        rest = [c for c in chunks if answer not in c.text.lower()]
        others = [d for d in docs.values() if d.id != doc.id]
        if not gold or not rest or not others:
            continue
        other = rng.choice(others)
        other_chunks = chunked.setdefault(other.id, chunk_article(other, embedder.count_tokens,
                                                                   config.chunk_tokens))
        picks = [(gold[0], doc), (rng.choice(other_chunks), other), (rng.choice(rest), doc)]
        base = len(hits)
        hits += [Hit(chunk=c, article=a, score=0.0) for c, a in picks]
        claims.append(f"{q['question'].strip().rstrip('?:')} {q['answers'][0]}.")
        rows.append((base, base + 1, base + 2, 0))
    return claims, hits, rows


def calibrate_citations(folder: Path) -> None:
    """Print, per similarity weight, the support distributions and the best threshold."""
    config = Config()
    embedder = get_embedder(config.embedding_model)
    claims, hits, rows = load_pairs(folder, config, embedder)
    scored = ExtractiveAnswerer(embedder, config).score_sentences("calibration", hits)
    sentences = CitationVerifier(embedder, config).passage_sentences(hits, scored)
    # Each claim against its own three passages, as the verifier sees a handful of hits.
    for weight in (0.7, 0.5, 0.3):
        verifier = CitationVerifier(embedder, config, dense_weight=weight)
        supports = [verifier.support([claim], [sentences[i] for i in r[:3]])[0]
                    for claim, r in zip(claims, rows, strict=True)]
        pos, other, same = (np.array([s[k][0] for s in supports]) for k in (1, 2, 3))
        neg = np.concatenate([other, same])
        best = max(np.arange(0.2, 0.9, 0.01),
                   key=lambda t, pos=pos, neg=neg: ((pos >= t).mean() + (neg < t).mean()) / 2)
        print(f"== dense weight {weight}: {len(claims)} claims")
        for name, arr in (("supported", pos), ("other article", other), ("same article", same)):
            print(f"{name:14s} mean {arr.mean():.3f}  quartiles {np.percentile(arr, [25, 50, 75])}")
        for t in sorted({round(float(best), 2), config.citation_threshold}):
            print(f"threshold {t:.2f}: supported kept {(pos >= t).mean():.1%}, other-article "
                  f"rejected {(other < t).mean():.1%}, same-article rejected "
                  f"{(same < t).mean():.1%}")
