"""Which sentences can be a timeline's line (rag/timeline/lines.py)."""

from __future__ import annotations

import pytest

from rag.timeline.lines import is_event_sentence

ROE = "The US Supreme Court overturned Roe v. Wade on Friday, ending a constitutional right."


@pytest.mark.parametrize(("sentence", "ok"), [
    ("Hurricane Ian slammed into Cuba early Tuesday as a Category 3 storm.", True),
    ('"We are ready," the mayor said on Monday.', True),
    ("Officials closed the tunnel after a leak (the second this year).", True),
    ("Britain honored the life of Queen Elizabeth II with a state funeral on Monday!", True),
    # Headlines and captions do not end as sentences do.
    ("TIMELINE:Queen Elizabeth II dies at 96: Her life, royal reign", False),
    ("Queen Elizabeth II on a royal tour in Mexico in 1983", False),
    # Too short to say what happened.
    ("Sixty-six percent say so.", False),
    # Page furniture.
    ("JUST WATCHED How to tell if you have monkeypox Replay More Videos ...", False),
    ("MUST WATCH Hear why officials are urging people to take heat wave seriously 01:19.", False),
    ("Sign up for our newsletter to get the news every morning.", False),
])
def test_a_line_is_a_whole_sentence_that_reports(sentence: str, ok: bool) -> None:
    assert is_event_sentence(sentence, 0, len(sentence)) is ok


def test_pieces_of_a_sentence_cut_at_an_abbreviation_are_not_lines() -> None:
    cut = ROE.index("Wade")
    assert not is_event_sentence(ROE, 0, cut - 1)  # "... overturned Roe v."
    assert not is_event_sentence(ROE, cut, len(ROE))  # "Wade on Friday, ..."
    assert is_event_sentence(ROE, 0, len(ROE))
    text = "Sanctions hit the U.S. The embassy closed its doors on Monday after protests."
    assert is_event_sentence(text, text.index("The embassy"), len(text))
