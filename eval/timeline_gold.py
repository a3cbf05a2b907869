"""Gold timelines (eval/timelines/gold.jsonl): stories, each a list of dated key events.

One JSON object a line: ``{"id", "topic", "query", "since", "until", "events": [{"date", "text",
"doc_ids"}]}``; dates are ISO days and every event date lies in [since, until].
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rag.errors import BadInputError

GOLD = Path(__file__).resolve().parent / "timelines" / "gold.jsonl"


@dataclass(frozen=True)
class GoldEvent:
    """One key event of a story: its ``date``, a one-sentence summary and the corpus articles
    that report it.

    >>> GoldEvent(date(2022, 9, 28), "Ian made landfall in Florida.", ("rtqa-1",)).date.day
    28
    """

    date: date
    text: str
    doc_ids: tuple[str, ...]


@dataclass(frozen=True)
class GoldStory:
    """A story of the gold set: what a user would type (``topic``, ``query``), the window it
    spans in the corpus and its key events, oldest first.

    >>> s = GoldStory.from_record({"id": "s", "topic": "Ian", "query": "What happened?",
    ...     "since": "2022-09-23", "until": "2022-10-05", "events": [
    ...     {"date": "2022-09-28", "text": "Landfall.", "doc_ids": ["d1"]}]})
    >>> s.events[0].date.isoformat(), s.since.isoformat()
    ('2022-09-28', '2022-09-23')
    """

    id: str
    topic: str
    query: str
    since: date
    until: date
    events: tuple[GoldEvent, ...]

    @classmethod
    def from_record(cls, record: Any, where: str = "story") -> GoldStory:
        """The story of one JSON object; a ``BadInputError`` names the bad field."""
        if not isinstance(record, dict):
            raise BadInputError(f"{where}: expected a JSON object")
        for key in ("id", "topic", "query", "since", "until", "events"):
            if not record.get(key):
                raise BadInputError(f"{where}: missing field {key!r}")
        where = f"{where} {record['id']!r}"
        since, until = (_day(record[k], f"{where}: {k}") for k in ("since", "until"))
        if since > until:
            raise BadInputError(f"{where}: since {since} is after until {until}")
        if not isinstance(record["events"], list):
            raise BadInputError(f"{where}: events must be a list")
        events = []
        for i, raw in enumerate(record["events"], 1):
            at = f"{where}, event {i}"
            if not isinstance(raw, dict) or not str(raw.get("text") or "").strip():
                raise BadInputError(f"{at}: expected an object with a text")
            day = _day(raw.get("date"), f"{at}: date")
            if not since <= day <= until:
                raise BadInputError(f"{at}: date {day} is outside [{since}, {until}]")
            ids = raw.get("doc_ids")
            if not isinstance(ids, list) or not ids or not all(isinstance(d, str) for d in ids):
                raise BadInputError(f"{at}: doc_ids must be a non-empty list of ids")
            events.append(GoldEvent(day, str(raw["text"]).strip(), tuple(ids)))
        events.sort(key=lambda e: e.date)
        return cls(str(record["id"]), str(record["topic"]), str(record["query"]), since, until,
                   tuple(events))


def _day(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise BadInputError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD)") from None


def load_gold(path: str | Path = GOLD) -> list[GoldStory]:
    """The stories of a gold file, in file order; ids are unique.

    >>> len(load_gold()) >= 8
    True
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"gold timelines {path} not found")
    stories: list[GoldStory] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{path}:{n}: not JSON ({exc.msg})") from None
        stories.append(GoldStory.from_record(record, f"{path}:{n}"))
    ids = [s.id for s in stories]
    if len(set(ids)) != len(ids):
        raise BadInputError(f"{path}: story ids repeat: "
                            f"{sorted({i for i in ids if ids.count(i) > 1})}")
    if not stories:
        raise BadInputError(f"{path} holds no stories")
    return stories
