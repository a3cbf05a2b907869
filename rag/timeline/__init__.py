"""Timeline answers: what happened in a story, oldest first, one cited line per event
(docs/timelines.md).

``detect`` tells a timeline question by its words, ``window`` reads the period it asks about,
``dating`` the day each event happened, ``group`` which passages report one event, and
``build`` makes the Timeline from passages retrieved wide in the window.
"""

from rag.timeline.detect import asks_for_timeline, topic_of

__all__ = ["asks_for_timeline", "topic_of"]
