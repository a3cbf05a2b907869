"""Sentence spans with character offsets, from blingfire's sentence model.

>>> text = "Dr. Smith arrived. He spoke.\\n• A bullet"
>>> [text[s:e] for s, e in sentence_spans(text)]
['Dr. Smith arrived.', 'He spoke.', 'A bullet']
"""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\n]+")
# A list marker is layout, not part of the sentence a citation quotes.
_BULLET = re.compile(r"^(?:[•·▪‣◦●○■□\-*–—]|\d{1,2}[.)])\s+")


def sentence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each sentence; a line break always ends a sentence (bullets, headings)."""
    import blingfire

    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        segment = line.group()
        if not segment.strip():
            continue
        base = line.start()
        _, offsets = blingfire.text_to_sentences_and_offsets(segment)
        for start, end in offsets:
            # blingfire reports byte-free character offsets; trim stray whitespace.
            piece = segment[start:end]
            lead = len(piece) - len(piece.lstrip())
            bullet = _BULLET.match(piece[lead:])
            if bullet:
                lead += bullet.end()
            trail = len(piece) - len(piece.rstrip())
            if end - trail > start + lead:
                spans.append((offset + base + start + lead, offset + base + end - trail))
    return spans
