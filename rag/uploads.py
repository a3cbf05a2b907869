"""Uploaded files into an index, for the page's Articles tab and ``POST /v1/articles``: the
file types the loaders read, a size cap per file and a cap on the text of one upload.

>>> import tempfile
>>> from rag import SAMPLE_CORPUS, Config, RagSystem
>>> system = RagSystem(Config(index_dir=tempfile.mkdtemp()))
>>> files = [*sorted(SAMPLE_CORPUS.glob("*.txt")), "notes.pdf"]
>>> report = ingest_uploads(system, files, max_bytes=1_048_576, max_chars=2_000_000)
>>> report.added, [f.input for f in report.failures]
(7, ['notes.pdf'])
>>> sorted(a.origin for a, _ in system.index.list_articles())[0]
'upload:01-russia-and-iran-explore-strategic-partnership-in-aircraft-an.txt'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rag.articles import SUPPORTED_SUFFIXES, Article, LoadFailure, load_paths
from rag.ingest import IngestReport, ProgressCallback

if TYPE_CHECKING:
    from rag.system import RagSystem

DEFAULT_MAX_UPLOAD_MB = 20
# Text one upload may add: ~2,200 chunks, about 2 minutes of embedding on 2 cores. A 20 MB file
# can hold ~21k chunks (15+ minutes of CPU with every other upload queued behind it); bigger
# batches belong to `rag ingest`.
DEFAULT_MAX_UPLOAD_CHARS = 2_000_000


def check_uploads(paths: Iterable[str | Path],
                  max_bytes: int) -> tuple[list[Path], list[LoadFailure]]:
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


def ingest_uploads(system: RagSystem, paths: Iterable[str | Path], *, max_bytes: int,
                   max_chars: int, progress: ProgressCallback | None = None) -> IngestReport:
    """Check, load and ingest uploaded files: a file of another type or over ``max_bytes`` is
    refused, the text beyond ``max_chars`` too (each by name, in ``failures``); articles are
    named by their file (:func:`as_uploaded`), so a re-upload replaces them."""
    accepted, refused = check_uploads(paths, max_bytes)
    loaded = load_paths(accepted)
    articles, over = cap_upload([as_uploaded(a) for a in loaded.articles], max_chars)
    # Each commit is atomic (questions see whole articles); at most ~50 per upload, as every
    # commit rewrites the vector file.
    report = system.ingest(articles, progress=progress, commit_every=max(1, len(articles) // 50))
    report.failures = refused + loaded.failures + over + report.failures
    report.notes = loaded.notes + report.notes
    return report
