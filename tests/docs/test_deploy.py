"""docs/deploy.md's set-up commands, run as written (bar the install and the database's
address, which are CI's) against the CI database: the block after the line
``<!-- tested: tests/docs/test_deploy.py -->``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from support import REPO

pytestmark = [pytest.mark.pgvector, pytest.mark.slow]
MARK = "<!-- tested: tests/docs/test_deploy.py -->"


def deploy_block() -> list[str]:
    """The command lines of the block after MARK (comments after ``#`` dropped)."""
    text = (REPO / "docs" / "deploy.md").read_text()
    assert text.count(MARK) == 1
    block = text.split(MARK, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()
            if line.strip()]


def test_the_block_is_the_set_up() -> None:
    lines = deploy_block()
    assert lines[0] == 'pip install -e ".[pgvector]"'
    assert any(line.startswith("export RAG_PG_DSN=") for line in lines)
    assert "rag keys list" in lines and "rag collections create desk" in lines


def test_the_set_up_commands_run_as_written() -> None:
    dsn = os.environ.get("RAG_PG_DSN")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("in CI the pgvector tests must run: RAG_PG_DSN is not set")
        pytest.skip("RAG_PG_DSN is not set: no PostgreSQL server")
    name = f"test_deploy_{uuid.uuid4().hex[:8]}"
    script = ["set -e"]
    for line in deploy_block()[1:]:  # the install is this checkout's
        line = re.sub(r"RAG_PG_DSN=\S+", f"RAG_PG_DSN={dsn}", line)
        script.append(line.replace("RAG_INDEX_DIR=newsroom", f"RAG_INDEX_DIR={name}"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for key in ("RAG_INDEX_DIR", "RAG_FEEDS_DIR", "RAG_COLLECTIONS", "RAG_INDEX_BACKEND"):
        env.pop(key, None)
    try:
        run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr
        out = run.stdout
        assert out.startswith("added 7,"), out
        assert re.search(r"^added 8,", out, re.M), out
        keys = re.findall(r"^[0-9a-f]{12}\t(\S+)\t(\S+)\t(\S+)\t", out, re.M)
        assert keys == [("boss", "admin", "*"), ("desk-editor", "write", "desk"),
                        ("reader", "read", "default,desk")], out
        assert len(re.findall(r"^rag_[0-9a-f]{12}_\S+$", out, re.M)) == 3
        assert re.search(r"^1\t-\tevery 30m\tkeep all\t.*\thttp://127\.0\.0\.1:8901/rss\.xml$",
                         out, re.M), out
    finally:
        import psycopg

        from rag.index.store import schema_for

        with psycopg.connect(dsn, autocommit=True) as db:
            for index in (name, f"{name}/collections/desk"):
                db.execute(f'DROP SCHEMA IF EXISTS "{schema_for(index)}" CASCADE')
