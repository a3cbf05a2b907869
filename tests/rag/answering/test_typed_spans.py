"""A short answer of the asked kind (rag/answering/typed_spans.py): a name for who/which/where,
a date for when, a number for how many; the entity the reader's span stands for."""

from __future__ import annotations

import pytest

from rag.answering.answer_types import asked_type
from rag.answering.countries import is_country
from rag.answering.spans import Span
from rag.answering.typed_spans import asked_class, typed_span

SENTENCE = ("The satellite, built by Kestrel Orbital in Espoo, Finland, launched in 2014 "
            "with 5 others.")
ENTITIES = [Span("Kestrel Orbital", 24, 39, "PERSON"),  # the small model's kind of mistake
            Span("Espoo", 43, 48, "GPE"), Span("Finland", 50, 57, "GPE"),
            Span("2014", 71, 75, "DATE"), Span("5", 81, 82, "CARDINAL")]


def span_of(text: str) -> tuple[int, int]:
    start = SENTENCE.index(text)
    return start, start + len(text)


def answer(question: str, text: str) -> str | None:
    picked = typed_span(asked_type(question), *span_of(text), ENTITIES, text)
    return SENTENCE[picked[0]:picked[1]] if picked else None


@pytest.mark.parametrize(("question", "kind"), [
    ("Which company built the satellite?", "name"),
    ("Who built the satellite?", "name"),
    ("In which country was the satellite built?", "name"),
    ("Where was the satellite built?", "name"),
    ("When was the satellite launched?", "date"),
    ("In what year was the satellite launched?", "date"),
    ("How many satellites were launched?", "number"),
    ("How much did the satellite cost?", "number"),
    ("What did the satellite carry?", None),
])
def test_the_asked_class_of_each_kind_of_question(question: str, kind: str | None) -> None:
    assert asked_class(asked_type(question)) == kind


@pytest.mark.parametrize(("question", "span", "expected"), [
    # A name is any proper name: the model's PERSON for a company still fits "which company".
    ("Which company built the satellite?", "Kestrel Orbital", "Kestrel Orbital"),
    ("Which company built the satellite?", "Orbital", "Kestrel Orbital"),  # grown to the entity
    ("Where was the satellite built?", "in Espoo", "Espoo"),  # shrunk to it
    ("In which country was the satellite built?", "2014", None),  # a date is no place
    ("Where was the satellite built?", "Espoo, Finland", None),  # two places: not one answer
    ("When was the satellite launched?", "2014", "2014"),
    ("When was the satellite launched?", "Finland", None),
    ("In what year was the satellite launched?", "2014", "2014"),
    ("How many others launched with it?", "5", "5"),
    ("How many others launched with it?", "Espoo", None),
    ("What did the satellite do?", "launched in 2014", "launched in 2014"),  # any span
])
def test_a_span_fits_when_it_is_one_entity_of_the_asked_class(question: str, span: str,
                                                               expected: str | None) -> None:
    assert answer(question, span) == expected


def test_a_capitalised_name_the_model_missed_still_fits_but_never_a_number() -> None:
    asked = asked_type("Which team won the final?")
    assert typed_span(asked, 0, 11, [], "Riga Wolves") == (0, 11)
    assert typed_span(asked, 0, 5, [], "88-81") is None
    assert typed_span(asked, 0, 9, [], "the final") is None
    assert typed_span(asked_type("How many points?"), 0, 2, [], "88") is None


@pytest.mark.parametrize(("name", "country"), [
    ("Lithuania", True), ("the Netherlands", True), ("Russia", True), ("Britain", True),
    ("United States", True), ("Türkiye", True), ("Turkey", True),
    ("Klaipėda", False), ("Budapest", False), ("Lyon", False), ("Espoo", False),
])
def test_which_country_is_answered_by_a_country_not_its_city(name: str, country: bool) -> None:
    assert is_country(name) is country


def test_a_country_is_picked_out_of_city_and_country() -> None:
    assert answer("In which country was the satellite built?", "Espoo, Finland") == "Finland"
    assert answer("In which country was the satellite built?", "Espoo") is None
    assert answer("Where was the satellite built?", "Espoo") == "Espoo"
