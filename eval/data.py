"""Question sets and corpora for evaluation: loading, validating, hashing, slicing."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.articles import Article, iter_files, load_path
from rag.errors import BadInputError


@dataclass(frozen=True)
class Question:
    """One evaluation question; no answers (or ``unanswerable``) means the right reply abstains.

    >>> q = Question.from_record({"id": "q1", "question": "Who won?", "answers": ["Japan"]})
    >>> q.answerable, q.match
    (True, 'any')
    """

    id: str
    question: str
    answers: tuple[str, ...] = ()
    gold_doc_ids: tuple[str, ...] = ()
    type: str = "default"
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    unanswerable: bool = False

    def __post_init__(self) -> None:
        if not self.id or not self.question.strip():
            raise BadInputError(f"question {self.id or '(no id)'!r} needs an id and a question")

    @property
    def answerable(self) -> bool:
        return bool(self.answers) and not self.unanswerable

    @property
    def match(self) -> str:
        """``all``: every listed answer part must appear; ``any``: one is enough."""
        return "all" if self.meta.get("answer_match") == "all" else "any"

    @classmethod
    def from_record(cls, record: Any, where: str = "question") -> Question:
        if not isinstance(record, dict):
            raise BadInputError(f"{where}: expected a JSON object")
        try:
            return cls(id=str(record["id"]), question=str(record["question"]),
                       answers=tuple(str(a) for a in record.get("answers") or ()),
                       gold_doc_ids=tuple(str(d) for d in record.get("gold_doc_ids") or ()),
                       type=str(record.get("type") or "default"),
                       meta=dict(record.get("meta") or {}),
                       unanswerable=bool(record.get("unanswerable", False)))
        except KeyError as exc:
            raise BadInputError(f"{where}: missing field {exc.args[0]!r}") from None

    @property
    def date(self) -> str | None:
        """The day the question was asked (``meta.question_date``), as YYYY-MM-DD, if known.

        >>> Question("q", "Who?", meta={"question_date": "2022/09/02"}).date
        '2022-09-02'
        """
        raw = str(self.meta.get("question_date") or "")
        return raw[:10].replace("/", "-") if raw else None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id, "question": self.question,
                                  "answers": list(self.answers),
                                  "gold_doc_ids": list(self.gold_doc_ids), "type": self.type}
        if self.unanswerable:
            record["unanswerable"] = True
        if self.meta:
            record["meta"] = self.meta
        return record


def load_questions(path: str | Path) -> list[Question]:
    """Questions from a JSONL file; a malformed line or a repeated id is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"question file {path} not found")
    questions: list[Question] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{where}: malformed JSON ({exc.msg})") from None
        q = Question.from_record(record, where)
        if q.id in seen:
            raise BadInputError(f"{where}: question id {q.id!r} appears twice")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise BadInputError(f"question file {path} holds no questions")
    return questions


def dated_between(questions: list[Question], since: str | None = None,
                  before: str | None = None) -> list[Question]:
    """The questions asked on or after ``since`` and before ``before`` (YYYY-MM-DD); with
    either bound, an undated question is left out."""
    if not since and not before:
        return questions
    return [q for q in questions if q.date and (not since or q.date >= since)
            and (not before or q.date < before)]


def load_corpus(path: str | Path) -> list[Article]:
    """Every article of a corpus file or folder; any unreadable input is an error."""
    report = load_path(path)
    if report.failures:
        shown = "; ".join(str(f) for f in report.failures[:3])
        raise BadInputError(f"corpus {path}: {len(report.failures)} input(s) failed: {shown}")
    return report.articles


def file_hash(path: str | Path) -> str:
    """sha256 of a file, or of a folder's supported files (names and contents, sorted)."""
    path = Path(path)
    if not path.exists():
        raise BadInputError(f"{path} not found")
    digest = hashlib.sha256()
    for file in iter_files(path):
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def make_slice(corpus: str | Path, questions: str | Path, out_dir: str | Path, *,
               n_questions: int | None = None, distractors: int = 100,
               seed: int = 0) -> tuple[Path, Path]:
    """A smaller, fixed evaluation set: questions with gold articles, their gold articles and
    ``distractors`` other articles drawn with ``seed``. Writes corpus.jsonl and questions.jsonl.

    Scores on a slice are not comparable with scores on the whole corpus (fewer distractors).
    """
    qs = [q for q in load_questions(questions) if q.gold_doc_ids]
    if n_questions is not None:
        qs = qs[:n_questions]
    gold = {d for q in qs for d in q.gold_doc_ids}
    corpus_path = Path(corpus)
    records = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    others = sorted(str(r["doc_id"]) for r in records if str(r.get("doc_id")) not in gold)
    keep = gold | set(random.Random(seed).sample(others, min(distractors, len(others))))
    out = Path(out_dir)
    write_jsonl(out / "corpus.jsonl", [r for r in records if str(r.get("doc_id")) in keep])
    write_jsonl(out / "questions.jsonl", [q.to_record() for q in qs])
    return out / "corpus.jsonl", out / "questions.jsonl"
