"""API keys (rag/keys.py): made, shown once, stored hashed and salted, verified, listed and
revoked; on SQLite always, on PostgreSQL when ``RAG_PG_DSN`` names a server."""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest

from rag.config import Config
from rag.errors import BadInputError
from rag.keys import (
    KEYS_FILE,
    Grant,
    KeyNotFoundError,
    PostgresKeyStore,
    SqliteKeyStore,
    open_key_store,
)


@pytest.fixture(params=["sqlite", "pgvector"])
def store(request, tmp_path: Path):
    if request.param == "sqlite":
        yield open_key_store(Config(index_dir=tmp_path))
        return
    dsn = os.environ.get("RAG_PG_DSN")
    if not dsn:
        pytest.skip("RAG_PG_DSN is not set: no PostgreSQL to test the keys' table on")
    schema = f"test_keys_{uuid.uuid4().hex[:8]}"
    yield PostgresKeyStore(dsn, schema)
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_key_verifies_and_nothing_else_does(store) -> None:
    assert not store.any()
    key, secret = store.create("ana", "read", ["default", "desk"])
    assert secret.startswith(f"rag_{key.id}_") and store.any()
    found = store.verify(secret)
    assert found is not None and found.name == "ana" and found.role == "read"
    assert found.collections == ("default", "desk")
    assert found.grant == Grant("read", ("default", "desk"), key.id)
    assert store.verify(secret) is not None  # the second time from the verified cache
    other, other_secret = store.create(None, "write", ["desk"])
    assert other.name == other.id and store.verify(other_secret).role == "write"
    for wrong in ("", "nonsense", secret[:-1], secret + "x", secret[:-2] + "zz",
                  other_secret.replace(other.id, key.id), f"rag_{'0' * 12}_{'a' * 43}"):
        assert store.verify(wrong) is None, wrong


def test_list_shows_no_secret_and_revoke_refuses_at_once(store) -> None:
    key, secret = store.create("ana", "read", ["default"])
    store.create("boss", "admin", None)
    listed = store.listed()
    assert [(k.name, k.role, k.collections, k.revoked) for k in listed] == [
        ("ana", "read", ("default",), False), ("boss", "admin", None, False)]
    assert all(secret not in repr(k) for k in listed)
    assert store.verify(secret) is not None
    assert store.revoke(key.id).revoked
    assert store.verify(secret) is None  # the verified cache does not outlive a revocation
    assert store.revoke("boss").revoked  # by name too
    assert store.any()  # revoked keys still close the server
    with pytest.raises(KeyNotFoundError, match="no key 'nope'"):
        store.revoke("nope")


def test_bad_keys_are_refused_by_name(store) -> None:
    with pytest.raises(BadInputError, match="role must be one of read, write, admin"):
        store.create("x", "owner", ["default"])
    with pytest.raises(BadInputError, match="names its collections"):
        store.create("x", "read", None)
    with pytest.raises(BadInputError, match="an admin key opens every collection"):
        store.create("x", "admin", ["desk"])
    with pytest.raises(BadInputError, match="not a collection name"):
        store.create("x", "read", ["Desk Europe"])
    with pytest.raises(BadInputError, match="not a key name"):
        store.create("a b", "read", ["desk"])
    store.create("x", "read", ["*"])
    with pytest.raises(BadInputError, match="a key named 'x' exists already"):
        store.create("x", "write", ["desk"])
    assert [k.collections for k in store.listed()] == [None]


def test_the_sqlite_file_keeps_salted_hashes_only(tmp_path: Path) -> None:
    store = SqliteKeyStore(tmp_path / KEYS_FILE)
    assert not store.any() and not (tmp_path / KEYS_FILE).exists()  # reading makes no file
    _, first = store.create("a", "read", ["default"])
    _, second = store.create("b", "read", ["default"])
    assert stat.S_IMODE((tmp_path / KEYS_FILE).stat().st_mode) == 0o600
    raw = (tmp_path / KEYS_FILE).read_bytes()
    assert first.encode() not in raw and second.encode() not in raw
    rows = sqlite3.connect(tmp_path / KEYS_FILE).execute(
        "SELECT salt, hash FROM api_keys").fetchall()
    assert len({salt for salt, _ in rows}) == 2 and len({h for _, h in rows}) == 2


def test_last_use_is_recorded(store) -> None:
    key, secret = store.create("ana", "read", ["default"])
    assert store.get(key.id).last_used_at is None
    store.verify(secret)
    assert store.get(key.id).last_used_at is not None
