"""`rag keys create|list|revoke`: the API keys of an index, each a role over its collections
(docs/keys.md). The model is never loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.collections import Collections
from rag.errors import RagError
from rag.keys import ALL, ROLES, KeyStore, open_key_store
from rag_cli.common import IndexOption, command_config, fail

keys_app = typer.Typer(help="API keys: who may use the served index, in which role, over "
                            "which collections.", no_args_is_help=True)


def _store(index: Path | None) -> tuple[KeyStore, Collections]:
    config = command_config(index)
    return open_key_store(config), Collections(config)


@keys_app.command("create")
def create(
    role: Annotated[str, typer.Option(help=f"{' | '.join(ROLES)}: read asks, searches and "
                                           "lists; write also ingests, deletes and manages "
                                           "feeds; admin also manages collections and keys.")],
    collections: Annotated[str | None, typer.Option(
        help="The key's collections, comma-separated ('*': every one; an admin key opens "
             "every one).")] = None,
    name: Annotated[str | None, typer.Option(
        help="A name for the key, unique (the user name of the page's login; default: its "
             "id).")] = None,
    index: IndexOption = None,
) -> None:
    """Make a key and print it, once: only its salted hash is stored."""
    try:
        store, shelf = _store(index)
        listed = [c.strip() for c in (collections or "").split(",") if c.strip()]
        if listed and listed != [ALL]:
            shelf.require(listed)
        key, secret = store.create(name, role, listed or None)
    except RagError as exc:
        raise fail(str(exc)) from None
    typer.echo(secret)
    typer.echo(f"the key {key.id} ({key.name}, {key.role} over "
               f"{', '.join(key.collections) if key.collections else 'every collection'}): "
               "copy it now, it is not shown again", err=True)


@keys_app.command("list")
def list_keys(
    index: IndexOption = None,
    revoked: Annotated[bool, typer.Option("--revoked", help="Revoked keys too.")] = False,
) -> None:
    """The keys: id, name, role, collections, made, last used (never a secret)."""
    try:
        keys = _store(index)[0].listed()
    except RagError as exc:
        raise fail(str(exc)) from None
    for k in keys:
        if k.revoked and not revoked:
            continue
        line = [k.id, k.name, k.role, ",".join(k.collections) if k.collections else ALL,
                f"made {k.created_at}", f"used {k.last_used_at or 'never'}"]
        if k.revoked:
            line.append(f"revoked {k.revoked_at}")
        typer.echo("\t".join(line))


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id or name (`rag keys list`).")],
    index: IndexOption = None,
) -> None:
    """Revoke a key: every server over the index refuses it from its next request on."""
    try:
        key = _store(index)[0].revoke(key_id)
    except RagError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"revoked the key {key.id} ({key.name})")
