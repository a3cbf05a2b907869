"""Which sentences of an article can be a timeline's line: whole sentences that report
something, not a headline, a photo caption, a video widget's text or a piece of a sentence the
splitter cut at an abbreviation ("Roe v." / "Wade decision that ...").
"""

from __future__ import annotations

import re

MIN_LINE_WORDS = 6
# Words whose full stop does not end a sentence (the splitter sometimes cuts after them).
_ABBREVIATIONS = {"v", "vs", "mr", "mrs", "ms", "dr", "st", "gen", "sen", "rep", "gov", "lt",
                  "col", "sgt", "capt", "jr", "sr", "no", "mt", "ft", "prof", "rev", "adm"}
_ENDS = re.compile(r"[.!?][\"'”’)\]]*$")
_LAST_WORD = re.compile(r"([\w.]+)\.[\"'”’)\]]*$")
_BOILERPLATE = re.compile(
    r"JUST WATCHED|MUST WATCH|Replay More Videos|Click here|Sign up for|Subscribe to"
    r"|\bRead more\b|\bWatch:|\bPhotos?:|\bVideo:|\(Photo|Getty Images|\bAP Photo\b",
    re.IGNORECASE)


def is_event_sentence(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` (a sentence of an article's ``text``) can be a timeline's
    line: at least ``MIN_LINE_WORDS`` words, ending as a sentence ends, neither cut after an
    abbreviation nor starting where such a cut left off, and no page furniture.

    >>> article = "The US Supreme Court overturned Roe v. Wade on Friday, ending a right."
    >>> is_event_sentence(article, 0, len(article))
    True
    >>> is_event_sentence(article, 0, 38), is_event_sentence(article, 39, len(article))
    (False, False)
    >>> caption = "Queen Elizabeth II on a royal tour in Mexico in 1983"
    >>> is_event_sentence(caption, 0, len(caption))
    False
    """
    sentence = text[start:end].strip()
    if len(sentence.split()) < MIN_LINE_WORDS or not _ENDS.search(sentence):
        return False
    if _BOILERPLATE.search(sentence) or _cut_after_abbreviation(sentence):
        return False
    return not _cut_after_abbreviation(text[max(0, start - 40):start].rstrip())


def _cut_after_abbreviation(text: str) -> bool:
    """Whether ``text`` ends with an abbreviation's full stop or an initial ("J.")."""
    last = _LAST_WORD.search(text)
    if last is None:
        return False
    word = last.group(1).split()[-1].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())
