"""The LLM reader: a short answer from the best few sentences, checked to be their own words.

The model sees ~350 tokens, not whole passages: the best sentences of the retrieved passages
(``ExtractiveAnswerer.score_sentences``), numbered [1]..[N] under their article's title and date.
It replies ``Answer: <few words> [n]``. The short answer must be a span of a sentence it cites
(case and spacing aside; when the words are in another shown sentence the citation moves there,
noted) and the cited sentence must support "question + short answer" (the citation verifier's
score); otherwise the extractive answer is shown, with ``fallback`` saying why. The answer text
is the cited sentence(s), quoted exactly, each followed by its [n].

>>> parse_reply("Answer: 16-13 [2].", 5)
Reply(short='16-13', cited=(2,), dropped=())
>>> find_span("16 - 13", "Iran won the final 16-13 on Sunday.")
>>> find_span("IRAN won", "Iran  won the final 16-13.")
(0, 9)
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from langchain_core.language_models import BaseChatModel

from embeddings.base import Embedder
from rag.answering.base import NO_ANSWER
from rag.answering.extractive import evidence_of
from rag.answering.llm import _ABSTAINS, LLMAnswerer
from rag.answering.prompt import NOT_ANSWERED, reader_messages
from rag.answering.trained_reader import TrainedShortReader
from rag.config import Config
from rag.index.base import Hit
from rag.scoring import ScoredSentence
from rag.text import content_terms
from rag.types import Reading

# "[3]", "[1, 3]", and what a small model makes of the template: "[<sentence 3>]".
_MARKER = re.compile(r"\[([^\[\]\d]{0,30}\d+(?:\s*[,;]\s*\d+)*[^\[\]\d]{0,3})\]")
# A bracket without a number is the template copied ("[sentence number]", "[n]"): no citation.
_TEMPLATE = re.compile(r"\[[^\[\]\d]{0,30}\]|<[^<>\d]{0,30}>")
_LABEL = re.compile(r"^\s*(?:\*\*)?\s*(?:short\s+)?answer\s*(?:\*\*)?\s*:\s*(?:\*\*)?",
                    re.IGNORECASE)
_EDGE = " \t\"'“”‘’`*.,;:!?()[]<>"
_DASHES = "-‐‑‒–—−"
_APOSTROPHES = "'’‘`"
_QUOTES = "\"“”"


@dataclass(frozen=True)
class Reply:
    """The model's short answer (markers and label removed), the sentence numbers it cites
    (1..N) and the out-of-range numbers it wrote."""

    short: str
    cited: tuple[int, ...]
    dropped: tuple[int, ...]


def parse_reply(text: str, n_sentences: int) -> Reply:
    """The first non-empty line of ``text`` as ``Answer: <short> [n]``; label optional.

    >>> parse_reply("Answer: Hossein Abdi [2]", 3)
    Reply(short='Hossein Abdi', cited=(2,), dropped=())
    >>> parse_reply("Answer: Apple [sentence number]", 3)
    Reply(short='Apple', cited=(), dropped=())
    >>> parse_reply("Answer: <shortest answer> [sentence number]", 3).short
    ''
    """
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    numbers = [int(x) for m in _MARKER.finditer(line) for x in re.findall(r"\d+", m.group(1))]
    short = _LABEL.sub("", _TEMPLATE.sub(" ", _MARKER.sub(" ", line)))
    short = " ".join(short.split()).strip(_EDGE)
    cited = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= n_sentences))
    dropped = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= n_sentences))
    return Reply(short, cited, dropped)


def find_span(short: str, sentence: str) -> tuple[int, int] | None:
    """Where ``short`` occurs in ``sentence`` as whole words, ignoring case, runs of spaces and
    the kind of dash, apostrophe or quote; None when it does not."""
    words = short.split()
    if not words:
        return None
    pattern = r"\s+".join(_token_pattern(w) for w in words)
    found = re.search(rf"(?<!\w){pattern}(?!\w)", sentence, re.IGNORECASE)
    return found.span() if found else None


def _token_pattern(word: str) -> str:
    out = []
    for ch in word:
        if ch in _DASHES:
            out.append(f"[{_DASHES}]")
        elif ch in _APOSTROPHES:
            out.append(f"[{_APOSTROPHES}]")
        elif ch in _QUOTES:
            out.append(f"[{_QUOTES}]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


LLM_PER_PASSAGE = 4


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate (~4 characters a token in English news)."""
    return len(text) // 4 + 1


