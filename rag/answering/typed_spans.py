"""Whether a span the trained reader found is of the kind the question asks for.

"In which country was the satellite built?" is not answered by "2014", nor "How many children
took part?" by "Lyon", however sure the reader is. The question's asked type
(rag/answering/answer_types.py) is reduced to a coarse class: a name (who, which company, team,
country, where), a date (when, what year) or a number (how many, how much). The small
named-entity model tells these classes apart well but often mistakes one kind of name for
another with invented or foreign names ("Valmora Shipping" as a person), so only the class is
checked. A span fits when it is, holds or lies inside exactly one entity of its class (the answer
is then that entity: "the coastal town of Keta" -> "Keta", "Rasmussen" -> "Mette Rasmussen"),
or, for a name, when no entity covers it and it is capitalised. A question of no particular type
takes any span as it is.

>>> from rag.answering.answer_types import asked_type
>>> from rag.answering.spans import Span
>>> entities = [Span("Keta", 24, 28, "GPE"), Span("2014", 32, 36, "DATE")]
>>> typed_span(asked_type("Where was the film shot?"), 4, 28, entities)
(24, 28)
>>> typed_span(asked_type("Where was the film shot?"), 32, 36, entities) is None
True
>>> typed_span(asked_type("What did the jury say?"), 4, 28, entities)
(4, 28)
"""

from __future__ import annotations

import re

from rag.answering.answer_types import AskedType
from rag.answering.countries import is_country
from rag.answering.spans import Span

NAME, DATE, NUMBER = "name", "date", "number"
_CLASS_OF_LABEL = {
    **dict.fromkeys(("PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "WORK_OF_ART", "EVENT",
                     "PRODUCT", "LAW", "LANGUAGE"), NAME),
    **dict.fromkeys(("DATE", "TIME"), DATE),
    **dict.fromkeys(("CARDINAL", "QUANTITY", "MONEY", "PERCENT"), NUMBER),
}
_CLASS_OF_ASKED = {"person": NAME, "organisation": NAME, "place": NAME, "thing": NAME,
                   "date": DATE, "money": NUMBER, "percent": NUMBER, "number": NUMBER}
_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
_DIGIT = re.compile(r"\d")
_COUNTRY_WORDS = frozenset({"country", "countries", "nation", "nations"})
# Overlap, as a share of the entity, for a span that only partly covers it.
MIN_OVERLAP = 0.5


def asked_class(asked: AskedType) -> str | None:
    """``"name"``, ``"date"``, ``"number"`` or None (no constraint: "what", durations)."""
    return _CLASS_OF_ASKED.get(asked.name)


def typed_span(asked: AskedType, start: int, end: int, entities: list[Span],
               text: str = "") -> tuple[int, int] | None:
    """Offsets of the answer ``start:end`` stands for when it fits ``asked``, None when it does
    not; ``entities`` are in the same coordinates as the span, ``text`` is the span's text."""
    wanted = asked_class(asked)
    if wanted is None:
        return start, end
    covering = [e for e in entities if _covers(start, end, e)]
    fitting = [e for e in covering if _CLASS_OF_LABEL.get(e.label) == wanted
               and _fits_focus(asked, e.text)]
    if len(fitting) == 1:
        return fitting[0].start, fitting[0].end
    if fitting or covering:
        return None
    # No entity found there: the model misses many invented names, never a date or a number.
    if wanted == NAME and text[:1].isupper() and not _DIGIT.search(text) \
            and _fits_focus(asked, text):
        return start, end
    return None


def _fits_focus(asked: AskedType, text: str) -> bool:
    """"What year" is answered by a year, "which country" by a country (not its city)."""
    if asked.focus == "year":
        return bool(_YEAR.search(text))
    if asked.focus in _COUNTRY_WORDS:
        return is_country(text)
    return True


def _covers(start: int, end: int, entity: Span) -> bool:
    overlap = min(end, entity.end) - max(start, entity.start)
    if overlap <= 0:
        return False
    inside = entity.start <= start and end <= entity.end
    holds = start <= entity.start and entity.end <= end
    return inside or holds or overlap >= MIN_OVERLAP * (entity.end - entity.start)
