"""What ask() returns: an Answer with numbered Citations and the Passages it was chosen from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any, Literal

from rag.config import DEFAULT_COLLECTION


@dataclass(frozen=True)
class SourceRef:
    """Another article carrying the same (syndicated) story as a cited one."""

    article_id: str
    title: str
    source: str | None = None
    url: str | None = None
    published_at: str | None = None


def source_refs(articles: Iterable[Any]) -> tuple[SourceRef, ...]:
    """SourceRefs of Articles (e.g. ``Hit.duplicates``)."""
    return tuple(SourceRef(a.id, a.title, a.source, a.url, a.published_at) for a in articles)


@dataclass(frozen=True)
class Citation:
    """Citation ``[n]``: the exact sentence ``quote`` at ``start:end`` of the article's text."""

    n: int
    article_id: str
    title: str
    quote: str
    start: int
    end: int
    source: str | None = None
    url: str | None = None
    published_at: str | None = None
    verified: bool = True
    # Near-duplicate copies of the cited article (same wire story, other sites).
    also_in: tuple[SourceRef, ...] = ()
    # The collection whose index holds the article (docs/collections.md).
    collection: str = DEFAULT_COLLECTION

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"citation numbers start at 1, got {self.n}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad citation span {self.start}:{self.end}")

    def to_json(self) -> dict[str, Any]:
        """The citation as ``Answer.to_json()`` and the chat completions' ``citations`` show
        it."""
        return {"n": self.n, "article_id": self.article_id, "title": self.title, "url": self.url,
                "published_at": self.published_at, "quote": self.quote, "source": self.source,
                "start": self.start, "end": self.end, "verified": self.verified,
                "also_in": [asdict(r) for r in self.also_in], "collection": self.collection}


DateSource = Literal["stated", "published", "undated"]
DATE_SOURCES: tuple[DateSource, ...] = ("stated", "published", "undated")


@dataclass(frozen=True)
class TimelineEvent:
    """One event of a timeline: its ``day`` (ISO ``YYYY-MM-DD``), whether that day is the one
    its sentence states (``"stated"``, resolved against the article's publication date) or the
    article's publication date (``"published"``), the sentence ``text`` that reports it with its
    ``citation``, and the ``sources`` (articles, wire copies included) that reported it, by id.
    With an LLM backend and ``timeline_headlines`` on, a ``headline``: a few words the model
    wrote that the sentence supports (one line; None: no headline, and no ``"headline"`` key in
    its JSON).

    An event of an article without a publication date, whose sentence states no date with its
    year, is ``"undated"``: its ``day`` is None, and ``stated`` is the date its sentence states,
    as it states it ("until March 2"; None: it states none, and no ``"stated"`` key in its
    JSON). Undated events are in the order their articles report them (docs/timelines.md).

    >>> c = Citation(1, "a", "Polo", "Japan won 16-13.", 0, 16)
    >>> e = TimelineEvent("2025-02-27", "published", c.quote, c, 2, ("a", "b"))
    >>> e.to_json()["sources"], e.to_json()["citation"]["n"], "headline" in e.to_json()
    (2, 1, False)
    >>> TimelineEvent("2025-02-27", "published", c.quote, c, 2, ("a", "b"),
    ...               headline="Japan beat Iran").to_json()["headline"]
    'Japan beat Iran'
    >>> u = TimelineEvent(None, "undated", c.quote, c, 1, ("a",), stated="until March 2")
    >>> u.to_json()["day"], u.to_json()["date_source"], u.to_json()["stated"]
    (None, 'undated', 'until March 2')
    """

    day: str | None
    date_source: DateSource
    text: str
    citation: Citation
    sources: int
    source_ids: tuple[str, ...]
    headline: str | None = None
    stated: str | None = None

    def __post_init__(self) -> None:
        if self.date_source not in DATE_SOURCES:
            raise ValueError(f"date_source must be 'stated', 'published' or 'undated', not "
                             f"{self.date_source!r}")
        if self.date_source == "undated":
            if self.day is not None:
                raise ValueError(f"an undated event has no day, not {self.day!r}")
        else:
            try:
                ok = (isinstance(self.day, str) and len(self.day) == 10
                      and date.fromisoformat(self.day).isoformat() == self.day)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"an event's day is an ISO date (YYYY-MM-DD), not {self.day!r}")
            if self.stated is not None:
                raise ValueError("only an undated event shows its date as stated; a dated "
                                 f"one has its day, not {self.stated!r}")
        if self.sources < 1:
            raise ValueError(f"an event has at least one source, got {self.sources}")
        if self.headline is not None and not is_one_line(self.headline):
            raise ValueError(f"an event's headline is one line of text without spaces around "
                             f"it, not {self.headline!r}")
        if self.stated is not None and not is_one_line(self.stated):
            raise ValueError(f"an event's stated date is one line of text without spaces "
                             f"around it, not {self.stated!r}")

    def to_json(self) -> dict[str, Any]:
        """The event as the ``timeline`` part of ``Answer.to_json()`` shows it (``headline``
        only when it has one, ``stated`` only when an undated event's sentence states a
        date)."""
        return {"day": self.day, "date_source": self.date_source, "text": self.text,
                "sources": self.sources, "source_ids": list(self.source_ids),
                "citation": self.citation.to_json(),
                **({} if self.headline is None else {"headline": self.headline}),
                **({} if self.stated is None else {"stated": self.stated})}


