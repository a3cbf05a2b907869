"""A read-only index, one another process is writing, and a full disk (issue 24 item 5), through
the real `rag` command: readers answer at once and write nothing; writers fail with a named
error (busy, read-only, no space) and the index keeps its last committed state."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import probes
import pytest

SAMPLE = probes.REPO / "data" / "sample"


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("sample") / "index"
    result = probes.rag("ingest", str(SAMPLE), "--index", str(index))
    assert result.returncode == 0, result.stderr
    return index


def copy_of(index: Path, to: Path, *, stale: bool = False) -> Path:
    """A copy of ``index`` at ``to``; ``stale``: without its derived FAISS and BM25 files, so a
    reader has to rebuild them."""
    shutil.copytree(index, to)
    if stale:
        for name in ("vectors.faiss", "bm25-builds.json"):
            (to / name).unlink()
    return to


def assert_read_and_refused(results: dict, why: str) -> None:  # type: ignore[type-arg]
    assert probes.answered(results["stats"], 7), results["stats"].stderr
    assert probes.answered(results["ask"], 7), results["ask"].stderr
    assert probes.refused(results["ingest"], why), results["ingest"].stderr


def test_stats_and_ask_read_a_read_only_mount(sample_index: Path, tmp_path: Path) -> None:
    source = copy_of(sample_index, tmp_path / "src" / "index", stale=True)
    feed = probes.write_jsonl(tmp_path / "feed.jsonl", 2, "ro")
    with probes.mount(tmp_path / "ro", ["--bind", str(source.parent)],
                      ["-o", "remount,ro,bind"]) as refused:
        if refused:
            pytest.skip(refused)
        index = tmp_path / "ro" / "index"
        results = probes.readers_and_a_writer(index, feed)
        new = probes.rag("ingest", str(feed), "--index", str(tmp_path / "ro" / "new"))
    assert_read_and_refused(results, f"error: index at {index} is read-only")
    assert probes.refused(new, f"cannot create the index folder {tmp_path / 'ro' / 'new'} "
                               "(Read-only file system)"), new.stderr
    assert "rebuilt in memory, not saved (opened read-only)" in results["ask"].stderr
    assert probes.sqlite_counts(source)[0] == 7


def test_stats_and_ask_never_take_the_write_lock_nor_write(sample_index: Path,
                                                           tmp_path: Path) -> None:
    """Without a mount: the lock file replaced by a folder fails any attempt to take it, and
    the derived files, removed, show whether anything was saved."""
    index = copy_of(sample_index, tmp_path / "index", stale=True)
    (index / "write.lock").unlink()
    (index / "write.lock").mkdir()
    store = (index / "store.sqlite").read_bytes()
    feed = probes.write_jsonl(tmp_path / "feed.jsonl", 2, "lock")
    results = probes.readers_and_a_writer(index, feed)
    assert_read_and_refused(results, f"{index / 'write.lock'}: Is a directory")
    assert (index / "store.sqlite").read_bytes() == store
    assert not (index / "vectors.faiss").exists() and not (index / "bm25-builds.json").exists()


def test_readers_answer_while_another_process_writes_and_a_writer_gives_up(
        sample_index: Path, tmp_path: Path) -> None:
    index = copy_of(sample_index, tmp_path / "index")
    feed = probes.write_jsonl(tmp_path / "feed.jsonl", 2, "busy")
    with probes.writer_holding(index, seconds=900) as writer:
        # Before the fix both readers waited for the writer (here: for 900 s; they time out).
        results = probes.readers_and_a_writer(index, feed, env={"RAG_LOCK_TIMEOUT_S": "2"})
        still_writing = writer.poll() is None
    assert still_writing  # all three were done before the other writer finished
    assert_read_and_refused(results, f"error: index at {index} is busy")
    assert "RAG_LOCK_TIMEOUT_S" in results["ingest"].stderr
    assert probes.sqlite_counts(index)[0] == 7 and probes.index_problems(index) == []


def test_a_full_disk_is_named_and_the_index_keeps_its_last_commit(sample_index: Path,
                                                                  tmp_path: Path) -> None:
    size_kb = sum(f.stat().st_size for f in sample_index.rglob("*") if f.is_file()) // 1024
    feed = probes.write_jsonl(tmp_path / "feed.jsonl", 80, "full")
    disk = tmp_path / "disk"
    with probes.mount(disk, ["-t", "tmpfs", "-o", f"size={size_kb + 1024}k", "tmpfs"]) as refused:
        if refused:
            pytest.skip(refused)
        index = copy_of(sample_index, disk / "index")
        fill_all_but(disk, 64 * 1024)
        results = probes.readers_and_a_writer(index, feed)
        after = probes.rag("stats", "--index", str(index))
        problems = probes.index_problems(index)
    assert_read_and_refused(results, f"error: no disk space left for the index at {index}")
    assert probes.answered(after, 7) and problems == []


def fill_all_but(disk: Path, free_bytes: int) -> None:
    stat = os.statvfs(disk)
    (disk / "filler").write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - free_bytes))
