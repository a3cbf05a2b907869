"""The order an undated article tells its events in, read from the tenses of its sentences.

An article without a date cannot place its events on days, but its verbs still say what came
first. What it says *had* happened (past perfect: "had beaten") came before what happened
(simple past: "lost to Japan"); what someone said about it (a verb of saying in the past:
"noted", "praised") came after it happened; what is happening or is to come (present, future:
"runs until March 2", "await the next challenges") comes last. Within one tense the article's
own order stands. Each sentence's tense is its main verb's, with its auxiliaries, as spaCy's
tagger and parser read them (the ``ner_model`` pipeline, rag/nlp.py); a sentence with no
finite main verb keeps its place after the sentence before it.

One reading stretches the grammar on purpose: a sentence whose main verb is "had" ("Iran had
impressive victories against South Korea") is read with the past perfect, as what came before
the reported happening. In news that sums up an earlier stretch (the group stage before the
loss); it is wrong for "Iran had a match on Monday and lost".

>>> story_order(["Iran lost to Japan 16-13.", "Iran had beaten Uzbekistan 33-9.",
...              "The tournament runs until March 2."])
[1, 0, 2]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from rag.nlp import DEFAULT_MODEL, load_pipeline

# The tiers, earliest first.
BEFORE = 0  # past perfect: "had beaten", "had been beaten"; and "had" as the main verb
PAST = 1  # simple past, past passive or progressive, present perfect: "lost", "has won"
REMARK = 2  # a verb of saying in the past: "noted", "praised", "said"
NOW = 3  # present, future, a present modal: "runs", "is set to", "will play", "aim to"
TIER_NAMES = {BEFORE: "before", PAST: "past", REMARK: "remark", NOW: "now"}

# Verbs of saying (lemmas): in a report, what was said about a happening came after it.
SAYING = frozenset({
    "say", "tell", "note", "add", "state", "stress", "emphasize", "emphasise", "underline",
    "praise", "acknowledge", "admit", "explain", "insist", "warn", "urge", "claim", "remark",
    "comment", "describe", "argue", "suggest", "mention", "express", "reaffirm", "reiterate",
    "criticize", "criticise", "discuss", "address", "conclude", "thank", "vow", "pledge",
    "deny", "recall", "complain", "concede", "hail", "welcome", "call", "defend"})
# Modals of the past ("would face Japan") as against the present and future ("will", "can").
_PAST_MODALS = frozenset({"would", "could", "might"})
_PARSE = ("ner",)  # the components a tense needs: tagger, parser, lemmatizer
_lock = threading.Lock()


def tense_tier(root: Any) -> int | None:
    """The tier of a clause by its head verb ``root`` (a spaCy token) and its auxiliaries;
    None when the head is no verb or its form tells no time (a bare infinitive, a gerund)."""
    if root.pos_ not in ("VERB", "AUX"):
        return None
    auxes = [c for c in root.children if c.dep_ in ("aux", "auxpass")]
    words = {a.lower_ for a in auxes}
    if "had" in words or (not auxes and root.lower_ == "had" and root.tag_ == "VBD"):
        return BEFORE
    modal = next((a for a in auxes if a.tag_ == "MD"), None)
    if modal is not None:
        return PAST if modal.lower_ in _PAST_MODALS else NOW
    finite = next((a for a in auxes if a.tag_ in ("VBD", "VBZ", "VBP")), None)
    if finite is not None:
        if finite.tag_ == "VBD":
            return PAST
        # "has won": the present perfect reports what happened; "is playing", "are set": now.
        return PAST if finite.lemma_ == "have" and root.tag_ == "VBN" else NOW
    if root.tag_ == "VBD":
        return REMARK if root.lemma_.lower() in SAYING else PAST
    if root.tag_ in ("VBZ", "VBP"):
        return NOW
    return None


def sentence_tiers(sentences: Sequence[str], model: str = DEFAULT_MODEL) -> list[int | None]:
    """Each sentence's tier (None: no tense read), by its main clause (the parse's first
    root), read with the spaCy pipeline ``model``."""
    if not sentences:
        return []
    nlp = load_pipeline(model, exclude=_PARSE)
    with _lock:  # one pipeline shared by threads (the server's)
        docs = list(nlp.pipe(list(sentences), batch_size=64))
    return [tense_tier(next((t for t in doc if t.dep_ == "ROOT"), doc[0])) if len(doc) else None
            for doc in docs]


def story_order(sentences: Sequence[str], model: str | None = DEFAULT_MODEL) -> list[int]:
    """The indexes of an article's ``sentences`` (given in the article's order) in the order
    of what they report: by tier (:data:`BEFORE`, :data:`PAST`, :data:`REMARK`, :data:`NOW`),
    the article's order within one; a sentence without a tense takes the tier of the one
    before it (the first: :data:`PAST`). Without a ``model``, the article's order.

    >>> story_order(["Iran defeated Indonesia 3-0.", "Coach Hossein Abdi noted the team could "
    ...              "have performed better.", "Goals from Nafari and Dehghan secured the win."])
    [0, 2, 1]
    >>> story_order(["b", "a"], model=None)
    [0, 1]
    """
    if not model:
        return list(range(len(sentences)))
    tiers: list[int] = []
    for tier in sentence_tiers(sentences, model):
        tiers.append(tier if tier is not None else tiers[-1] if tiers else PAST)
    return sorted(range(len(sentences)), key=lambda i: (tiers[i], i))
