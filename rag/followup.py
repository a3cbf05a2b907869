"""Deterministic follow-up handling: a short follow-up borrows the previous question's topic."""

from __future__ import annotations

from rag.text import content_terms

SHORT_FOLLOWUP_TERMS = 4
_FOLLOWUP_OPENERS = ("and ", "what about", "how about", "also", "but ", "what else", "why",
                     "who else", "and?")


def condense_query(question: str, history: list[str] | None) -> str:
    """The retrieval query for ``question`` given the earlier questions of the conversation.

    >>> condense_query("and the jet engines?", ["What is Iran interested in?"])
    'What is Iran interested in? and the jet engines?'
    >>> condense_query("Who won the water polo match against Iran?", ["What about Bushehr?"])
    'Who won the water polo match against Iran?'
    """
    if not history:
        return question
    lowered = question.strip().lower()
    is_followup = (len(content_terms(question)) < SHORT_FOLLOWUP_TERMS
                   or lowered.startswith(_FOLLOWUP_OPENERS)
                   or any(f" {p} " in f" {lowered} " for p in ("it", "they", "them", "that",
                                                              "this", "he", "she", "its")))
    if not is_followup:
        return question
    return f"{history[-1].strip()} {question.strip()}"
