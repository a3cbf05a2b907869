"""The whole path on the sample corpus: cited answers, abstention, bad questions, LangChain.
The checks of the input (question, k, history, calendar ends) run on the fake embedder."""

from __future__ import annotations

import re

import pytest
from langchain_core.documents import Document

from rag import BadInputError, Config, IndexMismatchError, RagSystem, SearchFilters, ask
from rag.system import check_ask, check_history
from rag.types import Answer

RUSSIA_IRAN = "Russia and Iran Explore Strategic Partnership"
WATER_POLO = "Iran Falls to Japan"

# question, title of the story that must be cited, fact that must be in the answer
ANSWERED = [
    ("What is Iran interested in, according to Overchuk?", RUSSIA_IRAN, "aviation"),
    ("Where is the nuclear plant being built?", RUSSIA_IRAN, "Bushehr"),
    ("Who won the water polo match between Iran and Japan?", WATER_POLO, "Japan"),
]


def assert_well_cited(system: RagSystem, answer: Answer) -> None:
    markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer.text)})
    assert markers == [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        article = system.index.get_article(c.article_id)
        assert article is not None and article.title == c.title
        assert article.text[c.start:c.end] == c.quote
        assert c.quote in answer.text


@pytest.mark.parametrize(("question", "story", "fact"), ANSWERED)
def test_example_questions_cite_the_right_story(sample_system: RagSystem, question: str,
                                                story: str, fact: str) -> None:
    answer = sample_system.ask(question)
    assert not answer.abstained, answer.text
    assert answer.citations
    assert answer.citations[0].title.startswith(story)
    assert fact.lower() in answer.text.lower()
    assert any(fact.lower() in c.quote.lower() for c in answer.citations)
    assert_well_cited(sample_system, answer)
    assert answer.passages and answer.passages[0].title.startswith(story)
    assert {"retrieve", "answer", "total"} <= set(answer.timings_ms)


ABDI = "Abdi Calls for Greater Performance"
# question, the short answer expected, title of the story whose sentence must hold it
SHORT = [
    ("Who is the coach of Iran's U-20 team?", "Hossein Abdi", ABDI),
    ("Who scored the goals against Indonesia?",
     "Hesam Nafari, Esmaeil Gholizadeh, and Mobin Dehghan", ABDI),
    ("What was the final score of the water polo match?", "16-13", WATER_POLO),
    ("Who won the water polo match between Iran and Japan?", "Japan", WATER_POLO),
    ("Where is the nuclear plant being built?", "Bushehr", RUSSIA_IRAN),
]


@pytest.fixture(scope="module")
def rules_system(sample_index_dir, embedder) -> RagSystem:
    """The sample with the rules short-answer reader (``short_reader=rules``), which these
    questions were written for."""
    return RagSystem(Config(index_dir=sample_index_dir, short_reader="rules"), embedder=embedder)


@pytest.mark.parametrize(("question", "short", "story"), SHORT)
def test_short_answer_is_a_span_of_its_first_citation(rules_system: RagSystem, question: str,
                                                       short: str, story: str) -> None:
    answer = rules_system.ask(question)
    assert answer.short_answer == short, answer.text
    evidence = answer.citations[0]
    assert answer.short_answer_citation() == evidence
    assert evidence.title.startswith(story)
    assert short in evidence.quote
    assert_well_cited(rules_system, answer)
    assert answer.to_json()["short_answer"] == short
    assert isinstance(answer.short_answer_score, float)
    assert answer.to_json()["short_answer_score"] == round(answer.short_answer_score, 4)
    assert len(answer.passages) <= rules_system.config.top_k + len(answer.citations)


@pytest.mark.parametrize("question", [q for q, _, _ in SHORT])
def test_a_trained_short_answer_is_a_span_of_its_first_citation(sample_index_dir, embedder,
                                                                question: str) -> None:
    system = RagSystem(Config(index_dir=sample_index_dir, short_answer_threshold=0.0),
                       embedder=embedder)
    answer = system.ask(question)
    assert answer.short_answer and 0.0 <= answer.short_answer_score <= 1.0
    evidence = answer.citations[0]
    assert answer.short_answer_citation() == evidence
    assert answer.short_answer in evidence.quote
    assert_well_cited(system, answer)


def test_unsupported_question_abstains(sample_system: RagSystem) -> None:
    answer = sample_system.ask("What did the sides say about the Moscow metro?")
    assert answer.abstained and answer.to_json()["short_answer_score"] is None
    assert answer.citations == []
    assert "don't say" in answer.text
    assert answer.passages  # what was looked at is still shown


@pytest.mark.parametrize("question", ["", "   \n\t ", "why? " * 2000])
def test_empty_or_absurdly_long_question(fake_sample_system: RagSystem, question: str) -> None:
    with pytest.raises(BadInputError, match="question"):
        fake_sample_system.ask(question)


def test_ask_entry_point_with_index_dir(sample_index_dir, embedder) -> None:
    answer = ask("Where is the nuclear plant being built?", index_dir=sample_index_dir)
    assert "Bushehr" in answer.text
    data = answer.to_json()
    assert data["answer"] == answer.text and data["citations"][0]["quote"]


def test_filters_restrict_the_sources(sample_system: RagSystem) -> None:
    polo = next(a.id for a, _ in sample_system.index.list_articles()
                if a.title.startswith(WATER_POLO))
    answer = sample_system.ask("Where is the nuclear plant being built?",
                               filters=SearchFilters(article_ids=(polo,)))
    assert {p.article_id for p in answer.passages} == {polo}
    assert "Bushehr" not in answer.text


def test_langchain_retriever_gives_documents_with_metadata(sample_system: RagSystem) -> None:
    docs = sample_system.langchain_retriever(k=3).invoke("water polo championship Japan")
    assert 0 < len(docs) <= 3
    assert all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.metadata["title"].startswith(WATER_POLO)
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    for d in docs:
        article = sample_system.index.get_article(d.metadata["article_id"])
        assert article is not None and article.title == d.metadata["title"]
        assert article.text[d.metadata["start"]:d.metadata["end"]] == d.page_content


def test_chain_is_a_runnable_from_question_to_answer(sample_system: RagSystem) -> None:
    chain = sample_system.chain()
    assert chain is sample_system.chain()  # built once per answer backend
    config = sample_system.config
    answer = chain.invoke(check_ask(config, "What is Iran interested in, according to Overchuk?",
                                    k=4))
    assert isinstance(answer, Answer)
    assert "aviation" in answer.text.lower()
    assert len(answer.passages) <= 4
    assert {"retrieve", "answer"} <= set(answer.timings_ms)
    [batched] = chain.batch([check_ask(config, "What did the sides say about the Moscow metro?")])
    assert batched.abstained


def test_ask_after_update_sees_new_text(writable_sample_system: RagSystem) -> None:
    from rag.articles import Article

    system = writable_sample_system
    story = next(a for a, _ in system.index.list_articles() if a.title.startswith(RUSSIA_IRAN))
    edited = Article(title=story.title, text=story.text.replace("Bushehr", "Darkhovin"),
                     id=story.id, origin=story.origin)
    assert system.ingest([edited]).updated == 1
    answer = system.ask("Where is the nuclear plant being built?")
    assert "Darkhovin" in answer.text and "Bushehr" not in answer.text
    assert_well_cited(system, answer)


def test_index_of_another_model_is_refused(sample_index_dir, embedder) -> None:
    config = Config(index_dir=sample_index_dir, embedding_model="other-model")
    with pytest.raises(IndexMismatchError) as exc:
        RagSystem(config, embedder=embedder)
    message = str(exc.value)
    assert "'all-MiniLM-L6-v2+onnx-int8' (384 dims)" in message
    assert "'other-model+onnx-int8'" in message
    assert str(sample_index_dir) in message


# --- issue 17: ordinary-looking questions never crash -----------------------------------------
@pytest.mark.parametrize("k", [-1, 0, "5", 2.5, True])
def test_a_bad_k_is_named(fake_sample_system: RagSystem, k) -> None:
    with pytest.raises(BadInputError, match=f"k is {re.escape(repr(k))}"):
        fake_sample_system.ask("Where is the nuclear plant being built?", k=k)
    with pytest.raises(BadInputError, match="k is"):
        list(fake_sample_system.ask_stream("Where is the plant?", k=k))


@pytest.mark.parametrize(("question", "as_of"), [
    ("What happened in December 9999?", None),
    ("What happened in 9999?", None),
    ("What happened this week?", "9999-12-31"),
    ("What happened yesterday?", "0001-01-01"),
    ("What happened in January 0001?", None),
])
def test_dates_at_the_ends_of_the_calendar_do_not_overflow(fake_sample_system: RagSystem,
                                                           question: str, as_of) -> None:
    answer = fake_sample_system.ask(question, reference_date=as_of)
    assert isinstance(answer.text, str)


def test_a_lone_surrogate_or_control_characters_are_cleaned(sample_system: RagSystem) -> None:
    answer = sample_system.ask("Where is the nuclear \ud800plant\x1b[2J being built?\u202e")
    assert answer.question == "Where is the nuclear plant[2J being built?"
    assert "Bushehr" in answer.text
    with pytest.raises(BadInputError, match="empty"):
        sample_system.ask("\ud800\udfff\x07")


def test_history_is_checked_like_the_question(sample_system: RagSystem) -> None:
    follow_up = "and the jet engines?"
    huge = "Russia " * 300_000  # 2.1 MB: refused by name, never sent to a model
    for run in (sample_system.ask, lambda q, **kw: list(sample_system.ask_stream(q, **kw))):
        with pytest.raises(BadInputError, match=r"^history\[1\] \(an earlier question\) is "
                                                r"2,099,999 characters long; the limit is 2,000"):
            run(follow_up, history=["What is Iran interested in?", huge])
        with pytest.raises(BadInputError, match=r"^history\[0\] .* must be text, not int"):
            run(follow_up, history=[7])
        with pytest.raises(BadInputError, match="history must be a list"):
            run(follow_up, history="What is Iran interested in?")
    # A lone surrogate or terminal escape is cleaned away, as in the question.
    answer = sample_system.ask(follow_up, history=["What is Iran \ud800interested\x1b in?"])
    assert f"searched for: What is Iran interested in? {follow_up}" in answer.notes
    assert answer.citations and RUSSIA_IRAN in answer.citations[0].title


def test_only_the_last_history_turns_are_kept(fake_sample_system: RagSystem) -> None:
    limit = fake_sample_system.config.max_history_turns
    older = ["x" * 5000, 3]  # beyond the kept turns: never read, so never refused
    recent = [f"Question {i}?" for i in range(limit)]
    config = fake_sample_system.config
    assert check_history([*older, *recent], config) == recent
    assert check_history([*recent, "  ", "\ud800"], config) == recent[2:]
    assert check_history(None, config) == []
