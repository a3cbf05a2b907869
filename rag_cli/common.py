"""What every ``rag`` command shares: the ``--index`` option, how an index is opened, and how
an error is printed.

What a command prints from an index goes through ``rag.articles.clean_line``: no escape
sequences, bidi overrides or lone surrogates (articles are cleaned when loaded; this covers
indexes built before that)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embeddings.lazy import LazyEmbedder
from rag.articles import clean_line
from rag.config import Config
from rag.system import RagSystem, is_default_index

IndexOption = Annotated[
    Path | None,
    typer.Option("--index", help="Index folder (default: $RAG_INDEX_DIR or ./.rag-index)."),
]


def open_system(index: Path | None, *, create: bool = False,
                read_only: bool = False) -> RagSystem:
    """The index at ``index`` (default: the default index) with its settings, the model loaded
    only when something is embedded: ``stats``, ``list``, ``delete`` and a ``feeds sync`` that
    finds nothing new never load it (seconds saved).

    Another index than the default must exist unless ``create`` (``no index at PATH``);
    ``read_only``: it is only read, waiting for no writer. The default index is created when
    missing and never read-only (it fills itself on first use).
    """
    config = Config.from_env(index_dir=index)
    lazy = LazyEmbedder(config.embedding_model, config.embedding_backend,
                        threads=config.embedding_threads)
    default = is_default_index(config)
    return RagSystem(config, embedder=lazy, create=create or default,
                     read_only=read_only and not default)


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr, fit for a terminal (``clean_line``); the exit (code 1)
    to raise."""
    typer.secho(f"error: {clean_line(message)}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)
