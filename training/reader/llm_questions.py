"""Questions written by the local LLM for a chosen answer span, kept when a round trip agrees.

For a positive made by the rules (training/reader/generate.py's output), the model is shown the
window and the answer span and asked for one question that the span answers. The question is
kept only when an independent reading finds the same span again: the model, asked the new
question over the same window without being told the answer, must reply with words that hold
the span (or that the span holds). Rules give grammatical but literal questions; the model gives
paraphrases ("Who leads Valmora?" for "chief executive"), which a reader must learn too.

    python -m training.reader.llm_questions --data training/data/reader.jsonl \\
        --out training/data/reader.llm.jsonl --limit 600

Resumable: examples already in ``--out`` are skipped; each kept or refused one is appended at
once. About 4-6 s an example with Qwen2.5-Coder-1.5B on 2 cores.
"""

from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from training.reader.generate import Example

WRITE = ("You write quiz questions about news. Given a passage and an answer taken from it, "
         "write ONE short question (at most 20 words) that the passage answers with exactly "
         "that answer. Do not put the answer in the question. Reply with the question only.")
READ = ("Answer the question from the passage with the shortest span of the passage's words "
        "(a name, a number, a date...). Reply with the span only, or 'not stated'.")


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def agrees(reply: str, answer: str) -> bool:
    """Whether the model's reading ``reply`` finds ``answer``: one holds the other's words.

    >>> agrees("Ingrid Halvorsen.", "Ingrid Halvorsen"), agrees("Halvorsen", "Ingrid Halvorsen")
    (True, True)
    >>> agrees("not stated", "May"), agrees("in May 2022 at the port", "May")
    (False, False)
    """
    r, a = words(reply), words(answer)
    if not r or not a or "not stated" in " ".join(r):
        return False
    rs, as_ = f" {' '.join(r)} ", f" {' '.join(a)} "
    if as_ in rs:
        return len(r) <= 2 * len(a) + 1
    return rs in as_ and len(r) * 2 >= len(a)


def clean_question(reply: str) -> str | None:
    line = next((ln.strip() for ln in reply.splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:question\s*:\s*|\d+[.)]\s*)", "", line, flags=re.IGNORECASE)
    line = line.strip(" \"'“”")
    if not line.endswith("?") or not 3 <= len(line.split()) <= 25:
        return None
    return line


def main(data: Annotated[Path, typer.Option()] = Path("training/data/reader.jsonl"),
         out: Annotated[Path, typer.Option()] = Path("training/data/reader.llm.jsonl"),
         limit: Annotated[int, typer.Option(help="Positives to try.")] = 600,
         seed: Annotated[int, typer.Option()] = 29) -> None:
    from langchain_core.messages import HumanMessage, SystemMessage

    from rag.answering.llm import make_chat_model
    from rag.config import Config

    rows = [json.loads(line) for line in data.open(encoding="utf-8")]
    positives = [r for r in rows if r["source"] == "rule"]
    random.Random(seed).shuffle(positives)
    tried: set[str] = set()
    if out.is_file():
        tried = {json.loads(line)["from"] for line in out.open(encoding="utf-8")}
    model = make_chat_model("llamacpp", Config(llm_max_tokens=48, llm_temperature=0.0))
    kept = refused = 0
    with out.open("a", encoding="utf-8") as f:
        for r in positives[:limit]:
            if r["id"] in tried:
                continue
            ask = model.invoke([SystemMessage(WRITE), HumanMessage(
                f"Passage: {r['context']}\n\nAnswer: {r['answer']}\n\nQuestion:")]).content
            question = clean_question(str(ask))
            ok = False
            reply = ""
            if question and r["answer"].lower() not in question.lower():
                reply = str(model.invoke([SystemMessage(READ), HumanMessage(
                    f"Passage: {r['context']}\n\nQuestion: {question}\n\nAnswer:")]).content)
                ok = agrees(reply, r["answer"])
            record = {"from": r["id"], "kept": ok, "question": question, "reading": reply}
            if ok:
                ex = Example(r["id"] + "-llm", question or "", r["context"], r["answer"],
                             r["answer_start"], r["kind"], "llm", r["article_id"])
                record["example"] = asdict(ex)
                kept += 1
            else:
                refused += 1
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            print(f"kept {kept}, refused {refused}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    typer.run(main)
