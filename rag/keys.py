"""API keys: who may use a served index, in which role, over which collections (docs/keys.md).

A key is shown once, when it is made: ``rag_<id>_<secret>``. The store keeps its id, its name,
its role, its collections and a salted hash of the secret (PBKDF2-HMAC-SHA256, a salt of its
own), never the secret; a key given is found by its id and its hash compared in constant time
(``hmac.compare_digest``). Revoking a key marks it revoked (the row stays, so revoking every key
never leaves a server open). Keys live beside the index's default collection: ``keys.sqlite`` in
its folder (FAISS), or the table ``api_keys`` in its schema (pgvector), so every server over one
PostgreSQL sees the same keys, and a revocation on its next request.

Roles, each allowing what the one before it does: ``read`` asks, searches, lists and briefs;
``write`` also ingests, deletes articles and manages feeds of its collections; ``admin`` also
manages collections and keys, over every collection.

>>> import tempfile
>>> from rag.config import Config
>>> store = open_key_store(Config(index_dir=tempfile.mkdtemp()))
>>> key, secret = store.create("ana", "read", ["default"])
>>> store.verify(secret).name, store.verify(secret + "x")
('ana', None)
>>> store.revoke(key.id).revoked, store.verify(secret)
(True, None)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.errors import BadInputError, RagError

ROLES = ("read", "write", "admin")
ALL = "*"  # the collections of a key that opens every one
KEYS_FILE = "keys.sqlite"  # in the default collection's folder (FAISS)
TABLE = "api_keys"  # in the default collection's schema (pgvector)
PBKDF2_ITERATIONS = 120_000
KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_TOKEN = re.compile(r"rag_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})")
_TOUCH_EVERY_S = 60.0  # last_used_at is written at most this often per key
_COLUMNS = "id, name, role, collections, salt, hash, created_at, last_used_at, revoked_at"
_SCHEMA = (f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
           "role TEXT NOT NULL, collections TEXT NOT NULL, salt TEXT NOT NULL, "
           "hash TEXT NOT NULL, created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT)")


class KeyNotFoundError(BadInputError):
    """No key with that id (``rag keys revoke``)."""


class NotAllowedError(BadInputError):
    """What a key's role does not allow (the server answers 403; the page shows it)."""


