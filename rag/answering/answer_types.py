"""What kind of answer a question asks for (a number, a date), and whether a sentence has one.

"How much will the plant cost?" is answered by a sentence with an amount in it, not by the
sentence most like the question; when no retrieved sentence has one, the articles don't say.
"""

from __future__ import annotations

import re

NUMBER, DATE = "number", "date"

_ASKS_NUMBER = re.compile(
    r"\b(?:how (?:much|many|old|long|big|large|often)|by how much|by what (?:score|margin)"
    r"|what (?:[a-z]+ )?(?:percentage|percent|share|proportion|rate|number|amount|price|cost"
    r"|age|score|sum)"
    r"|(?:the|its|their) population)\b", re.IGNORECASE)
_ASKS_DATE = re.compile(r"^\s*(?:when\b|(?:in |on |by )?(?:what|which) (?:year|date|day|month)\b)",
                        re.IGNORECASE)

_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                 "fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
                 "sixty|seventy|eighty|ninety|hundred|thousand|million|billion|trillion|dozen|"
                 "half|twice|double|triple|percent")
_HAS_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})s?\b", re.IGNORECASE)
_HAS_DATE = re.compile(
    r"\b(?:1[5-9]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|"
    r"october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|today|tonight|yesterday|tomorrow|spring|summer|"
    r"autumn|fall|winter|(?:next|last|this|coming) (?:week|month|year|decade)|\d+ (?:days?|weeks?|"
    r"months?|years?) (?:ago|later|from now)|soon|later this)\b", re.IGNORECASE)


def expected_type(question: str) -> str | None:
    """``"number"``, ``"date"`` or None (anything else: no constraint).

    >>> expected_type("How much will the Bushehr nuclear plant cost?")
    'number'
    >>> expected_type("What interest rate did the central bank set?")
    'number'
    >>> expected_type("When will Russian carmakers open their first factory in Iran?")
    'date'
    >>> expected_type("Who won the water polo match?") is None
    True
    """
    if _ASKS_NUMBER.search(question):
        return NUMBER
    if _ASKS_DATE.search(question):
        return DATE
    return None


def has_type(sentence: str, kind: str | None) -> bool:
    """Whether ``sentence`` states something of ``kind`` (always True for no kind).

    >>> has_type("Iran lost to Japan 16-13.", "number"), has_type("Talks went well.", "number")
    (True, False)
    >>> has_type("The plant opens in March 2026.", "date")
    True
    """
    if kind == NUMBER:
        return bool(_HAS_NUMBER.search(sentence))
    if kind == DATE:
        return bool(_HAS_DATE.search(sentence) or _HAS_NUMBER.search(sentence))
    return True
