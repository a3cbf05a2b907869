"""Questions that ask for a number or a date are answered only by sentences that state one."""

from __future__ import annotations

import pytest

from rag.answering.answer_types import DATE, NUMBER, asked_type, expected_type, has_type


@pytest.mark.parametrize(("question", "kind"), [
    ("How much will the Bushehr nuclear plant cost?", NUMBER),
    ("How many people were arrested?", NUMBER),
    ("What percentage of Britons exercise weekly?", NUMBER),
    ("What interest rate did the central bank set?", NUMBER),
    ("By what score did Iran beat Indonesia?", NUMBER),
    ("What is the population of Zhaoqing?", NUMBER),
    ("When will the first factory open?", DATE),
    ("In what year did she take the throne?", DATE),
    ("Who won the water polo match?", None),
    ("Where is the nuclear plant being built?", None),
    ("How far back do the penalties go?", None),  # "pre-revolution era": not a number
    ("Which airline will fly the jets?", None),
])
def test_expected_type(question, kind):
    assert expected_type(question) == kind


@pytest.mark.parametrize(("sentence", "kind", "found"), [
    ("Iran lost to Japan 16-13.", NUMBER, True),
    ("Gas averaged five dollars a gallon.", NUMBER, True),
    ("The plant's cost has not been disclosed.", NUMBER, False),
    ("The factory will open in March.", DATE, True),
    ("It opens next year, officials said.", DATE, True),
    ("Carmakers are keen to enter the market.", DATE, False),
    ("Anything at all.", None, True),
])
def test_has_type(sentence, kind, found):
    assert has_type(sentence, kind) is found


@pytest.mark.slow
def test_a_number_question_the_articles_do_not_answer_abstains(sample_system):
    # On topic (the plant is in the sample) but no passage states a cost.
    assert sample_system.ask("How much will the Bushehr nuclear plant cost?").abstained
    answer = sample_system.ask("By what score did Iran lose to Japan in water polo?")
    assert not answer.abstained and "16-13" in answer.text


@pytest.mark.parametrize(("question", "name", "focus"), [
    ("Who is the coach of Iran's U-20 team?", "person", "coach"),
    ("Which Tory MP has resigned from a senior role?", "person", "mp"),
    ("Which technology company could be forced to pay compensation?", "organisation", "company"),
    ("A volcano erupted on which Japanese island on Sunday?", "place", "island"),
    ("Where in the US is it illegal to pump your own gas?", "place", None),
    ("When will Russian carmakers open their first factory in Iran?", "date", None),
    ("Bob Geldof criticised the use of what term when speaking to Radio Times?", "any", None),
    ("How many cabinet members did Boris Johnson lose?", "number", None),
    ("How much does it cost for a gallon of gas?", "money", None),
    ("For how long will the gas tax be suspended? How long?", "duration", None),
    ("What percentage of women in Britain do no vigorous weekly exercise?", "percent",
     "percentage"),
    ("Broadway's biggest stars were recognized at which prestigious awards show?", "thing",
     "awards"),
    ("Which major change will soon be introduced to Netflix?", "any", None),
])
def test_asked_type_maps_the_question_to_entity_labels(question, name, focus):
    kind = asked_type(question)
    assert (kind.name, kind.focus) == (name, focus)
    assert (kind.labels == frozenset()) == (name == "any")


def test_asked_type_labels_and_plurals():
    assert "PERSON" in asked_type("Who won the Mercury Prize?").labels
    assert {"GPE", "LOC"} <= asked_type("Which country is now bankrupt?").labels
    assert asked_type("Which two Pac-12 schools are leaving?").plural
    assert asked_type("Which two countries are forging closer ties?").plural
    assert not asked_type("Which country is now bankrupt?").plural
    assert asked_type("Who won the match between Iran and Japan?").options == ("iran", "japan")
    assert asked_type("Who won the match?").options == ()


def test_a_noun_after_the_verb_is_not_the_asked_kind():
    assert asked_type("What did the city council approve?").name == "any"
    assert asked_type("What is the hottest UK temperature on record?").name == "number"
