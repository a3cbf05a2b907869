"""Sentence-aware chunks sized in the embedding model's tokens, with article char offsets.

>>> from rag.articles import Article
>>> art = Article(title="T", text="One sentence. Another one. A third.")
>>> chunks = chunk_article(art, count_tokens=lambda ts: [len(t.split()) for t in ts],
...                        max_tokens=7, overlap_sentences=0)
>>> [art.text[c.start:c.end] for c in chunks]
['One sentence. Another one.', 'A third.']
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from rag.articles import Article
from rag.sentences import sentence_spans

TokenCounter = Callable[[list[str]], list[int]]


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: ``text == article.text[start:end]``."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad chunk span {self.start}:{self.end}")
        if len(self.text) != self.end - self.start:
            raise ValueError("chunk text does not match its span")

    @property
    def embed_text(self) -> str:
        """What is embedded: the title gives every passage its story's context."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    @property
    def key(self) -> str:
        """Identifies the embedded content; equal keys never need embedding twice."""
        return hashlib.sha1(self.embed_text.encode()).hexdigest()


def chunk_article(article: Article, count_tokens: TokenCounter, max_tokens: int,
                  overlap_sentences: int = 1) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` (title included).

    A sentence longer than the budget is cut at word boundaries. Consecutive chunks share
    ``overlap_sentences`` sentences when that leaves room for new text.
    """
    title_tokens = count_tokens([article.title])[0] + 2 if article.title else 0
    budget = max(max_tokens // 2, max_tokens - title_tokens)
    spans = sentence_spans(article.text) or [(0, len(article.text))]
    pieces: list[tuple[int, int, int]] = []  # start, end, tokens
    counts = count_tokens([article.text[s:e] for s, e in spans])
    for (start, end), n in zip(spans, counts, strict=True):
        if n <= budget:
            pieces.append((start, end, n))
        else:
            pieces.extend(_split_long(article.text, start, end, budget, count_tokens))

    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j, used = i, 0
        while j < len(pieces) and (j == i or used + pieces[j][2] <= budget):
            used += pieces[j][2]
            j += 1
        start, end = pieces[i][0], pieces[j - 1][1]
        chunks.append(Chunk(article.id, len(chunks), start, end, article.text[start:end],
                            article.title))
        if j >= len(pieces):
            break
        back = min(overlap_sentences, j - i - 1)
        overlap_tokens = sum(p[2] for p in pieces[j - back:j])
        i = j - back if back > 0 and overlap_tokens <= budget // 2 else j
    return chunks


def _split_long(text: str, start: int, end: int, budget: int,
                count_tokens: TokenCounter) -> list[tuple[int, int, int]]:
    """Cut an over-long sentence into word-boundary windows of at most ``budget`` tokens."""
    words: list[tuple[int, int]] = []
    pos = start
    for word in text[start:end].split():
        s = text.index(word, pos)
        words.append((s, s + len(word)))
        pos = s + len(word)
    counts = count_tokens([text[s:e] for s, e in words])
    out: list[tuple[int, int, int]] = []
    i = 0
    while i < len(words):
        j, used = i, 0
        while j < len(words) and (j == i or used + counts[j] <= budget):
            used += counts[j]
            j += 1
        out.append((words[i][0], words[j - 1][1], used))
        i = j
    return out
