"""`rag keys create|list|revoke`, run as a user would (a subprocess); the model is never
loaded."""

from __future__ import annotations

from pathlib import Path

from rag.config import Config
from rag.keys import open_key_store
from tests.rag_cli.test_collections import rag


def test_keys_are_made_listed_and_revoked(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    assert rag("collections", "create", "desk", "--index", index).returncode == 0
    made = rag("keys", "create", "--role", "read", "--collections", "default,desk",
               "--name", "ana", "--index", index)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("rag_") and "copy it now" in made.stderr
    store = open_key_store(Config(index_dir=Path(index)))
    key = store.verify(secret)
    assert key is not None and key.collections == ("default", "desk")
    listed = rag("keys", "list", "--index", index)
    assert listed.stdout.split("\t")[:4] == [key.id, "ana", "read", "default,desk"]
    assert secret not in listed.stdout and secret.split("_")[-1] not in listed.stdout
    revoked = rag("keys", "revoke", "ana", "--index", index)
    assert revoked.returncode == 0 and f"revoked the key {key.id}" in revoked.stdout
    assert store.verify(secret) is None
    assert rag("keys", "list", "--index", index).stdout == ""
    assert "revoked 20" in rag("keys", "list", "--revoked", "--index", index).stdout


def test_bad_keys_are_refused_by_name(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    for args, message in ((["--role", "owner", "--collections", "default"], "role must be"),
                          (["--role", "read"], "names its collections"),
                          (["--role", "read", "--collections", "sports"],
                           "no collection 'sports'"),
                          (["--role", "admin", "--collections", "default"], "admin key opens")):
        refused = rag("keys", "create", *args, "--index", index)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    gone = rag("keys", "revoke", "nope", "--index", index)
    assert gone.returncode == 1 and "no key 'nope'" in gone.stderr


def test_mcp_over_http_refuses_an_index_with_keys_unless_given_one(tmp_path: Path) -> None:
    """As `rag serve`, `rag mcp --http` never opens an index that has keys to whoever reaches
    its port; a wrong key is named; stdio (the user's own process) is not concerned."""
    index = str(tmp_path / "index")
    assert rag("collections", "create", "desk", "--index", index).returncode == 0
    made = rag("keys", "create", "--role", "read", "--collections", "desk", "--index", index)
    assert made.returncode == 0, made.stderr
    refused = rag("mcp", "--http", "--port", "1", "--index", index, env={"RAG_MCP_KEY": ""})
    assert refused.returncode == 1, refused.stderr
    assert "this index has API keys" in refused.stderr and "RAG_MCP_KEY" in refused.stderr
    assert "Traceback" not in refused.stderr
    wrong = rag("mcp", "--http", "--port", "1", "--index", index,
                env={"RAG_MCP_KEY": "rag_not_a_key"})
    assert wrong.returncode == 1 and "RAG_MCP_KEY" in wrong.stderr, wrong.stderr
