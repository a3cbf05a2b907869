"""Citation support of LLM answers before and after citation verification.

    python -m eval llm-support --backend openai --base-url http://127.0.0.1:8080/v1 \\
        --questions eval/questions/sample.jsonl

Before: every [n] of the model's own text, quoted by the sentence of passage n closest to the
cited claim (an out-of-range [n] counts as unsupported). After: the quotes of the Answer shown
(verified citations; the extractive answer where the model's output was unusable). Support is
eval.metrics.citation_support: the share of quotes that contain a gold answer.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from eval import metrics as m
from eval.data import load_questions
from rag import Config, RagSystem
from rag.answering.llm import LLMAnswerer
from rag.answering.verify import parse_claims


def draft_quotes(answerer: LLMAnswerer, question: str, hits, draft: str) -> list[str]:
    """One quote per [n] of ``draft``: the passage's best sentence for the claim, or ''."""
    claims = parse_claims(draft, len(hits))
    scored = answerer.extractive.score_sentences(question, hits)
    checked = answerer.verifier.check(claims, hits, scored)
    quotes = []
    for c in checked:
        for n in c.claim.cited:
            sentence = c.support[n][1]
            quotes.append(sentence.text if sentence else "")
        quotes += [""] * len(c.claim.dropped)
    return quotes


def llm_support(backend: str, questions_path: Path, corpus: Path, *, base_url: str | None = None,
                index: Path | None = None, max_tokens: int = 128, limit: int | None = None,
                out: Path | None = None) -> None:
    """Ask every answerable question with ``backend`` and print citation support before and
    after verification; ``out`` gets one JSON row per question."""
    config = Config.from_env(index_dir=index or Path(tempfile.mkdtemp()),
                             llm_base_url=base_url, llm_max_tokens=max_tokens)
    system = RagSystem(config)
    if system.is_empty():
        system.ingest_paths([corpus])
    answerer = system.answerer(backend)
    assert isinstance(answerer, LLMAnswerer)
    rows = []
    started = time.perf_counter()
    questions = [q for q in load_questions(questions_path) if q.answerable][:limit]
    for q in questions:
        hits = system.retriever.retrieve(q.question)
        answer = answerer.answer(q.question, hits)
        before = draft_quotes(answerer, q.question, hits, answer.draft) if answer.draft else []
        after = [c.quote for c in answer.citations]
        rows.append({
            "id": q.id, "draft": answer.draft, "answer": answer.text,
            "fallback": answer.fallback, "abstained": answer.abstained,
            "before": m.citation_support(before, q.answers),
            "after": m.citation_support(after, q.answers),
            "after_llm": None if answer.fallback else m.citation_support(after, q.answers),
            "n_before": len(before), "n_after": len(after), "notes": answer.notes,
        })
    elapsed = time.perf_counter() - started
    if out:
        out.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def share(key: str) -> str:
        value = m.mean(r[key] for r in rows)
        n = sum(1 for r in rows if r[key] is not None)
        return "n/a" if value is None else f"{value:.3f} (over {n} answers)"

    print(f"{len(rows)} answerable questions, backend {backend}, {elapsed:.0f} s")
    print(f"citation support before verification: {share('before')}")
    print(f"citation support after verification:  {share('after')}")
    print(f"  after, LLM answers kept (no fallback): {share('after_llm')}")
    print(f"citations before/after: {sum(r['n_before'] for r in rows)}/"
          f"{sum(r['n_after'] for r in rows)}; fell back to extractive: "
          f"{sum(1 for r in rows if r['fallback'])}; abstained: "
          f"{sum(1 for r in rows if r['abstained'])}")
