"""Briefings: what's new in a period, the main stories, one cited line each (docs/timelines.md,
"Briefings").

``span`` reads the period ("24h", "7d", "this week", a date), ``detect`` tells a question
that asks for one, ``build`` makes the Briefing with the timeline's machinery (``rag.timeline``).
"""

from rag.briefing.detect import asks_for_briefing
from rag.briefing.span import briefing_window, since_day

__all__ = ["asks_for_briefing", "briefing_window", "since_day"]
