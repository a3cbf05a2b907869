"""`rag collections list|create|delete`: the collections of an index (docs/collections.md). A
thin layer over :meth:`rag.system.RagSystem.create_collection` and its neighbours; the model is
never loaded."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.errors import RagError
from rag_cli.common import IndexOption, fail, open_system

collections_app = typer.Typer(help="Collections: separate sets of articles in one index, "
                                   "asked one at a time or together.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(
    help="The collection's name: 1 to 40 lowercase letters, digits, - or _.")]


@collections_app.command("list")
def list_collections(index: IndexOption = None) -> None:
    """The collections: name, articles, chunks (default first)."""
    try:
        system = open_system(index, read_only=True)
        rows = [(name, system.over(name).stats()) for name in system.collection_names()]
    except RagError as exc:
        raise fail(str(exc)) from None
    for name, s in rows:
        typer.echo(f"{name}\t{s.articles} articles\t{s.chunks} chunks")


@collections_app.command("create")
def create(name: NameArgument, index: IndexOption = None) -> None:
    """Make an empty collection (for the index's embedding model)."""
    try:
        open_system(index, create=True).create_collection(name)
    except RagError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"created the collection {name}; add articles with: rag ingest PATH "
               f"--collection {name}")


@collections_app.command("delete")
def delete(
    name: NameArgument,
    index: IndexOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Delete a collection: its articles, vectors, search data and feeds (the default
    collection cannot be deleted)."""
    try:
        system = open_system(index)
        system.shelf.deletable(name)
        articles = system.over(name).stats().articles
        if not yes and not typer.confirm(f"Delete the collection {name} and its {articles} "
                                         "article(s)?"):
            raise typer.Exit(code=1)
        system.delete_collection(name)
    except RagError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"deleted the collection {name} ({articles} article(s))")