@dataclass(frozen=True)
class Grant:
    """What a request may do: its ``role`` over ``collections`` (None: every collection).

    >>> g = Grant("write", ("desk",))
    >>> g.allows("read"), g.allows("admin"), g.opens("desk"), g.opens("sports")
    (True, False, True, False)
    >>> Grant.everything().opens("anything")
    True
    """

    role: str
    collections: tuple[str, ...] | None = None
    key_id: str | None = None  # None: RAG_API_KEY, RAG_AUTH or an open server

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise BadInputError(f"role must be one of {', '.join(ROLES)}. Currently, role is "
                                f"{self.role!r}")

    @classmethod
    def everything(cls) -> Grant:
        """An admin over every collection: ``RAG_API_KEY``, ``RAG_AUTH``, a server with no key."""
        return cls("admin")

    def allows(self, role: str) -> bool:
        """Whether this grant's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def opens(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def require(self, role: str, what: str = "this") -> None:
        """A NotAllowedError saying ``what`` needs ``role``, unless this grant allows it."""
        if not self.allows(role):
            article = "an" if role == "admin" else "a"
            raise NotAllowedError(f"{what} needs {article} {role} key; this key's role is "
                                  f"{self.role}")

    def select(self, requested: str | Sequence[str] | None, *, role: str = "read",
               one: bool = False, what: str = "this") -> tuple[str, ...] | None:
        """The collections a request naming ``requested`` (a name, a list, or none) uses:
        none named, the grant's (its first when ``one`` is needed), or None for the caller's
        own default when the grant opens every collection. A role short of ``role`` is a
        NotAllowedError; a collection the grant does not open is exactly the error of one that
        does not exist (``rag.collections.not_found``): its existence is not told.

        >>> Grant("read", ("desk", "sports")).select(None, one=True)
        ('desk',)
        >>> Grant("read", ("desk",)).select("sports")
        Traceback (most recent call last):
        rag.errors.CollectionNotFoundError: no collection 'sports': ...
        """
        from rag.collections import check_names, not_found

        self.require(role, what)
        if not requested:
            if self.collections is None:
                return None
            if not self.collections:
                raise NotAllowedError("no collection is open to this login")
            return self.collections[:1] if one else self.collections
        names = check_names(requested)
        for name in names:
            if not self.opens(name):
                raise not_found(name)
        return names


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    name: str
    role: str
    collections: tuple[str, ...] | None  # None: every collection
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def grant(self) -> Grant:
        return Grant(self.role, self.collections, self.id)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadInputError(f"role must be one of {', '.join(ROLES)}. Currently, role is "
                            f"{role!r}")
    return role


def hash_secret(secret: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, PBKDF2_ITERATIONS)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KeyStore:
    """The keys of an index. Every query is here; the subclasses say how to connect."""

    PH = "?"  # the placeholder of the database's driver

    def __init__(self) -> None:
        # Verified (id, stored hash, digest of the key given): PBKDF2 runs once per key per
        # process, not per request. The row is still read each time: a revocation shows at once.
        self._verified: set[tuple[str, str, bytes]] = set()
        self._touched: dict[str, float] = {}
        self._any = False
        self._lock = threading.Lock()

    # --- what a subclass provides -----------------------------------------------------------
    def _connect(self, *, write: bool) -> contextlib.AbstractContextManager[Any]:
        """A connection in one transaction (committed on success), or None when nothing is
        stored yet and ``write`` is false."""
        raise NotImplementedError

    # --- the queries --------------------------------------------------------------------------
    def _sql(self, text: str) -> str:
        return text.replace("?", self.PH)

    def _rows(self, query: str, args: Sequence = ()) -> list[tuple]:
        with self._connect(write=False) as db:
            return [] if db is None else list(db.execute(self._sql(query), args).fetchall())

    def create(self, name: str | None, role: str, collections: Sequence[str] | None) -> tuple[
            ApiKey, str]:
        """A new key: its record and the secret, which is shown once and never stored.
        ``collections`` None (or ``["*"]``): every collection; an admin key opens every one."""
        check_role(role)
        names = _check_collections(role, collections)
        key_id = secrets.token_hex(6)
        name = name or key_id
        if not KEY_NAME.fullmatch(name):
            raise BadInputError(f"{name!r} is not a key name: 1 to 64 letters, digits, . _ @ "
                                "or -, starting with a letter or digit")
        secret = f"rag_{key_id}_{secrets.token_urlsafe(32)}"
        salt = secrets.token_bytes(16)
        key = ApiKey(key_id, name, role, names, _now())
        with self._connect(write=True) as db:
            taken = db.execute(self._sql(f"SELECT 1 FROM {TABLE} WHERE name = ?"),
                               (name,)).fetchone()
            if taken:
                raise BadInputError(f"a key named {name!r} exists already: choose another "
                                    "--name")
            db.execute(self._sql(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES "
                                 "(?, ?, ?, ?, ?, ?, ?, NULL, NULL)"),
                       (key_id, name, role, json.dumps(list(names) if names else ALL),
                        salt.hex(), hash_secret(secret, salt).hex(), key.created_at))
        return key, secret

    def listed(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY created_at, name")
        return [_key(r) for r in rows]

    def get(self, key_id: str) -> ApiKey | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM {TABLE} WHERE id = ?", (key_id,))
        return _key(rows[0]) if rows else None

    def named(self, name: str) -> ApiKey | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM {TABLE} WHERE name = ?", (name,))
        return _key(rows[0]) if rows else None

    def revoke(self, key_id: str) -> ApiKey:
        """Mark the key ``key_id`` (or named so) revoked: refused from the next request on."""
        with self._connect(write=True) as db:
            found = db.execute(self._sql(f"SELECT id FROM {TABLE} WHERE id = ? OR name = ?"),
                               (key_id, key_id)).fetchone()
            if not found:
                raise KeyNotFoundError(f"no key {key_id!r}: `rag keys list` shows them")
            db.execute(self._sql(f"UPDATE {TABLE} SET revoked_at = ? WHERE id = ? AND "
                                 "revoked_at IS NULL"), (_now(), found[0]))
        key = self.get(found[0])
        assert key is not None
        return key

    def any(self) -> bool:
        """Whether any key was ever made (revoked ones count: the server stays closed). Rows
        are never deleted, so once true it is remembered instead of read again."""
        if not self._any:
            self._any = bool(self._rows(f"SELECT 1 FROM {TABLE} LIMIT 1"))
        return self._any

    def verify(self, given: str) -> ApiKey | None:
        """The live key ``given`` is, or None (malformed, unknown, wrong or revoked)."""
        match = _TOKEN.fullmatch(given.strip())
        if not match:
            return None
        rows = self._rows(f"SELECT {_COLUMNS} FROM {TABLE} WHERE id = ?", (match.group(1),))
        if not rows:
            return None
        key, salt, stored = _key(rows[0]), rows[0][4], rows[0][5]
        seen = (key.id, stored, hashlib.sha256(given.strip().encode()).digest())
        with self._lock:
            known = seen in self._verified
        if not known:
            if not hmac.compare_digest(hash_secret(given.strip(), bytes.fromhex(salt)).hex(),
                                       stored):
                return None
            with self._lock:
                self._verified.add(seen)
        if key.revoked:
            return None
        self._touch(key.id)
        return key

    def grant_of(self, given: str, what: str = "the key") -> Grant:
        """The grant of the live key ``given``; a wrong or revoked one is a NotAllowedError
        naming ``what`` (``rag mcp`` reads ``RAG_MCP_KEY`` so on every tool call)."""
        key = self.verify(given)
        if key is None:
            raise NotAllowedError(f"{what} is not a key of this index, or it was revoked: "
                                  "`rag keys list` shows the keys")
        return key.grant

    def _touch(self, key_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(key_id, -_TOUCH_EVERY_S) < _TOUCH_EVERY_S:
                return
            self._touched[key_id] = now
        # A read-only store still verifies keys.
        with contextlib.suppress(Exception), self._connect(write=True) as db:
            db.execute(self._sql(f"UPDATE {TABLE} SET last_used_at = ? WHERE id = ?"),
                           (_now(), key_id))


class SqliteKeyStore(KeyStore):
    """``keys.sqlite`` in an index folder, made on the first key (readable by its owner only);
    each change one transaction."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)

    @contextlib.contextmanager
    def _connect(self, *, write: bool) -> Iterator[Any]:
        if not self.path.exists():
            if not write:
                yield None
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Made private before anything is written to it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            with db:
                db.execute(_SCHEMA)  # no write when the table is there
                yield db
        except sqlite3.OperationalError as exc:
            raise RagError(f"the keys at {self.path}: {exc}") from None
        finally:
            db.close()