def is_one_line(text: object) -> bool:
    """Whether ``text`` is a non-empty line with no surrounding spaces (a headline).

    >>> is_one_line("Queen dies at Balmoral"), is_one_line(" a"), is_one_line("a\\nb")
    (True, False, False)
    """
    return (isinstance(text, str) and bool(text) and text == text.strip()
            and len(text.splitlines()) == 1)


@dataclass(frozen=True)
class Headlines:
    """What a model wrote as the headlines of a timeline's events: one per event, in order
    (None: no headline for that event), the ``unsupported`` ones its sentence did not
    support (removed), ``notes`` on what was removed or went wrong, the model's reply
    (``draft``), the ``backend`` that wrote it and the call's time in ``ms``.

    >>> Headlines(("Japan beat Iran", None), backend="llamacpp").kept
    1
    """

    headlines: tuple[str | None, ...]
    unsupported: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    draft: str | None = None
    backend: str = "extractive"
    ms: float = 0.0

    @property
    def kept(self) -> int:
        """How many events got a headline."""
        return sum(h is not None for h in self.headlines)


@dataclass(frozen=True)
class Timeline:
    """The events of a ``topic`` in a window (``since``/``until``: ISO dates, None: open),
    oldest first, each cited; ``Answer.timeline`` of a timeline answer. A timeline of undated
    events (none could be dated) has them in the order their articles report them, and a
    ``note`` saying so (None: no note, and no ``"note"`` key in its JSON); one of them whose
    sentence states its date with the year still has that day.

    >>> Timeline("Iran water polo", "2025-02-01", None, ()).to_json()
    {'topic': 'Iran water polo', 'since': '2025-02-01', 'until': None, 'events': []}
    """

    topic: str
    since: str | None
    until: str | None
    events: tuple[TimelineEvent, ...] = ()
    note: str | None = None

    def __post_init__(self) -> None:
        if self.note is not None and not is_one_line(self.note):
            raise ValueError(f"a timeline's note is one line of text without spaces around "
                             f"it, not {self.note!r}")

    @property
    def undated(self) -> bool:
        """Whether its events are in the order their articles report them, not by day (they
        are undated; one whose sentence states its date with the year has that day).

        >>> Timeline("t", None, None, ()).undated
        False
        """
        return any(e.date_source == "undated" for e in self.events)

    def to_json(self) -> dict[str, Any]:
        """The ``timeline`` part of ``Answer.to_json()``."""
        return {"topic": self.topic, "since": self.since, "until": self.until,
                "events": [e.to_json() for e in self.events],
                **({} if self.note is None else {"note": self.note})}


