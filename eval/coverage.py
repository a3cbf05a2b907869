"""``eval coverage``: where the gold answer is lost on its way from the corpus to the reader.

A reader can only answer from what it is shown. For every answerable question this asks, with
the harness's ``contains`` matching, whether the gold answer string is in:

- ``corpus``: some article of the corpus published by the question's date (all without a date);
- ``passages``: the ``reader_passages`` passages the readers read, as ask() retrieves them;
- ``articles@10/3/1``: the whole text of the first 10 / 3 / 1 articles those passages come from;
- ``sentences``: one of those passages' sentences the readers may quote (no caps);
- ``best@48/20/10``: the best 48 / 20 / 10 of those sentences by the extractive score;
- ``llm_pool``: the sentences the LLM reader (``SentenceReader``) would be shown.

Along the pipeline (corpus -> passages -> sentences -> best@48 -> best@20 -> best@10) each row
holds the next, so each drop is the share of answers lost at that stage; ``articles@k`` shows
what the passages leave out of their own articles, ``llm_pool`` what the LLM's budget keeps.
The answer string may also occur by chance (a common name or number), so ``corpus`` is an upper
bound of what retrieval could find, not a count of answerable questions.

>>> Coverage(n=4, found={"corpus": 3, "llm_pool": 1}).shares()
{'corpus': 0.75, 'llm_pool': 0.25}
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.cache import default_cache_dir, open_eval_index
from eval.data import Question, file_hash, load_corpus, load_questions
from eval.metrics import contains_answer, contains_normalized, normalize_answer
from rag.answering.base import reading_depth
from rag.articles import Article
from rag.config import Config

ARTICLE_DEPTHS = (10, 3, 1)
SENTENCE_DEPTHS = (48, 20, 10)
ROWS: dict[str, str] = {
    "corpus": "some article of the corpus (published by the question's date)",
    **{f"articles@{k}": "the whole text of the first "
       + ("article" if k == 1 else f"{k} articles") + " of the passages read"
       for k in ARTICLE_DEPTHS},
    "passages": "the passages the readers read (reader_passages)",
    "sentences": "one of those passages' sentences",
    **{f"best@{k}": f"the best {k} of those sentences by the reader's score"
       for k in SENTENCE_DEPTHS},
    "llm_pool": "the LLM reader's pool (llm_reader_sentences / llm_reader_tokens)",
}


@dataclass
class Coverage:
    """How many of ``n`` questions have their answer at each stage (keys of ``ROWS``)."""

    n: int = 0
    found: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, question_id: str, flags: dict[str, bool], pool_size: int) -> None:
        self.n += 1
        for key, hit in flags.items():
            self.found[key] = self.found.get(key, 0) + int(hit)
        self.rows.append({"id": question_id, **flags, "llm_pool_sentences": pool_size})

    def shares(self) -> dict[str, float]:
        return {k: round(v / self.n, 3) for k, v in self.found.items()} if self.n else {}

    @property
    def mean_pool_sentences(self) -> float:
        sizes = [r["llm_pool_sentences"] for r in self.rows]
        return round(sum(sizes) / len(sizes), 1) if sizes else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "coverage": self.shares(), "found": self.found,
                "llm_pool_mean_sentences": self.mean_pool_sentences, "questions": self.rows}

    def table(self) -> str:
        """The coverage as a Markdown table, stage by stage."""
        shares = self.shares()
        lines = [f"Answer coverage on {self.n} answerable questions", "",
                 "| the gold answer string is in... | key | share |", "|---|---|---:|"]
        lines += [f"| {ROWS[k]} | `{k}` | {shares[k]:.3f} |" for k in ROWS if k in shares]
        return "\n".join(lines)


class CorpusByDate:
    """The corpus's normalized article texts, to ask whether an answer occurs in any article
    published by a date. Texts are normalized once (as ``contains`` normalizes)."""

    # Joins the texts; no normalized answer holds it, so no match spans two articles.
    _SEP = " \x00 "

    def __init__(self, articles: Sequence[Article]) -> None:
        dated = sorted(articles, key=lambda a: (a.published_at or "")[:10])
        self.dates = [(a.published_at or "")[:10] for a in dated]  # undated ("") sort first
        self.texts = [normalize_answer(a.title + " " + a.text) for a in dated]

    def contains(self, answers: Sequence[str], match: str, date: str | None) -> bool:
        """Whether the articles published on or before ``date`` (all when None) hold the
        answer(s); undated articles always count."""
        last = bisect_right(self.dates, date.replace("/", "-")[:10]) if date else len(self.dates)
        return contains_normalized(f"{self._SEP}{self._SEP.join(self.texts[:last])}{self._SEP}",
                                   answers, match)


def coverage(corpus: str | Path, questions: str | Path, *, config: Config,
             cache_dir: str | Path | None = None, seed_index: str | Path | None = None,
             limit: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> Coverage:
    """Follow each answerable question's gold answer through retrieval and the readers."""
    from rag.answering.llm_reader import SentenceReader

    corpus = Path(corpus)
    index = open_eval_index(corpus, file_hash(corpus), config,
                            Path(cache_dir) if cache_dir else default_cache_dir(),
                            seed=Path(seed_index) if seed_index else None)
    system = index.system
    # pool() and the sentence scoring need no chat model.
    reader = SentenceReader(None, system.embedder, system.config)  # type: ignore[arg-type]
    by_date = CorpusByDate(load_corpus(corpus))
    qs = [q for q in load_questions(questions) if q.answerable]
    qs = qs[:limit] if limit else qs
    result = Coverage()
    for i, q in enumerate(qs):
        flags, pool_size = _follow(q, system, reader, by_date)
        result.add(q.id, flags, pool_size)
        if progress:
            progress(i + 1, len(qs))
    return result


def _follow(q: Question, system: Any, reader: Any,
            by_date: CorpusByDate) -> tuple[dict[str, bool], int]:
    date = q.meta.get("question_date") or None

    def has(texts: Sequence[str]) -> bool:
        return contains_answer(" \n ".join(texts), q.answers, q.match)

    hits = system.retriever.retrieve(q.question, reading_depth(reader, system.config.top_k),
                                     reference=date)
    flags = {"corpus": by_date.contains(q.answers, q.match, date)}
    articles = list({h.article.id: h.article for h in hits}.values())
    for k in ARTICLE_DEPTHS:
        flags[f"articles@{k}"] = has([a.text for a in articles[:k]])
    flags["passages"] = has([h.chunk.text for h in hits])
    scored = reader.extractive.score_sentences(q.question, hits)
    flags["sentences"] = has([s.text for s in scored])
    for k in SENTENCE_DEPTHS:
        flags[f"best@{k}"] = has([s.text for s in scored[:k]])
    pool = reader.pool(q.question, hits)
    flags["llm_pool"] = has([s.text for s in pool])
    return flags, len(pool)


def write(result: Coverage, out: str | Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)
