"""Upload limits of the Articles tab: file types the loaders read, and a size cap per file."""

from __future__ import annotations

from pathlib import Path

from rag.articles import SUPPORTED_SUFFIXES, LoadFailure

DEFAULT_MAX_UPLOAD_MB = 20


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
