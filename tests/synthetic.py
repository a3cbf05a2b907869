"""Synthetic articles, chunks and unit vectors for index tests, exact search in numpy, and
look-alike stories that only their dates tell apart (date and recency tests), and a dated story
for timelines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.articles import Article, load_paths
from rag.chunking import Chunk
from rag.index.base import ArticleWrite

DIM = 16


def unit_vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_write(i: int, n_chunks: int = 3, seed: int | None = None, title: str | None = None,
               **meta) -> ArticleWrite:
    """Article ``i`` whose text is ``n_chunks`` sentences, one chunk each, random vectors."""
    sentences = [f"Sentence {j} of story {i} ({seed})." for j in range(n_chunks)]
    text = " ".join(sentences)
    article = Article(title=title or f"Story {i}", text=text, id=f"art{i}", **meta)
    chunks, start = [], 0
    for j, s in enumerate(sentences):
        chunks.append(Chunk(article.id, j, start, start + len(s), s, article.title))
        start += len(s) + 1
    return ArticleWrite(article, chunks, unit_vectors(n_chunks, seed if seed is not None else i))


def exact_top(corpus: list[ArticleWrite], query: np.ndarray, k: int,
              keep=lambda a: True) -> list[tuple[str, int]]:
    """(article id, chunk ordinal) of the ``k`` best chunks by inner product, in numpy."""
    rows = [(float(v @ query), w.article.id, c.ordinal)
            for w in corpus if keep(w.article) for c, v in zip(w.chunks, w.vectors, strict=True)]
    return [(aid, o) for _, aid, o in sorted(rows, key=lambda r: -r[0])[:k]]


def found(hits) -> list[tuple[str, int]]:
    return [(h.article.id, h.chunk.ordinal) for h in hits]


def ingest_budget_stories(system, first: tuple[str, str], second: tuple[str, str]) -> None:
    """Two near-identical council stories (title, date): only their dates tell them apart."""
    text = ("The city council approved the new budget for parks and libraries on a split vote, "
            "the mayor said.")
    system.ingest([Article(title=first[0], text=text, published_at=first[1]),
                   Article(title=second[0], text=text + " Protesters gathered.",
                           published_at=second[1])])


# A made-up story over three weeks for timelines (data/timeline/tunnel.jsonl, docs/timelines.md):
# the Norrvik harbour tunnel closes (two outlets and a wire copy report it, stating "on Monday"),
# repairs begin (Sept. 8), divers find a cracked seal (Tuesday), it reopens (Tuesday); a bank story
# of the same weeks and an undated history of the tunnel beside it. Asked as of 2022-09-30.
TUNNEL_FILE = Path(__file__).resolve().parent.parent / "data" / "timeline" / "tunnel.jsonl"
TUNNEL_STORY = load_paths([TUNNEL_FILE]).articles
TUNNEL_AS_OF = "2022-09-30"
# The days the story's events happened: closed (stated Monday), repairs (stated Sept. 8), the
# seal (stated Tuesday), reopened (stated Tuesday).
TUNNEL_DAYS = ["2022-08-29", "2022-09-08", "2022-09-13", "2022-09-20"]
