"""Asking several collections as one: how the merged ranking compares with one index holding
everything (docs/collections.md, "Merging collections").

RealTime QA's corpus (the cached eval index ``python -m eval run`` builds) is split into two
collections by copying its stored vectors (nothing embedded again): at random in halves, 90/10,
and by date (before / from 2022-09-01). Each dev question is asked, as of its date, of the
whole index and of the two collections merged, by two rules:

- ``score``: dense hits of the collections merged by score (one model: cosines compare), BM25
  hits merged by score, then fused by reciprocal rank as within one index (what
  ``rag.retrieval.merged`` does);
- ``rrf``: each collection's fused ranking, then the collections' rankings fused by reciprocal
  rank (the rank-only alternative: a collection's best always ranks near the top).

Prints MRR@10 and hit@10 of the gold articles (the dev questions that have them), answer
recall@10 (a top-10 passage holds the answer) and overlap@10 with the whole index::

    python bench/collections.py --json bench/results/collections.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.cache import cached_index_dir
from eval.data import load_questions
from eval.metrics import contains_answer, dedupe, hit_at_k, mean, reciprocal_rank
from rag.config import Config
from rag.errors import RagError
from rag.index.base import ArticleWrite, Hit, SearchFilters
from rag.retrieval.fusion import reciprocal_rank_fusion
from rag.retrieval.merged import MergedRetriever
from rag.system import RagSystem

SHARED = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa"
K = 10


class RankFusedRetriever(MergedRetriever):
    """The rank-only rule: each collection's own fused candidates, fused again across them."""

    def candidates(self, query: str, filters: SearchFilters | None,
                   depth: int | None = None) -> list[Hit]:
        return reciprocal_rank_fusion([(part.candidates(query, filters, depth), 1.0)
                                       for part in self.parts], k=self.config.rrf_k)


def splits(articles: list) -> dict[str, Callable[[object], bool]]:
    """Which articles go to the second collection, by split."""
    def share(a) -> float:
        return int(hashlib.sha1(a.id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    return {"halves": lambda a: share(a) < 0.5,
            "90/10": lambda a: share(a) < 0.1,
            "by date": lambda a: (a.published_at or "") >= "2022-09-01"}


def copy_into(source: RagSystem, target: RagSystem, articles: list) -> None:
    """``articles`` of ``source`` written into ``target`` with their stored vectors."""
    writes = []
    for article in articles:
        chunks = source.index.chunks_of(article.id)
        vectors = source.index.cached_vectors([c.key for c in chunks])
        matrix = (np.vstack([vectors[c.key] for c in chunks]) if chunks
                  else np.zeros((0, source.index.dimension), dtype=np.float32))
        writes.append(ArticleWrite(article, chunks, matrix))
    for start in range(0, len(writes), 500):
        target.index.write(writes[start:start + 500])
    target.retriever.refresh()


def scores(retrieve: Callable[[str, str | None], list[Hit]], questions: list,
           whole: dict[str, list[str]] | None = None) -> dict[str, float]:
    rr, hits, recall, overlap = [], [], [], []
    for q in questions:
        found = retrieve(q.question, q.meta.get("question_date", "").replace("/", "-") or None)
        ranked = dedupe(h.article.id for h in found)
        if q.gold_doc_ids:
            gold = set(q.gold_doc_ids)
            rr.append(reciprocal_rank(ranked, gold, K))
            hits.append(hit_at_k(ranked, gold, K))
        if q.answerable:
            recall.append(any(contains_answer(h.chunk.text, q.answers, q.match)
                              for h in found[:K]))
        if whole is not None:
            mine = {(h.article.id, h.chunk.ordinal) for h in found[:K]}
            theirs = set(whole[q.id])
            overlap.append(len(mine & theirs) / max(1, len(theirs)))
    out = {"mrr@10": mean(rr), "hit@10": mean(hits), "answer_recall@10": mean(recall)}
    if overlap:
        out["overlap@10_with_whole"] = mean(overlap)
    return {k: round(v, 4) for k, v in out.items() if v is not None}


def rank_fused_asked(retriever: RankFusedRetriever) -> Callable[[str, str | None], list[Hit]]:
    return lambda question, day: retriever.retrieve(question, K, None, day)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=SHARED / "questions.dev.jsonl")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    config = Config.from_env()
    try:
        path = cached_index_dir(args.corpus, config)
    except RagError as error:
        parser.error(str(error))
    whole = RagSystem(config.replace(index_dir=path), create=False, read_only=True)
    questions = load_questions(args.questions)
    articles = [a for a, _ in whole.index.list_articles()]

    def asked(system: RagSystem) -> Callable[[str, str | None], list[Hit]]:
        return lambda question, day: system.retriever.retrieve(question, K, None, day)

    whole_top = {q.id: [(h.article.id, h.chunk.ordinal) for h in asked(whole)(
        q.question, q.meta.get("question_date", "").replace("/", "-") or None)]
        for q in questions}
    result: dict[str, object] = {"questions": len(questions),
                                 "with_gold": sum(bool(q.gold_doc_ids) for q in questions),
                                 "articles": len(articles),
                                 "whole": scores(asked(whole), questions)}
    for name, second in splits(articles).items():
        with tempfile.TemporaryDirectory(prefix="bench-collections-") as tmp:
            root = RagSystem(config.replace(index_dir=Path(tmp) / "index"),
                             embedder=whole.embedder)
            other = root.create_collection("b")
            started = time.perf_counter()
            copy_into(whole, root, [a for a in articles if not second(a)])
            copy_into(whole, other, [a for a in articles if second(a)])
            both = root.over(["default", "b"])
            rank_fused = RankFusedRetriever(both.retriever.parts)
            result[name] = {
                "sizes": [root.stats().articles, other.stats().articles],
                "copy_s": round(time.perf_counter() - started, 1),
                "score": scores(asked(both), questions, whole_top),
                "rrf": scores(rank_fused_asked(rank_fused), questions, whole_top)}
            print(name, json.dumps(result[name]), flush=True)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