class PostgresKeyStore(KeyStore):
    """The table ``api_keys`` in the default collection's schema; a connection per call, so
    every server over the database reads the same rows."""

    PH = "%s"

    def __init__(self, dsn: str | None, schema: str) -> None:
        super().__init__()
        self.dsn, self.schema = dsn, schema

    @contextlib.contextmanager
    def _connect(self, *, write: bool) -> Iterator[Any]:
        from psycopg import sql

        from rag.index.store import _pg_connect

        db, _ = _pg_connect(self.dsn)
        try:
            schema = sql.Identifier(self.schema).as_string(db)
            if write:
                db.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            db.execute(f"SET search_path TO {schema}")
            if not write and not db.execute(
                    "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND "
                    "table_name = %s", (self.schema, TABLE)).fetchone():
                yield None
                return
            with db.transaction():
                if write:
                    db.execute(_SCHEMA)
                yield db
        finally:
            db.close()


def open_key_store(config: Config) -> KeyStore:
    """The keys of the index ``config`` names (its default collection's folder or schema)."""
    if config.index_backend == "pgvector":
        from rag.index.store import schema_for

        return PostgresKeyStore(config.pg_dsn or None, schema_for(config.index_dir))
    return SqliteKeyStore(Path(config.index_dir) / KEYS_FILE)


def _check_collections(role: str, collections: Sequence[str] | None) -> tuple[str, ...] | None:
    from rag.collections import check_names

    listed = [c.strip() for c in (collections or ()) if c.strip()]
    if not listed or listed == [ALL]:
        if role != "admin" and not listed:
            raise BadInputError(f"a {role} key names its collections (--collections a,b), "
                                "or '*' for every one")
        return None
    if role == "admin":
        raise BadInputError("an admin key opens every collection (it manages them): give no "
                            "--collections, or '*'")
    return check_names(listed)


def _key(row: Sequence) -> ApiKey:
    collections = json.loads(row[3])
    return ApiKey(row[0], row[1], row[2],
                  None if collections == ALL else tuple(collections), row[6], row[7], row[8])
