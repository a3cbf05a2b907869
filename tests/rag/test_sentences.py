"""Sentence spans: exact character offsets, line breaks end sentences."""

from __future__ import annotations

import pytest

from rag.sentences import sentence_spans


def test_spans_slice_back_to_sentences() -> None:
    text = "Dr. Smith arrived at 5 p.m. on Monday. He spoke briefly.  Then he left!"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Smith arrived at 5 p.m. on Monday.", "He spoke briefly.", "Then he left!"]


def test_line_breaks_end_sentences_and_blank_lines_vanish() -> None:
    text = "Headline without stop\n\n  • First bullet\n• Second bullet. With two sentences.\n\n"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Headline without stop", "First bullet", "Second bullet.", "With two sentences."]


def test_list_markers_are_not_part_of_the_sentence() -> None:
    text = "- Dash item here.\n3) Numbered item here.\n2025 was a year."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Dash item here.", "Numbered item here.", "2025 was a year."]


def test_offset_shifts_spans() -> None:
    article = "Intro sentence. Target one. Target two."
    start = article.index("Target")
    spans = sentence_spans(article[start:], offset=start)
    assert [article[s:e] for s, e in spans] == ["Target one.", "Target two."]


@pytest.mark.parametrize("text", [
    "Émile a dit « bonjour ». Ça va ? Oui !",
    "Zürich’s “mayor” said: prices rose 3.5%. Markets fell…",
    "日本は勝った。イランは負けた。",
    "No punctuation at all here",
])
def test_unicode_offsets_are_exact(text: str) -> None:
    spans = sentence_spans(text)
    assert spans
    for s, e in spans:
        piece = text[s:e]
        assert piece == piece.strip() and piece
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")


def test_empty_and_whitespace() -> None:
    assert sentence_spans("") == []
    assert sentence_spans(" \n\t\n ") == []
