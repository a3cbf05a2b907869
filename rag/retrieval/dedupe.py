"""Collapse near-duplicate articles in results: one hit per story, every copy kept to cite."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from rag.articles import Article
from rag.index.base import Hit


def collapse_duplicates(hits: list[Hit], groups: Mapping[str, str],
                        get_article: Callable[[str], Article | None]) -> list[Hit]:
    """Keep the best-ranked hit of each duplicate group; the others' articles (and copies that
    were not retrieved) ride along in ``Hit.duplicates``, so every source stays citable.

    >>> collapse_duplicates([], {}, lambda _: None)
    []
    """
    if not groups:
        return hits
    members: dict[str, list[str]] = {}
    for aid, group in groups.items():
        members.setdefault(group, []).append(aid)
    kept: dict[str, str] = {}  # group -> article id shown
    out = []
    for hit in hits:
        group = groups.get(hit.article.id)
        if group is None:
            out.append(hit)
            continue
        shown = kept.setdefault(group, hit.article.id)
        if shown != hit.article.id:
            continue
        if hit.duplicates:
            out.append(hit)
            continue
        copies = tuple(a for aid in sorted(members[group]) if aid != shown
                       and (a := get_article(aid)) is not None)
        out.append(dataclasses.replace(hit, duplicates=copies))
    return out
