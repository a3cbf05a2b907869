"""The typed factoid sets, graded (eval/questions/typed/) and dev (eval/questions/typed-dev/): every
answer stated in one sentence of its article, every asked kind covered, near-miss unanswerable
questions the articles do not answer, and nothing shared between the two sets."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from support import REPO

from eval.data import load_corpus, load_questions
from eval.metrics import normalize_answer
from rag.sentences import sentence_spans
from rag.text import content_terms

TYPED = REPO / "eval" / "questions" / "typed"
TYPED_DEV = REPO / "eval" / "questions" / "typed-dev"
SAMPLE = REPO / "data" / "sample"
# Each kind and the words its questions start with (and, for "which", the noun they ask about).
KINDS = {
    "who": r"Who\b", "where": r"Where\b", "when": r"(When|In what year)\b",
    "how_many": r"How many\b", "how_much": r"How much\b", "what": r"(In )?[Ww]hat\b",
    "which_person": r"Which (?!team|company|airline|country)\w+",
    "which_team": r"Which team\b", "which_company": r"Which (company|airline)\b",
    "which_country": r"(In which|Which) country\b",
}


@pytest.fixture(scope="module", params=[TYPED, TYPED_DEV], ids=["typed", "typed-dev"])
def folder(request):
    return request.param


@pytest.fixture(scope="module")
def articles(folder):
    return {a.id: a for a in load_corpus(folder / "corpus.jsonl")}


@pytest.fixture(scope="module")
def questions(folder):
    return load_questions(folder / "questions.jsonl")


def test_sizes_and_kinds(articles, questions):
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    assert 8 <= len(articles) <= 12
    assert len(answerable) >= 60 and len(unanswerable) >= 20
    per_kind = Counter(q.type for q in answerable)
    assert set(per_kind) == set(KINDS) and min(per_kind.values()) >= 6, per_kind
    assert {q.type for q in unanswerable} <= set(KINDS)
    assert {d for q in answerable for d in q.gold_doc_ids} == set(articles), "an unused article"
    assert len({q.question for q in questions}) == len(questions), "a question asked twice"


def test_every_question_is_asked_on_one_day_after_every_article(articles, questions):
    """A fixed day, so the recency prior does not depend on the day the eval runs."""
    latest = max(a.published_at for a in articles.values())
    assert {q.meta["question_date"] for q in questions} == {"2027-01-15"} and latest < "2027"


def test_each_question_is_worded_as_its_kind(questions):
    for q in questions:
        assert re.match(KINDS[q.type], q.question), (q.id, q.type, q.question)


def test_every_answer_is_stated_in_one_sentence_of_its_article(articles, questions):
    for q in (q for q in questions if q.answerable):
        assert len(q.gold_doc_ids) == 1 and q.gold_doc_ids[0] in articles, q.id
        text = articles[q.gold_doc_ids[0]].text
        sentences = {text[s:e] for s, e in sentence_spans(text)}
        evidence = q.meta["evidence"]
        assert evidence in sentences, (q.id, evidence)
        for answer in q.answers:
            assert answer in evidence, (q.id, answer)
            # What the question already names is never its answer.
            assert f" {normalize_answer(answer)} " not in f" {normalize_answer(q.question)} ", q.id


def test_unanswerable_questions_are_near_misses(articles, questions):
    for q in (q for q in questions if not q.answerable):
        assert q.unanswerable and not q.answers and not q.gold_doc_ids, q.id
        assert q.meta["why"].strip(), q.id
        near = articles[q.meta["near"]]
        shared = set(content_terms(q.question)) & set(content_terms(f"{near.title} {near.text}"))
        assert len(shared) >= 2, (q.id, shared)


def test_names_and_facts_differ_from_the_sample_corpus(questions):
    sample = " ".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLE.iterdir()))
    names = {a for q in questions for a in q.answers if not re.search(r"\d", a) and len(a) > 4}
    assert len(names) > 40
    assert not [a for a in names if a.lower() in sample.lower()]


def test_the_graded_and_dev_sets_share_no_story_and_no_answer():
    """The dev set calibrates and compares; nothing in it may leak into the graded set."""
    def titles(folder):
        return {normalize_answer(a.title) for a in load_corpus(folder / "corpus.jsonl")}

    def answers(folder):
        return {normalize_answer(a) for q in load_questions(folder / "questions.jsonl")
                for a in q.answers}

    assert not titles(TYPED) & titles(TYPED_DEV)
    assert not answers(TYPED) & answers(TYPED_DEV)
