"""Each followed feed's briefing, stored: the main stories of the feed's articles over the
default period (``DEFAULT_SINCE``: the last 24 hours), built when a sync changes the feed's
articles (and by the background sync when the stored one is out of date), and served as it is
while it is fresh.

One JSON document per feed, kept by the feed state (``FeedState.write_briefing``): a file
``feed-briefings/<feed id>.json`` beside ``feeds.sqlite``, written whole (a temporary file in
that folder, then ``os.replace``); with pgvector a row of ``feed_briefings`` in the
collection's schema, so every server serves the same one. Either way a reader sees the old
briefing or the new one, never half of one. A stored briefing is fresh
while it still covers the feed: the same window (the day has not turned), the same articles
(``FeedStore.coverage``: none added, changed or removed), the same settings, and every article
it cites still in the index. A missing, unreadable or stale file is rebuilt, never an error.

>>> is_default_request("24h", None, "  ", None), is_default_request("7d", None, None, None)
(True, False)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer_json import answer_from_json
from rag.briefing.span import DEFAULT_SINCE, briefing_window
from rag.config import Config
from rag.feeds.state import (
    Feed,
    FeedCoverage,
    FeedState,
    feed_articles,
    followed_feed,
)
from rag.feeds.stores import index_feed_store
from rag.retrieval.dates import reference_day
from rag.types import Answer

if TYPE_CHECKING:
    from rag.system import RagSystem

log = logging.getLogger("rag.feeds")

FOLDER = "feed-briefings"  # beside feeds.sqlite (rag.feeds.state.BRIEFINGS_FOLDER)
# The stored file's layout; a file of another version is rebuilt.
VERSION = 1


@dataclass(frozen=True)
class StoredBriefing:
    """A feed's briefing as stored: its ``answer`` (``briefing.built_at`` set), the feed's
    ``coverage`` when it was built, the ``window`` read (ISO days) and the ``settings`` that
    shape a briefing."""

    feed_id: int
    answer: Answer
    coverage: FeedCoverage
    window: tuple[str, str]
    settings: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """What the file holds."""
        return {"version": VERSION, "feed_id": self.feed_id, "question": self.answer.question,
                "window": list(self.window), "coverage": dataclasses.asdict(self.coverage),
                "settings": self.settings, "answer": self.answer.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> StoredBriefing:
        """The stored briefing a file holds; anything else is a ValueError (or KeyError,
        TypeError) saying what is wrong."""
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a stored briefing of version {VERSION}")
        window = stored_window(data)
        coverage = FeedCoverage(**data["coverage"])
        if not isinstance(coverage.digest, str) or not isinstance(data["settings"], dict):
            raise ValueError("bad coverage or settings")
        answer = stored_answer(data, str(data["question"]))
        return cls(int(data["feed_id"]), answer, coverage, window, data["settings"])


def stored_window(data: dict[str, Any]) -> tuple[str, str]:
    """A stored briefing's ``window`` (two ISO days), else a ValueError."""
    window = data["window"]
    if not (isinstance(window, list) and len(window) == 2
            and all(isinstance(d, str) for d in window)):
        raise ValueError(f"bad window {window!r}")
    return window[0], window[1]


def stored_answer(data: dict[str, Any], question: str) -> Answer:
    """A stored briefing's answer, which must be a built briefing, else a ValueError."""
    answer = answer_from_json(data["answer"], question)
    if answer.briefing is None or answer.briefing.built_at is None:
        raise ValueError("the stored answer is not a built briefing")
    return answer


def briefing_settings(config: Config) -> dict[str, Any]:
    """The settings a stored briefing was built with: another value rebuilds it."""
    return {"embedding_model": config.embedding_model,
            "briefing_stories": config.briefing_stories,
            "briefing_same_story": config.briefing_same_story,
            "timeline_same_event": config.timeline_same_event,
            "abstain_threshold": config.abstain_threshold}


def is_default_request(since: str | None, until: str | None, topic: str | None,
                       as_of: str | None) -> bool:
    """Whether a briefing request asks for a feed's stored briefing: the default period
    (``since`` unset or ``DEFAULT_SINCE``), up to today, on no topic."""
    return ((since or "").strip() in ("", DEFAULT_SINCE) and not (until or "").strip()
            and not (topic or "").strip() and not (as_of or "").strip())


def served_from_store(answer: Answer, started: float) -> Answer:
    """A stored briefing ``answer`` as served: ``briefing.cached`` true and its total time the
    time since ``started`` (a ``time.perf_counter()`` reading), in milliseconds."""
    assert answer.briefing is not None
    return dataclasses.replace(
        answer, briefing=dataclasses.replace(answer.briefing, cached=True),
        timings_ms={"total": (time.perf_counter() - started) * 1000})