@dataclass(frozen=True)
class BriefingStory:
    """One story of a briefing: its line ``headline_text`` (the most central sentence of its
    articles, cited by ``citation``), the ``sources`` (articles, wire copies included) that
    reported it in the window, by id in ``source_ids`` (the cited one first), the ``day`` it
    was last reported (ISO) and the ``events``: how many of its articles' days it spans.

    >>> c = Citation(1, "a", "Queen dies", "Queen Elizabeth II died on Thursday.", 0, 35)
    >>> s = BriefingStory(c.quote, c, 3, ("a", "b", "c"), "2022-09-09", 2)
    >>> s.to_json()["sources"], s.to_json()["citation"]["n"]
    (3, 1)
    """

    headline_text: str
    citation: Citation
    sources: int
    source_ids: tuple[str, ...]
    day: str
    events: int = 1

    def __post_init__(self) -> None:
        if self.sources < 1:
            raise ValueError(f"a story has at least one source, got {self.sources}")
        try:
            ok = len(self.day) == 10 and date.fromisoformat(self.day).isoformat() == self.day
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"a story's day is an ISO date (YYYY-MM-DD), not {self.day!r}")

    def to_json(self) -> dict[str, Any]:
        """The story as the ``briefing`` part of ``Answer.to_json()`` shows it."""
        return {"headline_text": self.headline_text, "day": self.day, "sources": self.sources,
                "source_ids": list(self.source_ids), "events": self.events,
                "citation": self.citation.to_json()}


@dataclass(frozen=True)
class Briefing:
    """The main stories published ``since``/``until`` (ISO dates, inclusive), on a ``topic``
    or on everything (None), the most widely reported first; ``Answer.briefing`` of a
    briefing.

    >>> Briefing("2022-09-05", "2022-09-11", None, ()).to_json()  # doctest: +NORMALIZE_WHITESPACE
    {'since': '2022-09-05', 'until': '2022-09-11', 'topic': None, 'feed': None,
     'built_at': None, 'cached': False, 'stories': []}
    """

    since: str
    until: str
    topic: str | None = None
    stories: tuple[BriefingStory, ...] = ()
    # The followed feed whose articles it reads (None: every article).
    feed: str | None = None
    # A followed feed's briefing of the last 24 hours, the one rag.feeds.briefs stores: when
    # it was built (UTC, ISO 8601, to the second), and whether this answer was served from
    # the store (True) or built for it. None and False for every other briefing.
    built_at: str | None = None
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``briefing`` part of ``Answer.to_json()``."""
        return {"since": self.since, "until": self.until, "topic": self.topic,
                "feed": self.feed, "built_at": self.built_at, "cached": self.cached,
                "stories": [s.to_json() for s in self.stories]}


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, with its retrieval score, as shown next to an answer."""

    article_id: str
    title: str
    text: str
    score: float
    start: int
    end: int
    source: str | None = None
    url: str | None = None
    published_at: str | None = None
    collection: str = DEFAULT_COLLECTION


@dataclass(frozen=True)
class StageDone:
    """A stage of a question's path, done (``RagSystem.ask_stream`` yields one after each):
    ``retrieve`` (with the ``query`` searched and the number of ``passages`` found) or
    ``answer``, and its time in milliseconds, the time the Answer's ``timings_ms`` reports.

    >>> StageDone("retrieve", 31.5, passages=20).passages
    20
    """

    name: str
    ms: float
    query: str = ""
    passages: int = 0


