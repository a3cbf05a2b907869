"""The trained short-answer reader (rag/answering/span_reader.py, trained_reader.py): the shipped
model's checksums and offline load, what it reads, and its threshold: a short answer below it
is never shown in bold."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import REPO

from rag.answering.span_reader import FOLDER, MODELS, ReaderModelError, SpanReader, checked
from rag.types import Answer


@pytest.fixture(scope="module")
def reader() -> SpanReader:
    return SpanReader()


def test_the_shipped_model_matches_its_pinned_checksums_and_loads_offline() -> None:
    models, tokenizer = checked()
    assert [m.name for m in models] == [name for name, _ in MODELS] and len(models) == 2
    assert all(m.stat().st_size > 10_000_000 for m in models) and tokenizer.is_file()
    # A fresh interpreter, offline, nothing in the model cache: the package alone answers.
    code = ("from rag.answering.span_reader import SpanReader\n"
            "r = SpanReader()\n"
            "print(r.read('Which team did Iran beat?', "
            "['Iran defeated Indonesia 3-0 on Tuesday.'])[0].text)\n")
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "NEWS_RAG_MODEL_CACHE": "/nonexistent", "HOME": "/nonexistent"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Indonesia"


@pytest.mark.parametrize("model_file", [name for name, _ in MODELS])
def test_a_changed_model_file_is_refused_by_name(tmp_path: Path, model_file: str) -> None:
    copy = tmp_path / "reader_model"
    shutil.copytree(FOLDER, copy)
    data = bytearray((copy / model_file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / model_file).write_bytes(bytes(data))
    with pytest.raises(ReaderModelError, match=model_file):
        SpanReader(copy)
    (copy / model_file).unlink()
    with pytest.raises(ReaderModelError, match="missing"):
        SpanReader(copy)


def test_both_models_read_and_their_logits_are_averaged(reader: SpanReader) -> None:
    """Each model alone reads the answer; the reader's logits are the mean of theirs."""
    question, window = "Which team did Iran beat?", "Iran defeated Indonesia 3-0 on Tuesday."
    enc = reader.tokenizer.encode(question, window)
    feeds = {"input_ids": np.array([enc.ids]), "attention_mask": np.array([enc.attention_mask]),
             "token_type_ids": np.array([enc.type_ids])}
    runs = [s.run(["start_logits", "end_logits"], feeds) for s in reader.sessions]
    assert len(runs) == 2 and not np.allclose(runs[0][0], runs[1][0])  # two different models
    for session in reader.sessions:  # each alone finds the answer
        alone = copy.copy(reader)
        alone.sessions = [session]
        assert alone.read(question, [window])[0].text == "Indonesia"
    starts, ends = reader._logits(feeds)
    assert np.allclose(starts, (runs[0][0] + runs[1][0]) / 2)
    assert np.allclose(ends, (runs[0][1] + runs[1][1]) / 2)


@pytest.mark.parametrize(("question", "window", "answer"), [
    ("Which team did Iran beat in the opening match?",
     "Iran defeated Indonesia 3-0 in the opening match on Tuesday.", "Indonesia"),
    ("Who is the coach of the national team?",
     "The national team, coached by Hossein Abdi since 2021, left for Doha on Sunday.",
     "Hossein Abdi"),
    ("When did the team leave for Doha?",
     "The national team, coached by Hossein Abdi since 2021, left for Doha on Sunday.",
     "Sunday"),
    ("How many homes will the turbines supply?",
     "Officials said the new turbines will supply about 80,000 homes from next spring.",
     "80,000"),
    ("How much did Norvale Energy pay for the station?",
     "Norvale Energy paid $2.4 billion for the tidal power station in March.", "$2.4 billion"),
    ("Where was the tidal power station built?",
     "The tidal power station was built in Harbour City by Norvale Energy.", "Harbour City"),
])
def test_it_reads_the_answer_of_each_kind(reader: SpanReader, question: str, window: str,
                                          answer: str) -> None:
    found = reader.read(question, [window])[0]
    assert found is not None
    assert answer in found.text and len(found.text) <= 2 * len(answer) + 8, found
    assert found.probability > found.no_answer


