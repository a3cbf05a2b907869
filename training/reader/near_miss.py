"""Near-miss questions that change one detail the window states: a year, an ordinal, a number
or a role.

The swapped negatives of training/reader/generate.py change a *name* for one from another
article. A question can also miss by a detail: "Which team won the Tour in 2025?" over a window
about 2026, "... in the first round?" over the second round's result, "Who is the chief
executive of X?" over a sentence naming X's chief financial officer. Asked such a question, a
reader should say "not stated"; the window holds a span of the asked kind, so it is tempted.

For each positive of a generated data file whose question holds such a detail, also stated in
its window, one twin question is made with that detail changed to a value the window does not
hold (a year one to three off, another ordinal, a number scaled, another role), answered "not
stated". The positive is written beside its twin, so that the reader is shown both sides.

    python -m training.reader.near_miss --data training/data/reader.v3.jsonl \\
        --out training/data/reader.near-miss.jsonl --per-kind 400

Seeded: the same input and arguments give the same file.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from rag.files import atomic_write
from training.reader.generate import Example

KINDS = ("year", "ordinal", "number", "role")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth")
ROLES = ("chief executive", "chief financial officer", "chief operating officer",
         "chief technology officer", "president", "vice president", "chairman", "chairwoman",
         "founder", "co-founder", "director", "mayor", "deputy mayor", "governor",
         "lieutenant governor", "senator", "prime minister", "foreign minister",
         "finance minister", "health minister", "defence minister", "defense minister",
         "head coach", "coach", "captain", "manager", "spokesperson", "spokesman",
         "spokeswoman", "secretary", "ambassador", "chancellor", "speaker", "treasurer")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_ORDINAL = re.compile(r"\b(" + "|".join(ORDINALS) + r")\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?![\w.,]*\d)")
_ROLE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, ROLES), key=len, reverse=True))
                   + r")\b", re.IGNORECASE)


def last_sentence(question: str) -> tuple[str, str]:
    """(preamble, question proper): only the question proper is changed, never a preamble."""
    ask = re.split(r"(?<=[.!?])\s+", question)[-1]
    return question[:len(question) - len(ask)], ask


def states(context: str, value: str) -> bool:
    """Whether ``value`` occurs in ``context`` as whole words, ignoring case.

    >>> states("He won in 2026.", "2026"), states("He won in 2026.", "202")
    (True, False)
    """
    return re.search(rf"(?<![\w]){re.escape(value)}(?![\w])", context, re.IGNORECASE) is not None


def _options(kind: str, old: str, rng: random.Random) -> list[str]:
    if kind == "year":
        y = int(old)
        return [str(y + d) for d in rng.sample([-3, -2, -1, 1, 2, 3], 6)]
    if kind == "ordinal":
        return rng.sample([o for o in ORDINALS if o != old.lower()], len(ORDINALS) - 1)
    if kind == "number":
        n = int(old.replace(",", ""))
        if n < 2:
            return []
        values = {round(n * f) for f in (0.5, 1.5, 2, 3)} - {n, 0}
        return [f"{v:,}" if "," in old else str(v) for v in rng.sample(sorted(values),
                                                                     len(values))]
    return rng.sample([r for r in ROLES if r != old.lower()], len(ROLES) - 1)


_FINDERS = {"year": _YEAR, "ordinal": _ORDINAL, "number": _NUMBER, "role": _ROLE}


def near_miss(row: dict, kind: str, rng: random.Random) -> Example | None:
    """``row``'s question with one detail of ``kind`` changed to a value its window does not
    state (None: the question holds no such detail that the window states).

    >>> row = {"id": "a-1", "question": "Which team won the Tour of the Fjords in 2025?",
    ...        "context": "Team Sorensa won the Tour of the Fjords in 2025.", "answer":
    ...        "Team Sorensa", "answer_start": 0, "kind": "org", "article_id": "a"}
    >>> twin = near_miss(row, "year", random.Random(1))
    >>> twin.question != row["question"], twin.answer_start, twin.source
    (True, -1, 'near-miss-year')
    >>> near_miss(row, "role", random.Random(1)) is None
    True
    >>> titled = dict(row, question="Whom did President Ann Lee meet?", answer="Bo",
    ...               context="President Ann Lee met Bo.")
    >>> near_miss(titled, "role", random.Random(1)) is None
    True
    """
    lead, ask = last_sentence(row["question"])
    found = [m for m in _FINDERS[kind].finditer(ask)
             if m.group(0).lower() not in row["answer"].lower()
             and states(row["context"], m.group(0))]
    if kind == "number":
        found = [m for m in found if not _YEAR.fullmatch(m.group(0))]
    if kind == "role":  # a title before a name ("President Joe Biden") still names who it is
        found = [m for m in found if not re.match(r"\s+[A-Z]", ask[m.end():])]
    if not found:
        return None
    m = rng.choice(found)
    old = m.group(0)
    for new in _options(kind, old, rng):
        if states(row["context"], new) or new.lower() in old.lower():
            continue
        if old[:1].isupper():
            new = new[:1].upper() + new[1:]
        question = lead + ask[:m.start()] + new + ask[m.end():]
        return Example(row["id"] + f"-n{kind[0]}", question, row["context"], "", -1,
                       row["kind"], f"near-miss-{kind}", row["article_id"])
    return None


def main(data: Annotated[Path, typer.Option(help="generate.py's output.")] = Path(
             "training/data/reader.v3.jsonl"),
         out: Annotated[Path, typer.Option()] = Path("training/data/reader.near-miss.jsonl"),
         per_kind: Annotated[int, typer.Option(help="Most twins of each kind.")] = 400,
         seed: Annotated[int, typer.Option()] = 31) -> None:
    """Writes each twin after its positive (JSONL), and a summary beside them."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in data.open(encoding="utf-8")]
    positives = [r for r in rows if r["source"] == "rule"]
    rng.shuffle(positives)
    made: Counter[str] = Counter()
    used: set[str] = set()
    pairs: list[tuple[dict, Example]] = []
    for kind in KINDS:
        for row in positives:
            if made[kind] >= per_kind:
                break
            if row["id"] in used:
                continue
            twin = near_miss(row, kind, rng)
            if twin is not None:
                used.add(row["id"])
                pairs.append((row, twin))
                made[kind] += 1
    rng.shuffle(pairs)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(d, ensure_ascii=False) + "\n" for row, twin in pairs
             for d in (row, asdict(twin))]
    atomic_write(out, lambda tmp: tmp.write_text("".join(lines), encoding="utf-8"))
    summary = {"from": str(data), "seed": seed, "per_kind": per_kind, "twins": dict(made),
               "examples": 2 * len(pairs)}
    out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    typer.run(main)
