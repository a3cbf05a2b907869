"""Whether a question asks what happened over a period or in the course of a story (a timeline),
by its words alone (no model), and the topic it asks about.

Conservative on purpose: news questions say "this week" or "since" all the time while asking
for one fact ("Which airline's pilots picketed this week?"), and those must be answered as
before. A question fires when it names a timeline ("timeline", "chronology"), asks what
happened or is new in a story ("what happened with X", "the latest on X", "developments in X",
"how has X unfolded") or asks for the news of a period ("news on X since June"). A question
that opens with a factoid word (who, which, when, where, why, how many, did, is...) never fires,
unless it is a request ("Can you give me a timeline of X?").
"""

from __future__ import annotations

import re

_FACTOID_OPENING = re.compile(
    r"^\s*(?:who|whom|whose|which|when|where|why|how (?:many|much|long|old|far|big|often)"
    r"|is|are|was|were|did|does|do|can|could|will|would|should|has|have|had)\b",
    re.IGNORECASE)
# A request phrased as a question ("Can you give me a timeline of X?") is no factoid.
_REQUEST = re.compile(r"^\s*(?:can|could|would|will) (?:you|u)\b", re.IGNORECASE)

# Names a timeline outright.
_NAMED = re.compile(
    r"\b(?:time ?lines?|chronolog(?:y|ies|ical(?:ly)?)|sequence of events|blow[- ]by[- ]blow"
    r"|(?:the )?story so far|(?:a |the )?recap(?: of)?|catch me up)\b",
    re.IGNORECASE)

# Asks what happened, or is new, in a story.
_HAPPENED = re.compile(
    r"\bwhat(?:'s| has| have| had| is| are)?(?: been)? (?:happen(?:ed|ing)|going on|new)\b"
    r"(?P<rest>.*)$",
    re.IGNORECASE)
# "What happened to the score?" asks about one thing; "What happened to Iran's team?" about a
# story: after "to", a timeline needs a name (a capital) or a period.
_ABOUT_A_STORY = re.compile(
    r"^\s*(?:with|in|at|on|about|for|regarding|around|between|after|since|over|during|this"
    r"|last|the past|so far"
    r"|recently|lately|today|yesterday)\b|^\s*[?.!]?\s*$", re.IGNORECASE)
_TO_A_NAME = re.compile(r"^\s*to\b.*?\b[A-Z]")

_COURSE = re.compile(
    r"\b(?:(?:the )?latest (?:on|about|in|with|from|regarding|news|developments|updates?)"
    r"|what(?:'s| is| are)(?: the)? latest"
    r"|(?:recent |latest |key |main |new |major )?developments (?:in|on|of|with|around|regarding"
    r"|concerning|about)"
    r"|(?:any )?(?:news|updates?) (?:on|about|from|regarding|concerning)\b.*\b(?:since|this|past"
    r"|last|lately|recently|so far|today)"
    r"|how (?:has|have|did|is|are) .{2,80}? (?:unfold(?:ed|ing)?|evolv(?:e|ed|ing)"
    r"|develop(?:ed|ing)?|progress(?:ed|ing)?|play(?:ed|ing)? out|turn(?:ed)? out over"
    r"|changed over)"
    r"|(?:summari[sz]e|sum up|tell me about|walk me through|brief me on|overview of)\b.*\b"
    r"(?:since|this week|this month|this year|past (?:few )?(?:days?|weeks?|months?|year)"
    r"|last (?:few )?(?:days|weeks|months)|so far|lately|recently|over time))",
    re.IGNORECASE)


def asks_for_timeline(question: str) -> bool:
    """Whether ``question`` asks for a timeline (see the module's docstring).

    >>> asks_for_timeline("What happened with Iran's water polo team since June?")
    True
    >>> asks_for_timeline("Which airline's pilots picketed this week?")
    False
    >>> asks_for_timeline("When did the storm hit Florida?")
    False
    """
    text = " ".join(question.split())
    if _FACTOID_OPENING.match(text) and not _REQUEST.match(text):
        return False
    if _NAMED.search(text):
        return True
    happened = _HAPPENED.search(text)
    if happened:
        rest = happened.group("rest")
        if _ABOUT_A_STORY.match(rest) or _TO_A_NAME.match(rest):
            return True
    return bool(_COURSE.search(text))


# Words that ask for the timeline, taken off the question to leave its topic.
_ASKING = re.compile(
    r"^\s*(?:(?:please|can you|could you|would you)\s+)?"
    r"(?:(?:give|show|tell|get|make|build) (?:me |us )?|i (?:want|need|would like) )?"
    r"(?:(?:a|the) )?(?:(?:short|brief|quick|full|detailed) )?"
    r"(?:time ?line|chronology|recap|summary|overview|rundown|story so far|sequence of events)"
    r"(?: of(?: events)?| for| on| about| in)?\s+"
    r"|^\s*(?:catch me up|brief me|walk me through|tell me about|summari[sz]e|sum up)"
    r"(?: on| about| with)?\s+"
    r"|^\s*what(?:'s| has| have| had| is| are)?(?: been)? (?:happen(?:ed|ing)|going on|new)"
    r"(?: (?:with|to|in|at|on|around|for|regarding))?\s*"
    r"|^\s*what(?:'s| is| are)(?: the)? latest(?: news| developments| updates?)?"
    r"(?: (?:on|about|in|with|for|from|regarding))?\s+"
    r"|^\s*(?:(?:the|any) )?(?:latest|recent|key|main|major|new)?\s*"
    r"(?:news|developments|updates?)(?: (?:on|about|in|of|with|around|regarding|concerning))?\s+"
    r"|^\s*how (?:has|have|did|is|are)\s+",
    re.IGNORECASE)
_TRAILING = re.compile(
    r"\s+(?:(?:has|have|had|is|are)\s+)?(?:unfold(?:ed|ing)?|evolv(?:e|ed|ing)|develop(?:ed|ing)?"
    r"|progress(?:ed|ing)?|play(?:ed|ing)? out|turned out|changed)\b.*$"
    r"|\s+(?:so far|lately|recently|over time|in order|in chronological order)\s*$",
    re.IGNORECASE)


def topic_of(question: str, phrase: str | None = None) -> str:
    """The topic of a timeline question: the words that ask for a timeline and the time
    ``phrase`` of its window taken off (the question itself if nothing is left).

    >>> topic_of("What happened with Iran's water polo team since June?", "since June")
    "Iran's water polo team"
    >>> topic_of("Give me a timeline of the Artemis I launch")
    'the Artemis I launch'
    >>> topic_of("How has the heat wave in Europe unfolded this week?", "this week")
    'the heat wave in Europe'
    """
    text = " ".join(question.split())
    if phrase:
        text = re.sub(rf"\s*(?:over |in |during |for |from )?{re.escape(phrase)}", " ", text,
                      count=1, flags=re.IGNORECASE)
    text = re.sub(r"[\s?!.:;,]+$", "", text.strip())
    for _ in range(2):  # "Give me the latest news on X": both openings
        text = _ASKING.sub("", text, count=1)
    text = _TRAILING.sub("", text)
    text = re.sub(r"^[\s,:;-]+|[\s?!.:;,-]+$", "", text)
    return text or " ".join(question.split())