def test_a_window_that_does_not_say_scores_below_one_that_does(reader: SpanReader) -> None:
    question = "Which team did Iran beat in the opening match?"
    says, silent = reader.read(question, [
        "Iran defeated Indonesia 3-0 in the opening match on Tuesday.",
        "Ticket sales for the tournament opened in March, organisers said.",
    ])
    assert says is not None
    assert silent is None or silent.probability < says.probability / 2


def test_span_probability_scores_the_right_span_above_a_wrong_one(reader: SpanReader) -> None:
    window = "Iran defeated Indonesia 3-0 in the opening match on Tuesday."
    question = "Which team did Iran beat in the opening match?"
    at, on = window.index("Indonesia"), window.index("Tuesday")
    right = reader.span_probability(question, window, at, at + len("Indonesia"))
    wrong = reader.span_probability(question, window, on, on + len("Tuesday"))
    assert right > 0.3 > wrong


def test_below_the_threshold_the_answer_shows_evidence_without_a_bold_claim(
        sample_index_dir, embedder) -> None:
    from rag import Config, RagSystem

    def ask(**config) -> Answer:
        return RagSystem(Config(index_dir=sample_index_dir, **config),
                         embedder=embedder).ask("Who is the coach of Iran's U-20 team?")

    shown = ask(short_answer_threshold=0.0)
    assert shown.short_answer and 0 < shown.short_answer_score < 1
    assert shown.short_answer in shown.citations[0].quote
    for silent in (ask(short_answer_threshold=1.0),
                   ask(short_answer_threshold=shown.short_answer_score + 1e-6)):
        assert silent.short_answer is None and silent.short_answer_score is None
        assert not silent.abstained and silent.citations
        # Unsure, the evidence is led by the spaCy spans' reader, which cites the coach first.
        assert "Hossein Abdi" in silent.citations[0].quote
    assert ask(short_answer_threshold=shown.short_answer_score).short_answer == shown.short_answer


def test_read_ranked_gives_the_best_span_first_then_the_runners_up(reader: SpanReader) -> None:
    window = "Norvale Energy paid $2.4 billion for the tidal power station in March."
    ranked = reader.read_ranked("How much did Norvale Energy pay?", [window], most=5)[0]
    assert 1 < len(ranked) <= 5
    assert ranked[0] == reader.read("How much did Norvale Energy pay?", [window])[0]
    probabilities = [s.probability for s in ranked]
    assert probabilities == sorted(probabilities, reverse=True)
    assert len({(s.start, s.end) for s in ranked}) == len(ranked)
    assert all(window[s.start:s.end] == s.text for s in ranked)


@pytest.mark.parametrize("titles", [True, False])
def test_the_llm_answers_backing_reads_the_window_as_the_fast_reader_does(
        reader: SpanReader, titles: bool) -> None:
    """``TrainedShortReader.support`` (the LLM path's gate) reads a sentence's window headed by
    its article's title when ``reader_titles`` is on, as ``candidates`` does."""
    from rag.answering.trained_reader import TrainedShortReader, heading, window_of
    from rag.articles import Article
    from rag.chunking import Chunk
    from rag.config import Config
    from rag.index.base import Hit
    from rag.scoring import ScoredSentence

    text = ("Valmora Shipping opened a depot in Porto. The company was founded in 1998 by two "
            "brothers. It now runs twelve ships.")
    article = Article(title="Valmora Shipping turns 25", text=text, id="v1")
    hit = Hit(Chunk("v1", 0, 0, len(text), text, article.title), article, 1.0)
    start = text.index("The company")
    sentence = ScoredSentence(hit, start, text.index(" It now"), text[start:text.index(" It")],
                              1.0, 1.0, np.zeros(2, dtype=np.float32))
    trained = TrainedShortReader(Config(reader_titles=titles), reader)
    at = text.index("1998")
    a, b = window_of(sentence, {}, trained.config.reader_context)
    head = heading(article.title) if titles else ""
    expected = reader.span_probability("When was the company founded?", head + text[a:b],
                                       at - a + len(head), at + 4 - a + len(head))
    got = trained.support("When was the company founded?", sentence, at, at + 4)
    assert got == pytest.approx(expected) and got > 0.5