class FeedBriefings:
    """The stored briefings of the followed feeds of ``system``'s index, whose feed state is
    ``store``. A read-only index's are read, never written.

    >>> FeedBriefings.__name__
    'FeedBriefings'
    """

    def __init__(self, system: RagSystem, store: FeedState) -> None:
        self.system = system
        self.store = store

    def path(self, feed_id: int) -> Path:
        """The file of the feed's stored briefing (a store kept in files: ``FeedStore``)."""
        briefing_path = getattr(self.store, "briefing_path", None)
        if briefing_path is None:
            raise TypeError(f"{type(self.store).__name__} keeps no briefing files")
        return briefing_path(feed_id)

    def stored(self, feed_id: int) -> StoredBriefing | None:
        """The feed's stored briefing; None when there is none, or when it cannot be read as
        one (logged, and rebuilt by whoever asks next)."""
        try:
            text = self.store.read_briefing(feed_id)
            if text is None:
                return None
            found = StoredBriefing.from_json(json.loads(text))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the stored briefing %s (%s: %s): it will be rebuilt",
                        self.store.where(feed_id), type(exc).__name__, exc)
            return None
        return found if found.feed_id == feed_id else None

    def window(self) -> tuple[str, str]:
        """The default period's window today (the config's reference day, else today)."""
        since, until = briefing_window(DEFAULT_SINCE, None, reference_day(
            self.system.config.reference_date)).to_iso()
        assert since is not None and until is not None
        return since, until

    def is_fresh(self, stored: StoredBriefing) -> bool:
        """Whether ``stored`` still covers its feed: same window, articles and settings, and
        every article it cites still indexed."""
        briefing = stored.answer.briefing
        assert briefing is not None
        index = self.system.index
        return (stored.window == self.window()
                and stored.coverage == self.store.coverage(stored.feed_id)
                and stored.settings == briefing_settings(self.system.config)
                and all(index.get_article(i) is not None
                        for s in briefing.stories for i in s.source_ids))

    def briefing(self, feed: str | int) -> Answer:
        """The default briefing of ``feed`` (its id or URL): the stored one when fresh
        (``briefing.cached`` true), else built now (and stored). An unknown feed is a
        BadInputError naming it, as is an empty index."""
        started = time.perf_counter()
        found = followed_feed(self.store, feed)
        stored = self.stored(found.id)
        if stored is not None and self.is_fresh(stored):
            return served_from_store(stored.answer, started)
        return self.build(found).answer

    def refresh(self, feed: Feed) -> bool:
        """Build and store ``feed``'s briefing unless the stored one is fresh (or the index is
        read-only); True when it was built."""
        if not self.needs_refresh(feed):
            return False
        self.build(feed)
        return True

    def needs_refresh(self, feed: Feed) -> bool:
        """Whether :meth:`refresh` would build ``feed``'s briefing: the index can be written
        and the stored one is missing or stale."""
        if self.system.index.read_only:
            return False
        stored = self.stored(feed.id)
        return stored is None or not self.is_fresh(stored)

    def build(self, feed: Feed) -> StoredBriefing:
        """``feed``'s default briefing built now, stored when the index can be written (a
        failed write is logged: the briefing is still returned)."""
        coverage = self.store.coverage(feed.id)  # before reading: a later change rebuilds it
        window = self.window()
        answer = self.system.brief(DEFAULT_SINCE, articles=feed_articles(self.store, feed.id))
        assert answer.briefing is not None
        built_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        answer = dataclasses.replace(answer, briefing=dataclasses.replace(
            answer.briefing, built_at=built_at, cached=False))
        stored = StoredBriefing(feed.id, answer, coverage, window,
                                briefing_settings(self.system.config))
        if not self.system.index.read_only:
            try:
                self.store.write_briefing(feed.id, json.dumps(stored.to_json()))
            except Exception as exc:  # a full disk, the database away: served all the same
                log.warning("could not store the briefing of feed %s: %s", feed.id, exc)
        return stored

    def forget(self, feed_id: int) -> None:
        """Delete the feed's stored briefing (the feed is no longer followed)."""
        self.store.forget_briefing(feed_id)


def brief_feed(system: RagSystem, feed: str | int, *, since: str | None = None,
               until: str | None = None, topic: str | None = None, as_of: str | None = None,
               store: FeedState | None = None) -> Answer:
    """The briefing of the articles that followed ``feed`` (its id or URL) brought in, as
    ``RagSystem.brief`` reads it: for the default period up to today on no topic, the feed's
    stored briefing when fresh (else built and stored); for any other period, topic or day,
    built for this request. ``store``: the feed state (default: the index's). `rag brief
    --feed`, ``POST /v1/brief`` with ``feed``, MCP's ``briefing`` and the page all call it."""
    store = store or index_feed_store(system.config)
    if is_default_request(since, until, topic, as_of):
        return FeedBriefings(system, store).briefing(feed)
    return system.brief(since, until, topic=topic, as_of=as_of,
                        articles=feed_articles(store, feed))
