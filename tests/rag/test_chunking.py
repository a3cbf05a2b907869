"""Chunks: whole sentences, sized in the model's tokens, exact article offsets."""

from __future__ import annotations

from itertools import pairwise

import pytest

from rag.articles import Article, load_paths
from rag.chunking import Chunk, chunk_article
from rag.config import Config
from rag.ingest import chunk_for
from rag.sentences import sentence_spans
from rag.system import SAMPLE_CORPUS


def words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def make_article(n_sentences: int, words_each: int = 6, title: str = "Title") -> Article:
    sentences = [f"Sentence{i} " + " ".join(["word"] * (words_each - 2)) + " end."
                 for i in range(n_sentences)]
    return Article(title=title, text=" ".join(sentences))


def assert_exact(article: Article, chunks: list[Chunk]) -> None:
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text == article.text[c.start:c.end]
        assert c.article_id == article.id and c.title == article.title


def test_packs_whole_sentences_within_budget() -> None:
    article = make_article(10, words_each=6)
    chunks = chunk_article(article, words, max_tokens=20, overlap_sentences=0)
    assert_exact(article, chunks)
    budget = 20 - (words([article.title])[0] + 2)
    for c in chunks:
        assert words([c.text])[0] <= budget
        assert c.text.endswith(".")  # never cut inside a sentence
    # No overlap: the chunks tile the sentences in order.
    assert " ".join(c.text for c in chunks) == article.text


def test_overlap_repeats_one_sentence() -> None:
    article = make_article(10, words_each=5)
    chunks = chunk_article(article, words, max_tokens=25, overlap_sentences=1)
    assert_exact(article, chunks)
    sentences = [article.text[s:e] for s, e in sentence_spans(article.text)]
    for prev, nxt in pairwise(chunks):
        assert prev.start < nxt.start < prev.end  # overlapping
        shared = article.text[nxt.start:prev.end]
        assert shared in sentences  # exactly one whole sentence
    assert chunks[-1].end == len(article.text)


def test_overlong_sentence_is_cut_at_words() -> None:
    text = " ".join(f"word{i}" for i in range(100))
    article = Article(title="", text=text)
    chunks = chunk_article(article, words, max_tokens=30, overlap_sentences=1)
    assert_exact(article, chunks)
    assert all(words([c.text])[0] <= 30 for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_embed_text_has_title_and_key_depends_on_it() -> None:
    a = Chunk("id", 0, 0, 5, "Hello", "Title")
    assert a.embed_text == "Title\nHello"
    assert a.key == Chunk("other", 3, 10, 15, "Hello", "Title").key
    assert a.key != Chunk("id", 0, 0, 5, "Hello", "Other title").key
    with pytest.raises(ValueError, match="span"):
        Chunk("id", 0, 5, 5, "", "T")
    with pytest.raises(ValueError, match="does not match"):
        Chunk("id", 0, 0, 4, "Hello", "T")


@pytest.mark.slow
def test_real_tokenizer_chunks_fit_the_model(embedder) -> None:
    config = Config()
    articles = load_paths([SAMPLE_CORPUS]).articles
    long_one = Article(title="A very long unpunctuated story",
                       text=" ".join(["antidisestablishmentarianism"] * 400))
    for article in [*articles, long_one]:
        chunks = chunk_for(article, embedder, config)
        assert chunks, article.title
        assert_exact(article, chunks)
        limit = min(config.chunk_tokens, embedder.max_tokens - 2)
        for c in chunks:
            # Title and text together fit, so nothing the model sees is truncated.
            assert embedder.count_tokens([c.embed_text])[0] <= limit + 1, c.text[:60]
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        text = article.text
        assert {i for i, ch in enumerate(text) if not ch.isspace()} <= covered  # nothing lost