class SentenceReader(LLMAnswerer):
    """Asks a chat model for the short answer from the best few sentences, then checks it.

    The pool: of each of the ``config.reader_passages`` retrieved passages, the
    ``LLM_PER_PASSAGE`` sentences sharing most question words, scored; the fast reader's
    candidates' evidence first, then the best scored, up to ``config.llm_reader_sentences``
    sentences and ``config.llm_reader_tokens`` tokens, shown grouped by article in reading
    order and numbered as shown.
    """

    def __init__(self, chat_model: BaseChatModel, embedder: Embedder, config: Config,
                 name: str = "llamacpp") -> None:
        super().__init__(chat_model, embedder, config, name=name)

    def depth(self, k: int) -> int:
        """Passages to retrieve when ``k`` are shown: the pool looks deeper than the answer."""
        return self.extractive.depth(k)

    def pool(self, question: str, hits: list[Hit]) -> list[ScoredSentence]:
        """The sentences shown to the model, in the order they are numbered."""
        # Fewer sentences per passage than the fast reader reads: with more, the 1.5B model
        # answered the water polo score from a football sentence of the same page.
        ranked = self.extractive.score_sentences(question, hits, per_passage=LLM_PER_PASSAGE)
        chosen: list[ScoredSentence] = []
        budget = self.config.llm_reader_tokens
        headers: set[str] = set()
        # The sentences of the fast reader's best candidates come first, then the best scored.
        lead = self.evidence(question, ranked)
        for s in [*lead, *(r for r in ranked if r not in lead)]:
            if len(chosen) >= self.config.llm_reader_sentences:
                break
            header = _header(s)
            cost = approx_tokens(s.text) + 2 + (0 if header in headers else approx_tokens(header))
            if chosen and cost > budget:
                continue
            chosen.append(s)
            headers.add(header)
            budget -= cost
        # Sentences of one article together, in the article's order; articles by best sentence.
        first = {}
        for rank, s in enumerate(chosen):
            first.setdefault(s.hit.article.id, rank)
        return sorted(chosen, key=lambda s: (first[s.hit.article.id], s.start))

    def evidence(self, question: str, scored: list[ScoredSentence],
                 shown: list[Hit] | None = None) -> list[ScoredSentence]:
        """The sentences holding the fast reader's best candidate answers (see
        ``extractive.evidence_of``); none without an NER model."""
        reader = self.extractive.reader
        if reader is None:
            return []
        kinded = self.extractive.of_the_asked_kind(question, scored)
        return evidence_of(reader.candidates(question, kinded),
                           self.config.max_answer_sentences, shown)

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Reading]:
        """The model's reply as it is written (``Answer: ... [n]``, n = shown sentence), then
        the checked Reading."""
        scored = self.extractive.score(question, hits)
        unasked = self.extractive.without_model(question, hits, scored, self.name)
        if unasked is not None:
            yield unasked
            return
        pool = self.pool(question, hits)
        started = time.perf_counter()
        pieces: list[str] = []
        try:
            for chunk in self.llm.stream(reader_messages(question, group_by_article(pool))):
                if chunk.text:
                    pieces.append(chunk.text)
                    yield chunk.text
                    if "\n" in "".join(pieces).strip():  # one line is the whole reply
                        break
        except Exception as exc:  # timeouts, refused connections, server errors: all fall back
            yield self.fallback(question, hits, scored, f"the model failed ({type(exc).__name__}:"
                                f" {exc})", draft="".join(pieces) or None)
            return
        generated = (time.perf_counter() - started) * 1000
        reading = self.read(question, hits, scored, pool, "".join(pieces).strip())
        yield replace(reading, timings_ms={**reading.timings_ms, "llm": generated})

    def read(self, question: str, hits: list[Hit], scored: list[ScoredSentence],
             pool: list[ScoredSentence], draft: str) -> Reading:
        """The checked Reading for the model's reply ``draft`` about the numbered ``pool``."""
        if not draft:
            return self.fallback(question, hits, scored, "the model returned no text")
        reply = parse_reply(draft, len(pool))
        notes = []
        if reply.dropped:
            notes.append("dropped citation(s) to no sentence: "
                         + ", ".join(f"[{n}]" for n in reply.dropped))
        said_none = NOT_ANSWERED.lower().rstrip(".") in draft.lower().replace("’", "'")
        if said_none or (not reply.cited and _ABSTAINS.search(draft)):
            return Reading(NO_ANSWER, backend=self.name, abstained=True, draft=draft,
                           notes=["the model found no answer in the sentences"])
        if not reply.short:
            return self.fallback(question, hits, scored, "the model gave no short answer",
                                 draft=draft, notes=notes)
        cited = [pool[n - 1] for n in reply.cited]
        short = reply.short
        spans = [find_span(short, s.text) for s in cited]
        if not any(spans):
            found = self.relocate(question, reply, cited, pool, scored)
            if found is None:
                where = (f"the sentence it cites ({_marks(reply.cited)})" if reply.cited
                         else "its reply, which cites no sentence,")
                return self.fallback(
                    question, hits, scored, f"the model's short answer {short!r} is not in "
                    f"{where} nor in any other shown sentence", draft=draft, notes=notes)
            short, sentence, span = found
            if short != reply.short:
                notes.append(f"short answer trimmed to the words a shown sentence holds: "
                             f"{reply.short!r} -> {short!r}")
            if sentence not in cited:
                notes.append(f"re-cited to [{pool.index(sentence) + 1}], the shown sentence "
                             f"holding {short!r} (the model cited "
                             f"{_marks(reply.cited) or 'no sentence'})")
            cited, spans = [sentence], [span]
        support = self.verifier.claim_support(f"{question} {short}", cited, scored)
        threshold = self.config.citation_threshold
        holding = [i for i, span in enumerate(spans)
                   if span is not None and support[i] >= threshold]
        if not holding:
            return self.fallback(
                question, hits, scored, f"the sentence holding the short answer "
                f"{short!r} does not support it as an answer to the question (support "
                f"{max(support):.2f} < {threshold})", draft=draft, notes=notes,
                unsupported=[s.text for s in cited])
        kept = [i for i in range(len(cited)) if support[i] >= threshold]
        unsupported = [cited[i].text for i in range(len(cited)) if i not in kept]
        if unsupported:
            notes.append(f"{len(unsupported)} cited sentence(s) do not support the answer: "
                         "removed")
        where = holding[0]
        start, end = spans[where]  # type: ignore[misc]
        short: str | None = cited[where].text[start:end]
        backing = self.backing(question, cited[where], start, end)
        # Its confidence is what the gate reads (the trained reader's backing), so that eval's
        # precision-coverage curve over a threshold-0 run is the gate at every threshold.
        short_score: float | None = support[where] if backing is None else backing
        if backing is not None and backing < self.config.short_answer_threshold:
            notes.append(f"the trained reader does not back the short answer {short!r} "
                         f"(probability {backing:.2f} < {self.config.short_answer_threshold}):"
                         " its evidence is shown without it")
            short = short_score = None
        # After the model's evidence, that of the fast reader's other candidates: a reader who
        # doubts the short answer sees what else the articles say.
        shown = [cited[i] for i in kept]
        shown += [s for s in self.evidence(question, scored, hits[: self.config.top_k])
                  if s not in shown]
        citations, parts = [], []
        for n, s in enumerate(shown[: max(len(kept), self.config.max_answer_sentences)],
                              start=1):
            citations.append(s.cite(n))
            parts.append(f"{s.text} [{n}]")
        return Reading(" ".join(parts), backend=self.name, short_answer=short,
                       short_answer_score=short_score, citations=citations, notes=notes,
                       unsupported=unsupported, draft=draft)


    def backing(self, question: str, sentence: ScoredSentence, start: int, end: int
                ) -> float | None:
        """The trained reader's probability for the model's short answer at ``start:end`` of
        ``sentence`` (None: the rules reader is configured, which has no probability)."""
        reader = self.extractive.reader
        if not isinstance(reader, TrainedShortReader):
            return None
        return reader.support(question, sentence, sentence.start + start, sentence.start + end)

    def relocate(self, question: str, reply: Reply, cited: list[ScoredSentence],
                 pool: list[ScoredSentence], scored: list[ScoredSentence]
                 ) -> tuple[str, ScoredSentence, tuple[int, int]] | None:
        """Where the model's words are when its cited sentence lacks them: in another shown
        sentence (the best supported, if several), or, failing that, the longest run of at
        least half of its words that a shown sentence holds and that adds a word to the
        question. A 1.5B model often names the right words under a wrong or missing number,
        or adds one ("Iran 16-13" for "lost to Japan 16-13")."""
        q_terms = set(content_terms(question))
        words = reply.short.split()
        others = [s for s in pool if s not in cited]
        for size in range(len(words), (len(words) + 1) // 2 - 1, -1):
            parts = [" ".join(words[i:i + size]).strip(_EDGE)
                     for i in range(len(words) - size + 1)]
            # Of runs this long: those adding most words to the question first, then later
            # ones (an answer tends to end the reply: "Iran 16-13").
            ranked = sorted(enumerate(parts),
                            key=lambda x: (-len(set(content_terms(x[1])) - q_terms), -x[0]))
            for _, part in ranked:
                if size < len(words) and not set(content_terms(part)) - q_terms:
                    continue
                holders = [(s, span) for s in cited + others
                           if (span := find_span(part, s.text)) is not None]
                if not holders:
                    continue
                mine = [h for h in holders if h[0] in cited]
                if mine:
                    sentence, span = mine[0]
                else:
                    support = self.verifier.claim_support(f"{question} {part}",
                                                          [s for s, _ in holders], scored)
                    sentence, span = holders[max(range(len(holders)), key=support.__getitem__)]
                return sentence.text[span[0]:span[1]], sentence, span
        return None


def _marks(numbers: tuple[int, ...]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _header(s: ScoredSentence) -> str:
    a = s.hit.article
    return " | ".join(x for x in (a.title, (a.published_at or "")[:10]) if x)


def group_by_article(pool: list[ScoredSentence]) -> list[tuple[str, list[tuple[int, str]]]]:
    """``(title | date, [(n, sentence), ...])`` per run of one article's sentences, n from 1."""
    groups: list[tuple[str, list[tuple[int, str]]]] = []
    last = None
    for n, s in enumerate(pool, start=1):
        if s.hit.article.id != last:
            groups.append((_header(s), []))
            last = s.hit.article.id
        groups[-1][1].append((n, s.text))
    return groups