@dataclass(frozen=True)
class Reading:
    """What an answerer read from the passages: its cited text, short answer and notes.

    An answerer returns it; the pipeline (rag/chain.py) adds the question, the passages shown
    and the timings, and makes the :class:`Answer` of it once (:meth:`Answer.of`).

    >>> Reading("The articles don't say.", backend="extractive", abstained=True).abstained
    True
    """

    text: str
    backend: str
    abstained: bool = False
    # The few words that answer the question (a name, number, date, place or phrase): always a
    # span of a cited sentence, so its citation verifies it. None when no span was chosen.
    short_answer: str | None = None
    # How confident the answerer is in ``short_answer`` (higher = surer), None without one or
    # when the backend has no such score. Its scale is the backend's: the trained reader's span
    # probability (rag/answering/span_reader.py), the rules reader's span score, or for the LLM
    # sentence reader the trained reader's probability for its short answer (what gates it;
    # with the rules reader, the support of the cited sentence for "question + short answer").
    # Compare it within one backend only; eval ranks short answers by it.
    short_answer_score: float | None = None
    citations: list[Citation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # LLM backends: sentences removed by citation verification, the model's unverified text,
    # and why the extractive answer was used instead (None when it was not).
    unsupported: list[str] = field(default_factory=list)
    draft: str | None = None
    fallback: str | None = None
    # The stages' times in milliseconds: an answerer's own ("llm"); in an Answer, every stage.
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Answer(Reading):
    """A short answer whose every claim carries a [n] marker indexing ``citations``: the
    :class:`Reading` of the passages with the ``question`` it answers and the ``passages``
    shown beside it.

    >>> a = Answer(question="q", text="The articles don't say.", abstained=True)
    >>> a.to_json()["abstained"]
    True
    """

    question: str
    backend: str = "extractive"
    passages: list[Passage] = field(default_factory=list)
    # A timeline answer's events (``text`` is then their dated list, ``citations`` in the
    # same order); None for every other answer.
    timeline: Timeline | None = None
    # A briefing's stories (``text`` is then their list, ``citations`` in the same order);
    # None for every other answer.
    briefing: Briefing | None = None

    @classmethod
    def of(cls, question: str, reading: Reading, *, passages: list[Passage],
           timings_ms: dict[str, float], notes: Iterable[str] = (),
           timeline: Timeline | None = None, briefing: Briefing | None = None) -> Answer:
        """The Answer to ``question``: what the answerer read, the ``passages`` shown beside
        it, the stages' ``timings_ms``, the pipeline's ``notes`` after the reader's and, for a
        timeline answer, its ``timeline`` (a briefing: its ``briefing``).

        >>> read = Reading("Japan won 16-13. [1]", backend="extractive", notes=["r"])
        >>> Answer.of("q", read, passages=[], timings_ms={"total": 1.0}, notes=["p"]).notes
        ['r', 'p']
        """
        read = {f.name: getattr(reading, f.name) for f in fields(Reading)}
        return cls(**{**read, "citations": list(reading.citations),
                      "unsupported": list(reading.unsupported),
                      "notes": [*reading.notes, *notes], "timings_ms": timings_ms},
                   question=question, passages=passages, timeline=timeline,
                   briefing=briefing)

    def short_answer_citation(self) -> Citation | None:
        """The first citation whose quote holds the short answer (its evidence).

        >>> c = Citation(n=1, article_id="a", title="t", quote="Japan won 16-13.", start=0, end=16)
        >>> Answer(question="q", text="Japan won 16-13. [1]", short_answer="16-13",
        ...        citations=[c]).short_answer_citation().n
        1
        """
        if not self.short_answer or self.abstained:
            return None
        wanted = " ".join(self.short_answer.split()).casefold()
        return next((c for c in self.citations if wanted in " ".join(c.quote.split()).casefold()),
                    None)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON contract of ``rag ask --json`` and the app's ``ask`` API."""
        return {
            "answer": self.text,
            "short_answer": self.short_answer,
            "short_answer_score": (None if self.short_answer_score is None
                                   else round(self.short_answer_score, 4)),
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "passages": [
                {"article_id": p.article_id, "title": p.title, "score": round(p.score, 4),
                 "text": p.text, "source": p.source, "url": p.url,
                 "published_at": p.published_at, "start": p.start, "end": p.end,
                 "collection": p.collection}
                for p in self.passages
            ],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "backend": self.backend,
            "notes": list(self.notes),
            "unsupported": list(self.unsupported),
            "draft": self.draft,
            "fallback": self.fallback,
            "timeline": None if self.timeline is None else self.timeline.to_json(),
            "briefing": None if self.briefing is None else self.briefing.to_json(),
        }
