"""Each followed topic's briefing, stored (``rag.feeds.topics``): the main stories on the topic
over its period, built by the background sync after a sync that changed the collection's
articles and whenever the stored one is out of date, and served as it is while it is fresh.

One JSON document per topic, kept by the collection's feed state (``topic_briefings``: a table
of ``feeds.sqlite``, or of the collection's PostgreSQL schema, so every server serves the same
one), written in one transaction. It is fresh while it still answers the topic: the same text
and period, the same window (the day has not turned), the same index (its generation: no
article added, changed or deleted since) and the same settings. A missing, unreadable or stale
one is rebuilt, never an error.

>>> FollowedTopics.__name__
'FollowedTopics'
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rag.briefing.span import DEFAULT_SINCE, briefing_window
from rag.errors import BadInputError, RagError
from rag.feeds.briefs import (
    briefing_settings,
    served_from_store,
    stored_answer,
    stored_window,
)
from rag.feeds.stores import index_feed_store
from rag.feeds.topics import FollowedTopic, TopicState, check_period, check_topic
from rag.retrieval.dates import reference_day
from rag.types import Answer

if TYPE_CHECKING:
    from rag.system import RagSystem

log = logging.getLogger("rag.feeds")

# The stored document's layout; one of another version is rebuilt.
VERSION = 1


@dataclass(frozen=True)
class StoredTopicBriefing:
    """A followed topic's briefing as stored: its ``answer`` (``briefing.built_at`` set), the
    ``topic`` and ``since`` it was built for, the ``window`` read (ISO days), the index's
    ``generation`` when it was built, and the ``settings`` that shape a briefing."""

    topic_id: int
    topic: str
    since: str
    answer: Answer
    window: tuple[str, str]
    generation: int
    settings: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "topic_id": self.topic_id, "topic": self.topic,
                "since": self.since, "window": list(self.window),
                "generation": self.generation, "settings": self.settings,
                "answer": self.answer.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> StoredTopicBriefing:
        """The stored briefing ``data`` holds; anything else is a ValueError (or KeyError,
        TypeError) saying what is wrong."""
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a stored topic briefing of version {VERSION}")
        window = stored_window(data)
        topic, since, generation = data["topic"], data["since"], data["generation"]
        if not (isinstance(topic, str) and isinstance(since, str)
                and isinstance(generation, int) and isinstance(data["settings"], dict)):
            raise ValueError("bad topic, since, generation or settings")
        return cls(int(data["topic_id"]), topic, since, stored_answer(data, topic), window,
                   generation, data["settings"])


class FollowedTopics:
    """The topics ``system``'s collection follows, kept by ``store`` (its feed state), and
    their stored briefings. A read-only index's briefings are read, never written.

    >>> import tempfile, pathlib
    >>> from rag.feeds.state import FeedStore
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> topics = FollowedTopics(None, FeedStore(folder / "feeds.sqlite"))  # following only
    >>> topic = topics.follow("Iran nuclear talks")
    >>> (topic.id, topic.topic, topic.since), topics.follow(" iran NUCLEAR talks", "7d").since
    ((1, 'Iran nuclear talks', '24h'), '7d')
    >>> topics.remove(1).topic, topics.list()
    ('iran NUCLEAR talks', [])
    """

    def __init__(self, system: RagSystem, store: TopicState) -> None:
        self.system = system
        self.store = store

    # --- following -----------------------------------------------------------------------------
    def follow(self, topic: str, since: str | None = None) -> FollowedTopic:
        """Follow ``topic`` over the period ``since`` (default the last 24 hours); following it
        again changes its period (and its text's case) and keeps its id."""
        return self.store.follow_topic(check_topic(topic), since=check_period(since))

    def list(self) -> list[FollowedTopic]:
        return self.store.topics()

    def get(self, topic: int | str) -> FollowedTopic:
        """A followed topic by its id (as ``rag topics list`` shows it, a number) or its text;
        an unknown one is a BadInputError naming it."""
        found = (self.store.get_topic(int(topic)) if str(topic).strip().isdigit()
                 else self.store.find_topic(str(topic)))
        if found is None:
            raise BadInputError(f"no followed topic {topic!r}: `rag topics list` shows them")
        return found

    def remove(self, topic: int | str) -> FollowedTopic:
        """Stop following a topic (its id or text); its stored briefing goes with it."""
        found = self.get(topic)
        self.store.unfollow_topic(found.id)
        return found

    # --- stored briefings ----------------------------------------------------------------------
    def stored(self, topic: FollowedTopic) -> StoredTopicBriefing | None:
        """The topic's stored briefing; None when there is none, or when it cannot be read as
        one (logged, and rebuilt by whoever asks next)."""
        try:
            text = self.store.read_topic_briefing(topic.id)
            if text is None:
                return None
            found = StoredTopicBriefing.from_json(json.loads(text))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the stored briefing of topic %s (%s: %s): it will be rebuilt",
                        topic.id, type(exc).__name__, exc)
            return None
        return found if found.topic_id == topic.id else None

    def window(self, since: str) -> tuple[str, str]:
        """The window of the period ``since`` today (the config's reference day, else
        today)."""
        start, end = briefing_window(since, None, reference_day(
            self.system.config.reference_date)).to_iso()
        assert start is not None and end is not None
        return start, end

    def is_fresh(self, stored: StoredTopicBriefing, topic: FollowedTopic) -> bool:
        """Whether ``stored`` still answers ``topic``: its text and period, today's window, the
        index as it is (no write since) and the settings."""
        return ((stored.topic, stored.since) == (topic.topic, topic.since)
                and stored.window == self.window(topic.since)
                and stored.generation == self.system.index.generation()
                and stored.settings == briefing_settings(self.system.config))

    def briefing(self, topic: int | str) -> Answer:
        """The briefing of a followed topic (its id or text) over its period: the stored one
        when fresh (``briefing.cached`` true), else built now (and stored). An unknown topic is
        a BadInputError naming it, as is an empty index."""
        started = time.perf_counter()
        found = self.get(topic)
        stored = self.stored(found)
        if stored is not None and self.is_fresh(stored, found):
            return served_from_store(stored.answer, started)
        return self.build(found).answer

    def needs_refresh(self, topic: FollowedTopic) -> bool:
        """Whether :meth:`refresh` would build ``topic``'s briefing: the index can be written
        and the stored one is missing or stale."""
        if self.system.index.read_only:
            return False
        stored = self.stored(topic)
        return stored is None or not self.is_fresh(stored, topic)

    def refresh(self, topic: FollowedTopic) -> bool:
        """Build and store ``topic``'s briefing unless the stored one is fresh (or the index is
        read-only); True when it was built."""
        if not self.needs_refresh(topic):
            return False
        self.build(topic)
        return True

    def refresh_stale(self) -> int:
        """Rebuild every followed topic's briefing that is missing or stale, each under the
        topic's lease (with PostgreSQL, one server builds it; another skips it), rechecked once
        held. A topic that fails is logged and left to the next round. Returns how many were
        built."""
        built = 0
        for topic in self.list():
            try:
                if not self.needs_refresh(topic):
                    continue
                with self.store.topic_lease(topic.id) as held:
                    if held is not None and self.refresh(held):
                        built += 1
            except RagError as exc:  # an empty index...
                log.debug("no briefing of topic %s: %s", topic.id, exc)
            except Exception:
                log.exception("the briefing of topic %s failed", topic.id)
        return built

    def build(self, topic: FollowedTopic) -> StoredTopicBriefing:
        """``topic``'s briefing built now, stored when the index can be written (a failed
        write is logged: the briefing is still returned)."""
        generation = self.system.index.generation()  # before reading: a later write rebuilds
        window = self.window(topic.since)
        answer = self.system.brief(topic.since, topic=topic.topic)
        assert answer.briefing is not None
        built_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        answer = dataclasses.replace(answer, briefing=dataclasses.replace(
            answer.briefing, built_at=built_at, cached=False))
        stored = StoredTopicBriefing(topic.id, topic.topic, topic.since, answer, window,
                                     generation, briefing_settings(self.system.config))
        if not self.system.index.read_only:
            try:
                self.store.write_topic_briefing(topic.id, json.dumps(stored.to_json()),
                                                built_at=built_at)
            except Exception as exc:  # a full disk, the database away: served all the same
                log.warning("could not store the briefing of topic %s: %s", topic.id, exc)
        return stored


def brief_topic(system: RagSystem, topic: str, *, since: str | None = None,
                until: str | None = None, as_of: str | None = None,
                store: TopicState | None = None) -> Answer:
    """The briefing on ``topic`` as ``RagSystem.brief`` reads it, except that a topic the
    collection follows, asked over its period (``since`` unset, or a span giving the same
    window today) up to today, is its stored briefing when fresh (else built and stored).
    ``store``: the collection's feed state (default: the index's). `rag brief --topic`,
    ``POST /v1/brief``, MCP's ``briefing`` and the page all call it; over several collections
    no topic is followed (each follows its own)."""
    if len(system.collections) == 1 and not (until or "").strip() and not (as_of or "").strip():
        topics = FollowedTopics(system, store or index_feed_store(system.config))
        followed = topics.store.find_topic(topic) if isinstance(topic, str) else None
        if followed is not None and (not (since or "").strip() or topics.window(since or "")
                                     == topics.window(followed.since)):
            return topics.briefing(followed.id)
    return system.brief(since or DEFAULT_SINCE, until, topic=topic, as_of=as_of)
