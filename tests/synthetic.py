"""Synthetic articles, chunks and unit vectors for index tests, exact search in numpy, and
look-alike stories that only their dates tell apart (date and recency tests)."""

from __future__ import annotations

import numpy as np

from rag.articles import Article
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


# A made-up story over three weeks for timelines (docs/timelines.md): the tunnel closes (two
# outlets and a wire copy report it, stating "on Monday"), repairs begin (Sept. 8), divers find
# a cracked seal (Tuesday), it reopens (Tuesday); a bank story of the same weeks and an undated
# history of the tunnel beside it. Asked as of 2022-09-30.
TUNNEL_AS_OF = "2022-09-30"
_CLOSED = ("The Norrvik harbour tunnel was closed on Monday after engineers found water leaking "
           "through its roof. Traffic was sent over the old bridge, and queues stretched into "
           "the town centre for most of the day. The tunnel operator said divers would inspect "
           "the seabed above the tunnel, and commuters were told to expect delays of up to an "
           "hour until further notice.")
TUNNEL_STORY = [
    Article(id="closed", title="Harbour tunnel closed after roof leak", text=_CLOSED,
            source="norrvik-herald.example", published_at="2022-09-01"),
    Article(id="closed-copy", title="Harbour tunnel closed after roof leak", text=_CLOSED,
            source="coast-news.example", published_at="2022-09-01"),
    Article(id="leak", title="Leak shuts Norrvik tunnel", source="baltic-daily.example",
            published_at="2022-08-30",
            text="Water poured through the roof of the Norrvik harbour tunnel on Monday, and the "
                 "operator shut the tunnel to all traffic. Police directed drivers to the old "
                 "bridge. Engineers said the leak came from a joint between two roof sections."),
    Article(id="repairs", title="Repairs begin on harbour tunnel roof",
            source="norrvik-herald.example", published_at="2022-09-09",
            text="Repairs to the roof of the Norrvik harbour tunnel began on Sept. 8, when "
                 "workers fixed steel plates over the leaking joints. The operator expects the "
                 "work to take about ten days, weather permitting."),
    Article(id="seal", title="Divers find cracked seal above tunnel",
            source="coast-news.example", published_at="2022-09-14",
            text="Divers inspecting the Norrvik harbour tunnel found a cracked rubber seal on "
                 "Tuesday, the operator said. The seal will be replaced before the tunnel opens "
                 "again."),
    Article(id="reopens", title="Harbour tunnel reopens", source="baltic-daily.example",
            published_at="2022-09-21",
            text="The Norrvik harbour tunnel reopened to traffic on Tuesday, three weeks after a "
                 "roof leak closed it. The first cars drove through at six in the morning, and "
                 "the old bridge was quiet again by noon."),
    Article(id="rates", title="Central bank raises rates", source="norrvik-herald.example",
            published_at="2022-09-05",
            text="The central bank raised its key interest rate by half a point on Monday, its "
                 "third rise this year. Mortgage lenders said monthly payments would rise."),
    Article(id="history", title="A short history of the harbour tunnel",
            text="The Norrvik harbour tunnel opened in 1987 and carries twenty thousand cars a "
                 "day. Its roof lies twelve metres under the harbour floor."),
]
# The days the story's events happened: closed (stated Monday), repairs (stated Sept. 8), the
# seal (stated Tuesday), reopened (stated Tuesday).
TUNNEL_DAYS = ["2022-08-29", "2022-09-08", "2022-09-13", "2022-09-20"]
