"""Upload limits of the Articles tab: file types the loaders read, and a size cap per file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rag.articles import SUPPORTED_SUFFIXES, Article, LoadFailure

DEFAULT_MAX_UPLOAD_MB = 20
# Text one upload may add: ~2,200 chunks, about 2 minutes of embedding on 2 cores. A 20 MB file
# can hold ~21k chunks (15+ minutes of CPU with every other upload queued behind it); bigger
# batches belong to `rag ingest`.
DEFAULT_MAX_UPLOAD_CHARS = 2_000_000


def check_uploads(paths: list[str | Path], max_bytes: int) -> tuple[list[Path], list[LoadFailure]]:
    """Split uploaded files into those to ingest and those refused, with the reason.

    >>> check_uploads(["notes.pdf"], 10)[1][0].reason  # doctest: +ELLIPSIS
    'unsupported file type .pdf; use one of ...'
    """
    accepted: list[Path] = []
    refused: list[LoadFailure] = []
    for raw in paths:
        path = Path(raw)
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            refused.append(LoadFailure(path.name, f"unsupported file type {suffix or '(none)'}; "
                                       f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"))
        elif path.stat().st_size > max_bytes:
            refused.append(LoadFailure(path.name, f"{path.stat().st_size / 1_048_576:.1f} MB is "
                                       f"over the {max_bytes / 1_048_576:.0f} MB upload limit"))
        else:
            accepted.append(path)
    return accepted, refused


def as_uploaded(article: Article) -> Article:
    """The article with its origin named by the uploaded file's name, not Gradio's temp path.

    Gradio stores each upload under a folder named after the file's content, so an edited file
    arrives under a new path; naming the origin by file name lets a re-upload replace the
    article it had produced before.

    >>> a = Article(title="T", text="Body.", origin="/tmp/gradio/ab12/notes.jsonl#3")
    >>> as_uploaded(a).origin
    'upload:notes.jsonl#3'
    """
    if not article.origin:
        return article
    path, sep, item = article.origin.partition("#")
    return dataclasses.replace(article, origin=f"upload:{Path(path).name}{sep}{item}")


def cap_upload(articles: list[Article], max_chars: int) -> tuple[list[Article], list[LoadFailure]]:
    """The articles that fit in ``max_chars`` of text (in order), and a refusal for each of
    the rest naming the limit.

    >>> kept, refused = cap_upload([Article(title="A", text="x" * 8),
    ...                             Article(title="B", text="y" * 8)], 10)
    >>> [a.title for a in kept], refused[0].input
    (['A'], 'B')
    """
    kept: list[Article] = []
    refused: list[LoadFailure] = []
    total = 0
    for article in articles:
        total += len(article.text)
        if total <= max_chars:
            kept.append(article)
        else:
            refused.append(LoadFailure(article.title, (
                f"over this upload's limit of {max_chars:,} characters of text; add big "
                "batches with `rag ingest`")))
    return kept, refused
