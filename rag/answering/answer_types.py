"""What kind of answer a question asks for (a number, a date), and whether a sentence has one.

"How much will the plant cost?" is answered by a sentence with an amount in it, not by the
sentence most like the question; when no retrieved sentence has one, the articles don't say.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from rag.date_words import MONTHS, WEEKDAYS

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
    rf"\b(?:1[5-9]\d\d|20\d\d|{MONTHS}|{WEEKDAYS}|today|tonight|yesterday|tomorrow|spring|"
    r"summer|autumn|fall|winter|(?:next|last|this|coming) (?:week|month|year|decade)"
    r"|\d+ (?:days?|weeks?|months?|years?) (?:ago|later|from now)|soon|later this)\b",
    re.IGNORECASE)


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


# --- what kind of span answers a question (named-entity labels, spaCy's OntoNotes scheme) ----
PERSON_LABELS = frozenset({"PERSON"})
ORG_LABELS = frozenset({"ORG"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
DATE_LABELS = frozenset({"DATE", "TIME"})
NUMBER_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
MONEY_LABELS = frozenset({"MONEY"})
PERCENT_LABELS = frozenset({"PERCENT"})
DURATION_LABELS = frozenset({"DATE", "TIME", "QUANTITY", "CARDINAL"})
THING_LABELS = frozenset({"WORK_OF_ART", "EVENT", "PRODUCT", "LAW", "ORG", "FAC", "NORP",
                          "LANGUAGE"})


def _heads(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The noun after "which"/"what" tells the asked type ("which Tory MP" -> a person).
_HEAD_TYPES: tuple[tuple[frozenset[str], str, frozenset[str]], ...] = (
    (_heads("mp mps person people man men woman women designer actor actress singer star stars "
            "player players leader president minister senator judge candidate candidates ceo "
            "founder author writer artist musician rapper celebrity athlete footballer coach "
            "manager politician politicians official governor mayor king queen prince princess "
            "lawmaker lawmakers chancellor billionaire director producer host presenter comedian "
            "chef journalist scientist astronaut pope monarch royal tycoon entrepreneur suspect "
            "winner champion golfer quarterback pitcher driver boxer spokesman spokesperson "
            "ambassador commander son daughter wife husband mother father brother sister peer "
            "mvp nominee justice prosecutor lawyer attorney heir owner musician rapper legend "
            "icon businessman businesswoman rep senators contender "
            "contenders secretary members member coaches celebrities figures individual "
            "individual's philanthropist activist activists stars singers actors"), "person",
     PERSON_LABELS),
    (_heads("company companies firm firms retailer retailers airline airlines team teams club "
            "clubs party parties network networks brand brands bank banks agency agencies "
            "organization organisation organizations university universities college colleges "
            "school schools union unions carrier chain maker manufacturer automaker carmaker "
            "startup giant corporation publisher newspaper broadcaster channel platform "
            "platforms app website league conference studio label charity institution "
            "department ministry committee council regulator supermarket insurer operator "
            "provider exchange lender streamer outlet outlets magazine band bands gallery museum "
            "partner"), "organisation",
     ORG_LABELS),
    (_heads("country countries nation nations city cities state states island islands region "
            "town towns county province continent capital village location place sea ocean "
            "river lake mountain park airport port border district territory neighborhood "
            "neighbourhood suburb street building landmark property palace castle stadium venue "
            "prison hospital coast peninsula desert forest bridge area spot"), "place",
     PLACE_LABELS),
    (_heads("year date day month decade century"), "date", DATE_LABELS),
    (_heads("price cost sum fine salary budget fee bill compensation worth payout"), "money",
     MONEY_LABELS | frozenset({"CARDINAL"})),
    (_heads("percentage percent proportion share"), "percent",
     PERCENT_LABELS | frozenset({"CARDINAL"})),
    (_heads("number amount age score total magnitude height distance speed population figure "
            "temperature count margin rate"), "number", NUMBER_LABELS),
    (_heads("show shows film films movie movies series book books song songs album award "
            "awards prize event festival tournament game games play program programme novel "
            "documentary drama sitcom podcast painting law laws bill act treaty agreement "
            "legislation product products device phone car vehicle drug vaccine language religion "
            "ruling variant holiday genre"), "thing", THING_LABELS),
)
_WH_HEAD = re.compile(r"\b(?:which|what)\s+((?:[\w’'-]+\s+){0,5}[\w’'-]+)", re.IGNORECASE)
_SKIP = frozenset({"name", "names", "of", "these", "those", "the", "following", "two", "three"})
_AUXILIARIES = _heads("is was are were be been did does do has have had will would can could "
                      "should may might must shall")
_WHO = re.compile(r"\b(?:who|whom|whose)\b", re.IGNORECASE)
_WHERE = re.compile(r"\bwhere\b", re.IGNORECASE)
_WHEN = re.compile(r"(?:^|[.,;:?!]\s+)when\b|\bwhat time\b", re.IGNORECASE)
_HOW = re.compile(r"\bhow (much|many|old|long|far|big|large|high|tall|fast|often)\b",
                  re.IGNORECASE)
_MONEY_WORDS = re.compile(r"\b(?:cost|costs|pay|paid|price|worth|spend|spent|fine|raise|raised|"
                          r"dollars?|pounds?|euros?|sell|sold|earn|earned|budget)\b",
                          re.IGNORECASE)


@dataclass(frozen=True)
class AskedType:
    """The kind of span a question asks for, as entity labels; ``labels`` empty = any span.

    >>> asked_type("Which Tory MP has resigned from a senior role?").name
    'person'
    >>> asked_type("A volcano erupted on which Japanese island on Sunday?").name
    'place'
    >>> sorted(asked_type("How much does a gallon of gas cost?").labels)
    ['CARDINAL', 'MONEY']
    >>> asked_type("Which major change will soon be introduced to Netflix?").name
    'any'
    >>> asked_type("Who is the coach of Iran's U-20 team?").focus
    'coach'
    """

    name: str
    labels: frozenset[str] = frozenset()
    # The noun the question asks about ("coach" in "Who is the coach of ...?"); the answer is
    # often right beside it ("Coach Hossein Abdi").
    focus: str | None = None
    # More than one answer is asked for ("which two countries", "who scored the goals").
    plural: bool = False
    # Answers the question offers to choose from ("between Iran and Japan"), lower-cased.
    options: tuple[str, ...] = ()


ANY = AskedType("any")
_PLURAL = re.compile(r"\b(?:which|what) (?:two|three|four|five)\b|\bboth\b|"
                     r"\bwho (?!is\b|was\b|has\b)\w+ (?:the|their|all) \w+(?<!s)s\b",
                     re.IGNORECASE)
_OPTIONS = re.compile(r"\bbetween (?:the )?([\w’' .-]+?) and (?:the )?([\w’' .-]+?)(?=[?,.;]|$)|"
                      r"\b([A-Z][\w’'.-]*(?: [A-Z][\w’'.-]*)*) or ([A-Z][\w’'.-]*"
                      r"(?: [A-Z][\w’'.-]*)*)")
_WHO_IS = re.compile(r"\bwho (?:is|was|are|were|will be|has been) (?:the|a|an|its|their) "
                     r"(?:new |current |former |next )?([a-z][\w-]+)", re.IGNORECASE)


def asked_type(question: str) -> AskedType:
    """What kind of span answers ``question``: who -> person, which <noun> -> the noun's type,
    where -> place, when -> date, how many/much -> number or money; else any span. Also whether
    it asks for several, and the options it names ("between A and B").

    >>> asked_type("Who won the match between Iran and Japan?").options
    ('iran', 'japan')
    >>> asked_type("Who scored the goals against Indonesia?").plural
    True
    """
    kind = _asked_kind(question)
    options = _OPTIONS.search(question)
    named = tuple(x.strip().lower() for x in (options.groups() if options else ()) if x)
    focus_plural = bool(kind.focus and kind.focus.endswith("s") and not kind.focus.endswith("ss"))
    return dataclasses.replace(kind, plural=focus_plural or bool(_PLURAL.search(question)),
                               options=named)


def _asked_kind(question: str) -> AskedType:
    how = _HOW.search(question)
    if how:
        word = how.group(1).lower()
        if word == "much":
            money = _MONEY_WORDS.search(question)
            return (AskedType("money", MONEY_LABELS | frozenset({"CARDINAL"})) if money
                    else AskedType("number", NUMBER_LABELS))
        if word in ("long", "old", "often"):
            return AskedType("duration", DURATION_LABELS)
        return AskedType("number", NUMBER_LABELS)
    for match in _WH_HEAD.finditer(question):
        words = [w.lower().strip("’'") for w in match.group(1).split()]
        if words[:2] in (["is", "the"], ["was", "the"], ["are", "the"], ["were", "the"]):
            words = words[2:]
        for word in words:
            if word in _AUXILIARIES:  # "what did the council approve": no noun asked about
                break
            if word in _SKIP:
                continue
            for heads, name, labels in _HEAD_TYPES:
                if word in heads:
                    return AskedType(name, labels, word)
    if _WHEN.search(question) or expected_type(question) == DATE:
        return AskedType("date", DATE_LABELS)
    if _WHERE.search(question):
        return AskedType("place", PLACE_LABELS)
    if _WHO.search(question):
        who_is = _WHO_IS.search(question)
        return AskedType("person", PERSON_LABELS | ORG_LABELS,
                         who_is.group(1).lower() if who_is else None)
    if expected_type(question) == NUMBER:
        return AskedType("number", NUMBER_LABELS)
    return ANY
