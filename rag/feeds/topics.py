"""Followed topics: a collection follows a phrase ("Iran nuclear talks") over a period (its
``since``: "24h" by default, "7d", "this week"...), and keeps that topic's briefing current
(``rag.feeds.topic_briefs``). They are kept beside the collection's feeds, by the same store
(:class:`TopicState`: the ``topics`` and ``topic_briefings`` tables of ``feeds.sqlite``, or of
the collection's PostgreSQL schema).

A topic is known by its text, compared without case or extra spaces (:func:`topic_key`):
following "iran  nuclear TALKS" again changes the period of "Iran nuclear talks".

>>> topic_key("  Iran   nuclear TALKS "), check_topic("Iran\\u202e nuclear\\ttalks")
('iran nuclear talks', 'Iran nuclear talks')
>>> check_period(" 7D ")
'7d'
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from rag.articles import clean_line
from rag.briefing.span import DEFAULT_SINCE, briefing_window
from rag.errors import BadInputError

# A followed topic is a phrase, not a question: it is shown in menus and lists.
MAX_TOPIC_CHARS = 200


@dataclass(frozen=True)
class FollowedTopic:
    """A topic a collection follows: its ``id`` (the collection's own), the ``topic`` as
    followed, the period of its briefing (``since``, read by ``rag.briefing.briefing_window``),
    when it was followed (epoch seconds) and when its stored briefing was last built (UTC,
    ISO 8601; None: not yet)."""

    id: int
    topic: str
    since: str
    added_at: float
    built_at: str | None = None

    @property
    def key(self) -> str:
        return topic_key(self.topic)

    @property
    def period(self) -> str:
        """Its period in words.

        >>> [FollowedTopic(1, "x", s, 0.0).period for s in ("24h", "2022-09-01", "this week")]
        ['the last 24h', 'since 2022-09-01', 'this week']
        """
        if re.fullmatch(r"\d{4}[-/].*", self.since):
            return f"since {self.since}"
        return f"the last {self.since}" if self.since[:1].isdigit() else self.since


def topic_key(topic: str) -> str:
    """What tells two followed topics apart: the text on one line, casefolded."""
    return clean_line(topic).casefold()


def check_topic(topic: object) -> str:
    """A topic to follow, on one line; empty, not text or over ``MAX_TOPIC_CHARS`` is a
    BadInputError naming it."""
    if not isinstance(topic, str):
        raise BadInputError(f"the topic must be text, not {type(topic).__name__}")
    text = clean_line(topic)
    if not text:
        raise BadInputError("the topic is empty: give a phrase to follow, such as "
                            "'Iran nuclear talks'")
    if len(text) > MAX_TOPIC_CHARS:
        raise BadInputError(f"the topic is {len(text):,} characters long; a followed topic "
                            f"is at most {MAX_TOPIC_CHARS}")
    return text


def check_period(since: str | None) -> str:
    """The period of a followed topic's briefing: a span (24h, 7d, 2w, this week...) or a
    first day (YYYY-MM-DD, not after today), checked as a briefing's ``since`` is; None or
    blank: the default (``DEFAULT_SINCE``)."""
    text = " ".join((since or "").split()).lower() or DEFAULT_SINCE
    briefing_window(text, None, date.today())  # a BadInputError naming it
    return text


class TopicState(Protocol):
    """Where a collection's followed topics and their stored briefings are kept (the feed
    state's store: ``rag.feeds.state.FeedStore``, ``rag.feeds.pg_state.PostgresFeedStore``).
    Every method is one transaction. A store made before topics existed is read as following
    none, and gains its tables on the first write.

    >>> import tempfile, pathlib
    >>> from rag.feeds.state import FeedStore
    >>> state: TopicState = FeedStore(pathlib.Path(tempfile.mkdtemp()) / "feeds.sqlite")
    >>> topic = state.follow_topic("Iran nuclear talks", since="7d")
    >>> [(t.id, t.topic, t.since) for t in state.topics()]
    [(1, 'Iran nuclear talks', '7d')]
    >>> state.find_topic("IRAN  nuclear talks") == topic
    True
    """

    shared: bool

    def follow_topic(self, topic: str, *, since: str) -> FollowedTopic:
        """Follow ``topic`` (checked text); one followed already (same :func:`topic_key`) has
        its text and period updated and keeps its id."""
        ...

    def topics(self) -> list[FollowedTopic]: ...

    def get_topic(self, topic_id: int) -> FollowedTopic | None: ...

    def find_topic(self, topic: str) -> FollowedTopic | None:
        """The followed topic whose key is ``topic``'s, or None."""
        ...

    def unfollow_topic(self, topic_id: int) -> None:
        """Stop following it; its stored briefing goes with it."""
        ...

    def topic_lease(self, topic_id: int) -> contextlib.AbstractContextManager[
            FollowedTopic | None]:
        """The topic, held by this process until the block ends, or None when another
        process holds it (or it is no longer followed): one server builds a shared topic's
        briefing at a time."""
        ...

    def read_topic_briefing(self, topic_id: int) -> str | None:
        """The topic's stored briefing (JSON text), None when there is none."""
        ...

    def write_topic_briefing(self, topic_id: int, text: str, *, built_at: str) -> None:
        """Store the topic's briefing whole (nothing when the topic is no longer followed)."""
        ...
