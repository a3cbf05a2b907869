"""Whether a question asks for a briefing, the period's news on no topic in particular ("What's
new?", "What's the news this week?", "Brief me", "News roundup"), by its words alone.

Conservative on purpose: the question must be only such a request and a period; anything
else left over is a topic ("What's new with the Artemis launch?" asks for a timeline,
``rag.timeline.detect``), and a factoid question never fires.
"""

from __future__ import annotations

import re

from rag.date_words import WEEKDAYS

_POLITE = r"(?:(?:ok(?:ay)?|hey|hi|so|and|please|now)[,!]?\s+)*"
_REQUEST = re.compile(
    rf"^\s*{_POLITE}(?:"
    r"what(?:'s| is| has been| was)? new"
    r"|what(?:'s| is| are)(?: the)?(?: latest| main| top| big(?:gest)?)? (?:news|headlines"
    r"|stories|top stories)"
    r"|what(?:'s| is| has been)? (?:happening|going on) in the (?:news|world)"
    r"|(?:(?:can|could|would) you\s+)?(?:please\s+)?brief me"
    r"|(?:(?:can|could|would) you\s+)?(?:please\s+)?(?:give|get|show|send) me (?:a |the |my )?"
    r"(?:(?:daily|weekly|quick|short|news)\s+)*(?:briefing|brief|round-?up|digest|rundown"
    r"|headlines|news|summary of the news|news summary)"
    r"|(?:(?:my|a|the|daily|weekly|quick|short)\s+)*(?:news )?(?:briefing|round-?up|digest)"
    r"|(?:today's|this week's|the day's|the week's|yesterday's) (?:news|headlines|top stories)"
    r"|(?:the )?(?:top|main) (?:news|stories|headlines)"
    r"|catch me up(?: on (?:the |today's |this week's )?news)?"
    r")(?P<rest>.*)$",
    re.IGNORECASE)
# What may follow the request: a period, "in the news", politeness; nothing that is a topic.
_PERIOD = (
    r"(?:in|on|from) the (?:news|world)|for me|for today|please|then|so far|lately|recently"
    r"|today|tonight|yesterday|this (?:morning|afternoon|evening|week(?:end)?|month)"
    r"|(?:in|over|during|for) the (?:last|past) (?:\d{1,3} |few |couple of )?"
    r"(?:hours?|days?|weeks?|24 hours)"
    r"|(?:in|over|during|for) the (?:last|past) (?:day|week|month)"
    rf"|since (?:yesterday|last week|this morning|(?:last )?(?:{WEEKDAYS})|my last visit)"
    r"|of the (?:day|week)|(?:daily|weekly)"
)
_REST = re.compile(rf"^(?:[\s,:;-]*(?:{_PERIOD})\b)*[\s?.!,]*$", re.IGNORECASE)


def asks_for_briefing(question: str) -> bool:
    """Whether ``question`` asks for the period's news on no particular topic.

    >>> asks_for_briefing("What's new this week?"), asks_for_briefing("Brief me")
    (True, True)
    >>> asks_for_briefing("What's new with Iran's water polo team?")
    False
    >>> asks_for_briefing("Which airline's pilots picketed this week?")
    False
    """
    text = " ".join(question.split())
    found = _REQUEST.match(text)
    return found is not None and _REST.match(found.group("rest")) is not None
