"""Collections: named indexes side by side under one index, each wholly apart (docs/collections.md).

A collection is an index of its own: its articles, chunks, vectors, BM25 builds and feed state,
nothing shared with another but the embedding model. ``default`` is the index at ``index_dir``
itself, so an index made before collections is the default collection, unchanged on disk. A named
collection is a full index folder at ``<index_dir>/collections/<name>/`` (FAISS), or for pgvector
the index named ``<index_dir>/collections/<name>`` (its own schema, ``schema_for`` of that
name). Its feed state is ``feeds.sqlite`` in its folder (FAISS), else in
``collections/<name>/`` under the folder that holds the default collection's (``RAG_FEEDS_DIR``,
or pgvector's state folder).

Keeping collections apart on disk makes a leak between them impossible by construction (a search
of one never reads another's files or tables), and a delete whole: the folder is renamed aside
under its write lock, then removed (a crash leaves a hidden ``.trash-`` folder that never lists
as a collection); a schema is dropped in one transaction.

>>> import tempfile
>>> from rag.config import Config
>>> shelf = Collections(Config(index_dir=tempfile.mkdtemp()))
>>> shelf.create("sports", model="m", dimension=4).name
'sports'
>>> shelf.names()
['default', 'sports']
>>> shelf.delete("sports")
>>> shelf.names()
['default']
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from rag.config import COLLECTION_NAME, COLLECTION_NAME_RULE, DEFAULT_COLLECTION, Config
from rag.errors import (
    BadInputError,
    CollectionExistsError,
    CollectionNotFoundError,
    IndexBusyError,
    RagError,
)

DEFAULT = DEFAULT_COLLECTION
FOLDER = "collections"  # under the default collection's folder (FAISS) or name (pgvector)
_TRASH, _NEW = ".trash-", ".new-"  # hidden: never a collection's name
_STALE_NEW_S = 24 * 3600  # a half-made collection this old was left by a crash
logger = logging.getLogger(__name__)


def check_name(name: object) -> str:
    """``name`` if it can name a collection, else a BadInputError naming it.

    >>> check_name("desk-europe")
    'desk-europe'
    >>> check_name("Desk Europe")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.errors.BadInputError: 'Desk Europe' is not a collection name: use 1 to 40 lowercase ...
    """
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        shown = repr(name[:60]) if isinstance(name, str) else type(name).__name__
        raise BadInputError(f"{shown} is not a collection name: use {COLLECTION_NAME_RULE}")
    return name


def check_names(names: object) -> tuple[str, ...]:
    """One collection name or a list of them, checked, each once in its first place; an empty
    list or a bad name is a BadInputError naming it.

    >>> check_names("sports"), check_names(["sports", "default", "sports"])
    (('sports',), ('sports', 'default'))
    """
    if isinstance(names, str):
        return (check_name(names),)
    if not isinstance(names, list | tuple) or not names:
        raise BadInputError("collection must be a collection name or a non-empty list of them")
    return tuple(dict.fromkeys(check_name(n) for n in names))


@dataclass(frozen=True)
class Collection:
    """Where collection ``name`` lives: ``index_dir`` is its index (a FAISS folder, or a
    pgvector index name), ``feeds_dir`` the folder of its feed state.

    >>> locate(Config(index_dir="news"), "sports").index_dir.as_posix()
    'news/collections/sports'
    """

    name: str
    index_dir: Path
    feeds_dir: Path


def locate(config: Config, name: str) -> Collection:
    """Where collection ``name`` of the index ``config`` names lives (it may not exist)."""
    check_name(name)
    feeds = _feeds_base(config)
    if name == DEFAULT:
        return Collection(name, Path(config.index_dir), feeds)
    return Collection(name, Path(config.index_dir) / FOLDER / name, feeds / FOLDER / name)


def collection_config(config: Config, name: str) -> Config:
    """The settings of collection ``name`` as an index of its own: ``index_dir`` and
    ``feeds_dir`` where it lives (its feeds follow it), ``collections`` its default one. The
    default collection's are ``config``'s.

    >>> c = collection_config(Config(index_dir="news"), "sports")
    >>> c.index_dir.as_posix(), c.feeds_dir, c.collections
    ('news/collections/sports', 'news/collections/sports', ('default',))
    """
    if name == DEFAULT:
        return config.replace(collections=(DEFAULT,))
    place = locate(config, name)
    return dataclasses.replace(config, index_dir=place.index_dir,
                               feeds_dir=place.feeds_dir.as_posix(), collections=(DEFAULT,))


def one_collection_config(config: Config, what: str = "a write") -> Config:
    """:func:`collection_config` of ``config``'s one collection; several are a BadInputError
    saying ``what`` goes to one (a write, a feed).

    >>> one_collection_config(Config(index_dir="news", collections=("sports",))).index_dir
    PosixPath('news/collections/sports')
    """
    if len(config.collections) != 1:
        raise BadInputError(f"{what} goes to one collection, not {len(config.collections)} "
                            f"({', '.join(config.collections)}): choose one")
    return collection_config(config, config.collections[0])


def _feeds_base(config: Config) -> Path:
    """The folder of the default collection's feed state (``rag.feeds.state.state_path``:
    tests/rag/test_collections.py checks they agree)."""
    if config.feeds_dir:
        return Path(config.feeds_dir).expanduser()
    if config.index_backend == "pgvector":
        name = Path(config.index_dir).name or "default"
        return Path.home() / ".local" / "state" / "news-rag" / "feeds" / name
    return Path(config.index_dir)


def not_found(name: str) -> CollectionNotFoundError:
    """The error of a collection that is not there, naming it and no other (a server refuses a
    collection outside a key's list with exactly this: existence is not leaked)."""
    return CollectionNotFoundError(f"no collection {name!r}: `rag collections list` shows them, "
                                   f"`rag collections create {name}` makes it")


class Collections:
    """The collections of the index ``config`` names (its ``index_dir``, backend and database):
    list, create, delete. ``default`` always is one (the index itself, made on first use) and
    cannot be deleted. See the module's docstring for where each lives.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.backend = config.index_backend
        self.root = Path(config.index_dir)

    def names(self) -> list[str]:
        """``default``, then the named collections, sorted."""
        if self.backend == "pgvector":
            from rag.index.store import postgres_index_names

            prefix = f"{(self.root / FOLDER).as_posix()}/"
            found = [n[len(prefix):] for n in postgres_index_names(
                self.config.pg_dsn or None, prefix=prefix)]
        else:
            folder = self.root / FOLDER
            found = [p.name for p in folder.iterdir()] if folder.is_dir() else []
            found = [n for n in found if self._folder_holds_index(n)]
        return [DEFAULT, *sorted(n for n in found if COLLECTION_NAME.fullmatch(n) and n != DEFAULT)]

    def exists(self, name: str) -> bool:
        """Whether collection ``name`` exists (``default`` always does)."""
        check_name(name)
        if name == DEFAULT:
            return True
        if self.backend == "pgvector":
            return name in self.names()
        return self._folder_holds_index(name)

    def require(self, names: object) -> tuple[str, ...]:
        """``names`` checked (:func:`check_names`), each an existing collection: the first that
        is not is a CollectionNotFoundError naming it (and no other collection)."""
        checked = check_names(names)
        named = [n for n in checked if n != DEFAULT]
        if named:
            have = set(self.names()) if self.backend == "pgvector" else None
            for name in named:
                if not (name in have if have is not None else self._folder_holds_index(name)):
                    raise not_found(name)
        return checked

    def _folder_holds_index(self, name: str) -> bool:
        from rag.index.store import STORE

        return (self.root / FOLDER / name / STORE).is_file()

    # --- making and removing ---------------------------------------------------------------
    def create(self, name: str, *, model: str, dimension: int) -> Collection:
        """Make the empty collection ``name`` for vectors of ``model`` (``dimension``); a name
        taken (``default`` too) is a CollectionExistsError. A FAISS collection is built in a
        hidden folder and renamed into place, so it lists only once whole."""
        check_name(name)
        if name == DEFAULT or self.exists(name):
            raise CollectionExistsError(f"the collection {name!r} already exists")
        place = locate(self.config, name)
        from rag.index import open_index

        config = self.config
        if place.feeds_dir != place.index_dir and place.feeds_dir.exists():
            # Left by a deleted collection of this name: its feeds are not the new one's.
            shutil.rmtree(place.feeds_dir, ignore_errors=True)
        if self.backend == "pgvector":
            open_index("pgvector", place.index_dir.as_posix(), model=model, dimension=dimension,
                       dsn=config.pg_dsn or None, lock_timeout_s=config.lock_timeout_s,
                       collection=name).close()
            return place
        folder = self.root / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        self._sweep(folder)
        staging = folder / f"{_NEW}{name}-{uuid.uuid4().hex[:8]}"
        try:
            open_index("faiss", staging, model=model, dimension=dimension,
                       lock_timeout_s=config.lock_timeout_s, collection=name).close()
            try:
                os.rename(staging, place.index_dir)  # fails if a non-empty folder is there
            except OSError as exc:
                raise RagError(f"cannot create the collection {name!r}: {place.index_dir} is in "
                               f"the way ({exc.strerror}); move it, or choose another name"
                               ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return place

    def delete(self, name: str) -> None:
        """Delete collection ``name``: its articles, chunks, vectors, BM25 builds and feeds,
        and nothing else. ``default`` is refused; an unknown name is a CollectionNotFoundError.
        A FAISS collection is renamed aside under its write lock (waiting at most
        ``lock_timeout_s`` for a writer: ``IndexBusyError``), then removed."""
        place = self.deletable(name)
        if self.backend == "pgvector":
            from rag.index.store import drop_postgres_index

            drop_postgres_index(place.index_dir.as_posix(), self.config.pg_dsn or None,
                                lock_timeout_s=self.config.lock_timeout_s)
        else:
            self._retire(place.index_dir)
        if place.feeds_dir.exists():  # outside the collection's folder (pgvector, feeds_dir)
            shutil.rmtree(place.feeds_dir, ignore_errors=True)

    def deletable(self, name: str) -> Collection:
        """Where collection ``name`` lives, if it may be deleted: ``default`` may not, and an
        unknown name is a CollectionNotFoundError."""
        check_name(name)
        if name == DEFAULT:
            raise BadInputError("the default collection cannot be deleted (it is the index "
                                "itself): delete its articles with `rag delete`, or the index")
        self.require(name)
        return locate(self.config, name)

    def _retire(self, path: Path) -> None:
        """Rename the index folder ``path`` to a hidden trash name under its write lock (after
        any writer), then remove it: it never lists half-deleted."""
        from filelock import FileLock, Timeout

        from rag.index.store import LOCK

        trash = path.parent / f"{_TRASH}{path.name}-{uuid.uuid4().hex[:8]}"
        lock = FileLock(path / LOCK, timeout=self.config.lock_timeout_s)
        try:
            with lock:
                os.rename(path, trash)
        except Timeout:
            raise IndexBusyError(
                f"the collection at {path} is busy: another process is writing it; try again "
                "when it has finished, or wait longer with RAG_LOCK_TIMEOUT_S") from None
        shutil.rmtree(trash, ignore_errors=True)
        if trash.exists():
            logger.warning("collection folder %s was deleted but not all of it could be "
                           "removed; remove it by hand", trash)

    @staticmethod
    def _sweep(folder: Path) -> None:
        """Remove what a crash left in ``folder``: trash, and collections half made a day ago."""
        for path in folder.iterdir():
            old = path.name.startswith(_NEW) and time.time() - path.stat().st_mtime > _STALE_NEW_S
            if path.is_dir() and (path.name.startswith(_TRASH) or old):
                shutil.rmtree(path, ignore_errors=True)


__all__ = ["DEFAULT", "Collection", "Collections", "check_name", "check_names",
           "collection_config", "locate", "one_collection_config"]
