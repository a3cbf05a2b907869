"""What every ``rag`` command shares: the ``--index`` and ``--collection`` options, how an index
is opened, and how an error is printed.

What a command prints from an index goes through ``rag.articles.clean_line``: no escape
sequences, bidi overrides or lone surrogates (articles are cleaned when loaded; this covers
indexes built before that)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embeddings.lazy import LazyEmbedder
from rag.articles import clean_line
from rag.collections import check_names
from rag.config import Config
from rag.errors import BadInputError
from rag.system import RagSystem, is_default_index

IndexOption = Annotated[
    Path | None,
    typer.Option("--index", help="Index folder (default: $RAG_INDEX_DIR or ./.rag-index)."),
]
# One collection, for a command that writes or lists (docs/collections.md).
CollectionOption = Annotated[str | None, typer.Option(
    "--collection", "-c", help="The collection (default: $RAG_COLLECTIONS, else default).")]
# One or more, for a command that asks: several are asked as one ranking.
CollectionsOption = Annotated[list[str] | None, typer.Option(
    "--collection", "-c", help="A collection to ask (repeatable: several are asked as one; "
                               "default: $RAG_COLLECTIONS, else default).")]


def command_config(index: Path | None, collections: str | list[str] | None = None, *,
                   writes: bool = False) -> Config:
    """The settings of a command: ``RAG_*``, then ``--index`` and ``--collection`` (each name
    checked: a bad one is named). A command that ``writes`` writes to one collection: several
    (from ``RAG_COLLECTIONS``) are refused before an index is opened."""
    chosen = check_names(collections) if collections else None
    config = Config.from_env(index_dir=index, collections=chosen)
    if writes and len(config.collections) > 1:
        raise BadInputError(f"a write goes to one collection, and RAG_COLLECTIONS names "
                            f"{len(config.collections)} ({', '.join(config.collections)}): "
                            "choose one with --collection")
    return config


def open_system(index: Path | None, *, collection: str | None = None, create: bool = False,
                read_only: bool = False) -> RagSystem:
    """The index at ``index`` (default: the default index) with its settings, the model loaded
    only when something is embedded: ``stats``, ``list``, ``delete`` and a ``feeds sync`` that
    finds nothing new never load it (seconds saved).

    Another index than the default must exist unless ``create`` (``no index at PATH``);
    ``read_only``: it is only read, waiting for no writer. The default index is created when
    missing and never read-only (it fills itself on first use). ``collection``: the one a
    command writes to or lists (it must exist).
    """
    config = command_config(index, collection)
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
