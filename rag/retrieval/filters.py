"""SearchFilters from user input (CLI flags, UI fields), checked with clear errors."""

from __future__ import annotations

from collections.abc import Iterable

from rag.errors import BadInputError
from rag.index.base import SearchFilters
from rag.retrieval.dates import parse_day


def make_filters(sources: Iterable[str] | str | None = None, since: str | None = None,
                 until: str | None = None, *, since_name: str = "--since date",
                 until_name: str = "--until date") -> SearchFilters | None:
    """Filters by source (a list, or one comma-separated string) and date range, or None.
    ``since_name`` / ``until_name`` name the date fields in error messages (CLI flags here,
    field labels in the UI).

    >>> make_filters("cnn.com, bbc.com", since="2022-06-01").sources
    ('cnn.com', 'bbc.com')
    >>> make_filters() is None
    True
    """
    if isinstance(sources, str):
        sources = sources.split(",")
    names = tuple(s.strip() for s in sources or () if s and s.strip())
    date_from = parse_day(since, since_name).isoformat() if since else None
    date_to = parse_day(until, until_name).isoformat() if until else None
    if date_from and date_to and date_from > date_to:
        raise BadInputError(f"the date range is empty: since {date_from} is after until {date_to}")
    filters = SearchFilters(sources=names, date_from=date_from, date_to=date_to)
    return filters or None
