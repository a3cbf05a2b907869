"""Citation verification: every [n] of an LLM answer is checked against passage n.

The answer is split into sentences (claims) and the [n] markers parsed; numbers that point at no
passage are dropped. A claim's support from a passage is its best sentence's score: embedding
similarity blended with the share of the claim's content words found in it, each word weighted
by its rarity among the passages' sentences (0.3 similarity + 0.7 overlap). A cited
passage at or above ``config.citation_threshold`` verifies the claim; otherwise the claim is
re-cited to the passage that supports it best, if one does, or else it is unsupported: removed
(default) or kept with ``verified=False`` (``llm_unsupported="mark"``).

Calibration (``python -m eval calibrate-citations --data ../shared/eval/realtimeqa``): RealTime QA
dev questions with a gold article; claim = question + gold answer; 34 claims, each scored against
the gold chunk holding the answer (supported), a chunk of another article and a chunk of the same
article without the answer (mismatched). Best balanced accuracy per similarity weight: 0.7 ->
threshold 0.44 (94% supported kept, 100% other-article and 88% same-article rejected); 0.5 -> 0.37
(94%, 100%, 94%); 0.3 -> 0.34 (91%, 100%, 100%). We use weight 0.3 and threshold 0.34
(config.citation_threshold): a wrong citation to a related passage is the common failure.

>>> [(c.text, c.cited, c.dropped) for c in parse_claims("Paris is big [1][7]. Yes.", 2)]
[('Paris is big.', (1,), (7,)), ('Yes.', (), ())]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from embeddings.base import Embedder
from rag.answering.prompt import INSTRUCTION_LIKE
from rag.config import Config
from rag.embed_cache import cached
from rag.index.base import Hit
from rag.scoring import SENTENCE_BATCH, ScoredSentence
from rag.sentences import sentence_spans
from rag.text import content_terms
from rag.types import Citation

# Weight of embedding similarity against weighted word overlap in a claim's support; chosen with
# the threshold by ``python -m eval calibrate-citations``.
SUPPORT_DENSE_WEIGHT = 0.3
CITE = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")


@dataclass(frozen=True)
class Claim:
    """One answer sentence without its markers, the passage numbers it cites and those dropped."""

    text: str
    cited: tuple[int, ...] = ()
    dropped: tuple[int, ...] = ()


def parse_claims(text: str, n_passages: int) -> list[Claim]:
    """Sentences of ``text`` with their valid [n] (1..n_passages) and out-of-range numbers.

    A sentence made only of markers (``"... plant. [2]"`` split after the full stop) belongs to
    the sentence before it.
    """
    claims: list[Claim] = []
    for s, e in sentence_spans(text):
        raw = text[s:e]
        numbers = [int(x) for m in CITE.finditer(raw) for x in re.split(r"[,;]", m.group(1))]
        body = " ".join(CITE.sub("", raw).split())
        body = re.sub(r"\s+([.,;:!?])", r"\1", body)
        cited = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= n_passages))
        dropped = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= n_passages))
        if not re.search(r"\w", body) and claims:
            last = claims[-1]
            claims[-1] = Claim(last.text, tuple(dict.fromkeys(last.cited + cited)),
                               tuple(dict.fromkeys(last.dropped + dropped)))
        elif re.search(r"\w", body):
            claims.append(Claim(body, cited, dropped))
    return claims


def term_weights(documents: list[set[str]]) -> Callable[[str], float]:
    """Inverse document frequency over the passages' sentences: a claim's rare words (names,
    numbers) count more than words every passage shares; a word no passage has counts most."""
    df: dict[str, int] = {}
    for terms in documents:
        for t in terms:
            df[t] = df.get(t, 0) + 1
    n = len(documents)
    return lambda t: math.log(1 + n / (1 + df.get(t, 0)))


@dataclass
class CheckedClaim:
    """A claim after verification: the passages that support it, or none."""

    claim: Claim
    support: dict[int, tuple[float, ScoredSentence | None]]
    cited: tuple[int, ...] = ()
    verified: bool = False
    recited: bool = False


@dataclass
class Verification:
    """The outcome for a whole answer: text with verified markers, citations, what was removed."""

    text: str
    citations: list[Citation]
    unsupported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return any(c.verified for c in self.citations)


class CitationVerifier:
    """Checks each claim of an LLM answer against the passages it cites; a claim's support
    from a sentence is ``dense_weight`` x cosine + the rest x rarity-weighted word overlap."""

    def __init__(self, embedder: Embedder, config: Config,
                 dense_weight: float = SUPPORT_DENSE_WEIGHT) -> None:
        self.embedder = embedder
        self.config = config
        self.dense_weight = dense_weight

    def passage_sentences(self, hits: list[Hit],
                          scored: list[ScoredSentence]) -> list[list[ScoredSentence]]:
        """Sentences (already embedded) of each passage, instruction-like ones left out."""
        out: list[list[ScoredSentence]] = []
        for hit in hits:
            out.append([
                s for s in scored
                if s.hit.article.id == hit.article.id
                and hit.chunk.start <= s.start < hit.chunk.end
                and not INSTRUCTION_LIKE.search(s.text)
            ])
        return out

    def support(self, claims: list[str], sentences: list[list[ScoredSentence]]
                ) -> list[dict[int, tuple[float, ScoredSentence | None]]]:
        """For each claim and passage number: best support score and the sentence giving it."""
        if not claims:
            return []
        vectors = self.embedder.embed(claims, batch_size=SENTENCE_BATCH)
        terms_of = {id(s): set(content_terms(s.text)) for sents in sentences for s in sents}
        idf = term_weights(list(terms_of.values()))
        out = []
        for claim, vec in zip(claims, vectors, strict=True):
            terms = set(content_terms(claim))
            total = sum(idf(t) for t in terms)
            per_passage: dict[int, tuple[float, ScoredSentence | None]] = {}
            for n, sents in enumerate(sentences, start=1):
                best: tuple[float, ScoredSentence | None] = (0.0, None)
                for s in sents:
                    found = sum(idf(t) for t in terms & terms_of[id(s)])
                    score = (self.dense_weight * float(np.dot(vec, s.vector))
                             + (1 - self.dense_weight) * (found / total if total else 0.0))
                    if score > best[0]:
                        best = (score, s)
                per_passage[n] = best
            out.append(per_passage)
        return out

    def claim_support(self, claim: str, sentences: list[ScoredSentence],
                      context: list[ScoredSentence]) -> list[float]:
        """Support of ``claim`` from each of ``sentences``, scored as in :meth:`support` with
        words weighted by rarity among the ``context`` sentences (e.g. all retrieved ones).
        An instruction-like sentence supports nothing."""
        return self.text_support(claim, [s.text for s in sentences], [s.text for s in context])

    def text_support(self, claim: str, sentences: list[str], context: list[str]) -> list[float]:
        """:meth:`claim_support` of sentences given as text (a timeline event's headline
        against its sentence, rag/answering/headlines.py)."""
        if not sentences:
            return []
        vectors = cached(self.embedder)
        claim_vec = vectors.embed([claim], batch_size=SENTENCE_BATCH)[0]
        sent_vecs = vectors.embed(sentences, batch_size=SENTENCE_BATCH)
        idf = term_weights([set(content_terms(s)) for s in context or sentences])
        terms = set(content_terms(claim))
        total = sum(idf(t) for t in terms)
        out = []
        for text, vec in zip(sentences, sent_vecs, strict=True):
            found = sum(idf(t) for t in terms & set(content_terms(text)))
            score = (self.dense_weight * float(np.dot(claim_vec, vec))
                     + (1 - self.dense_weight) * (found / total if total else 0.0))
            out.append(0.0 if INSTRUCTION_LIKE.search(text) else score)
        return out

    def check(self, claims: list[Claim], hits: list[Hit],
              scored: list[ScoredSentence]) -> list[CheckedClaim]:
        threshold = self.config.citation_threshold
        supports = self.support([c.text for c in claims], self.passage_sentences(hits, scored))
        checked = []
        for claim, support in zip(claims, supports, strict=True):
            ok = tuple(n for n in claim.cited if support[n][0] >= threshold)
            if ok:
                checked.append(CheckedClaim(claim, support, ok, verified=True))
                continue
            best = max(support, key=lambda n: support[n][0], default=None)
            if best is not None and support[best][0] >= threshold:
                checked.append(CheckedClaim(claim, support, (best,), verified=True, recited=True))
            else:
                checked.append(CheckedClaim(claim, support, claim.cited))
        return checked

    def verify(self, draft: str, hits: list[Hit], scored: list[ScoredSentence]) -> Verification:
        """Verify ``draft`` (the model's text, [n] = passage n) against ``hits``."""
        claims = parse_claims(draft, len(hits))
        notes = []
        dropped = sorted({n for c in claims for n in c.dropped})
        if dropped:
            notes.append("dropped citation(s) to no passage: "
                         + ", ".join(f"[{n}]" for n in dropped))
        checked = self.check(claims, hits, scored)
        keep_unsupported = self.config.llm_unsupported == "mark"
        parts, unsupported = [], []
        # One Citation per passage number, so [n] means passage n while streaming and after;
        # its quote is the passage sentence that best supports a claim citing it.
        quotes: dict[int, list[tuple[float, ScoredSentence, bool]]] = {}
        for c in checked:
            if c.recited:
                was = ", ".join(f"[{n}]" for n in c.claim.cited) or "no citation"
                notes.append(f"re-cited to [{c.cited[0]}] (was {was}): {c.claim.text}")
            if not c.verified:
                unsupported.append(c.claim.text)
                if not keep_unsupported:
                    continue
            shown = [n for n in c.cited if c.support[n][1] is not None]
            for n in shown:
                score, sent = c.support[n]
                quotes.setdefault(n, []).append((score, sent, c.verified))  # type: ignore[arg-type]
            parts.append(f"{c.claim.text} {''.join(f'[{n}]' for n in shown)}".rstrip())
        if unsupported:
            action = "kept, marked unverified" if keep_unsupported else "removed"
            notes.append(f"{len(unsupported)} sentence(s) no passage supports: {action}")
        citations = []
        for n, found in sorted(quotes.items()):
            _, s, _ = max(found, key=lambda x: x[0])
            citations.append(s.cite(n, verified=any(v for _, _, v in found)))
        return Verification(" ".join(parts), citations, unsupported, notes)
