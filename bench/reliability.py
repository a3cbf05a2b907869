"""Reliability figures for issue 17 / docs/reliability.md: hostile items tried, named errors,
crashes, articles lost, and N runs of two `rag ingest` writers plus a reader on one index.

Probes (real `rag` subprocesses, real model, real FAISS; tests/reliability/probes.py):

  * the hostile corpus (every kind issue 17 listed) through `rag ingest`;
  * 300 seeded random files (bytes of every supported type) through the loader;
  * hostile questions, k values and as-of dates through ``RagSystem.ask``;
  * kill -9 of a real ingest at several generations, then a re-run;
  * hostile links through `rag ingest` (issue 24): decompression bombs, headers or a body
    trickled past the deadline, malformed URLs, next to two good pages; the bombs' peak memory
    and the trickled headers' time measured in a fresh fetching process;
  * `rag stats`, `rag ask` and `rag ingest` on an index another process is writing, and on a
    read-only one (a read-only bind mount where permitted, and a lock file that cannot be made);
  * ``--runs`` two-writer-and-a-reader runs.

A crash is any exception but a named ``RagError`` (or a `rag` exit with a traceback)::

    python bench/reliability.py --runs 10
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the feed site
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reliability"))

import probes

from rag import Config, RagError, RagSystem
from rag.articles import SUPPORTED_SUFFIXES, load_path

QUESTIONS = ["What happened in December 9999?", "Where is the plant\ud800?", "\x1b[2J\x07?",
             "", "   ", "x" * 5000, "What happened yesterday?", "\u202eWho won?", "in 9999",
             "What happened last week?"]
KS = [None, -1, 0, "5", 2.5, True, 10**9, 3]
AS_OF = [None, "9999-12-31", "0001-01-01", "not a date", "2024-02-30", "2022-06-17"]


class Tally:
    def __init__(self) -> None:
        # Every item tried ends as exactly one of: ok (worked), named (refused with a named
        # error), crash.
        self.tried = self.ok = self.named = self.crashes = self.lost = 0
        self.crash_notes: list[str] = []

    def crash(self, note: str) -> None:
        self.crashes += 1
        self.crash_notes.append(note[:300])


def hostile_corpus(root: Path, tally: Tally) -> None:
    corpus = probes.hostile_corpus(root)
    index = root / "index"
    result = probes.rag("ingest", str(corpus.folder), "--index", str(index))
    tally.tried += corpus.items
    if result.returncode != 0 or "Traceback" in result.stderr:
        tally.crash(f"hostile ingest: {result.stderr[-300:]}")
    failed = probes.failures_of(result.stderr)
    tally.named += sum(1 for name, why in corpus.bad.items()
                       if why.lower() in failed.get(name, "").lower())
    found = probes.titles_by_word(index, list(corpus.good))
    tally.ok += sum(1 for word, title in corpus.good.items() if found.get(word) == title)
    tally.lost += sum(1 for word, title in corpus.good.items() if found.get(word) != title)
    problems = probes.stats_problems(index) + probes.index_problems(index)
    if problems:
        tally.crash(f"hostile invariants: {problems}")


def random_files(root: Path, tally: Tally, n: int = 300) -> None:
    rng = random.Random(17)
    seeds = [b"{", b"[", b'{"text": "', b"\xff\xfe", b"\xef\xbb\xbf", b"<html>", b"\x00",
             b"Title\n\n"]
    for i in range(n):
        folder = root / f"fuzz{i}"
        folder.mkdir(parents=True)
        suffix = rng.choice(sorted(SUPPORTED_SUFFIXES))
        data = rng.choice(seeds) + rng.randbytes(rng.randint(0, 400))
        (folder / f"f{suffix}").write_bytes(data)
        tally.tried += 1
        try:
            report = load_path(folder)
        except Exception as exc:  # a crash is exactly what this counts
            tally.crash(f"loader on {data[:40]!r}{suffix}: {type(exc).__name__}: {exc}")
            continue
        if report.failures:
            tally.named += all(f.reason for f in report.failures)
        else:
            tally.ok += bool(report.articles)


def questions(root: Path, tally: Tally) -> None:
    system = RagSystem(Config(index_dir=root / "sample"))
    system.ingest_paths([Path(__file__).resolve().parent.parent / "data" / "sample"])
    for q in QUESTIONS:
        for k in KS:
            for as_of in AS_OF:
                tally.tried += 1
                try:
                    tally.ok += bool(system.ask(q, k=k, reference_date=as_of).text)
                except RagError as exc:
                    tally.named += bool(str(exc))
                except Exception as exc:  # a crash is exactly what this counts
                    tally.crash(f"ask({q[:30]!r}, k={k!r}, as_of={as_of!r}): "
                                f"{type(exc).__name__}: {exc}")


def kill_nine(root: Path, tally: Tally, points: tuple[int, ...] = (0, 2, 5, 8)) -> int:
    root.mkdir(parents=True)
    feed = probes.write_jsonl(root / "feed.jsonl", 30, "k9")
    index = root / "index"
    args = ("ingest", str(feed), "--index", str(index), "--commit-every", "3")
    for at in points:
        tally.tried += 1
        proc = probes.start_rag(*args, log=root / f"kill-{at}.log")
        if probes.kill_when(proc, index, at) == -1:
            continue
        problems = probes.index_problems(index)
        if problems:
            tally.crash(f"after kill -9 at generation {at}: {problems}")
        else:
            tally.ok += 1
    done = probes.rag(*args)
    if done.returncode != 0:
        tally.crash(f"re-run after kill -9: {done.stderr[-300:]}")
    tally.lost += 30 - probes.sqlite_counts(index)[0]
    return len(points)


def hostile_fetches(root: Path, tally: Tally) -> dict[str, float]:
    """The hostile links' items in ``tally``; returns the bombs' peak memory and the
    trickled headers' time."""
    probe = probes.hostile_fetches(root)
    tally.tried += len(probe.expected) + len(probe.good)
    tally.named += len(probe.expected) - len(probe.unnamed)
    tally.ok += len(probe.good) - len(probe.lost)
    tally.lost += len(probe.lost)
    for crash in probe.crashes:
        tally.crash(crash)
    if "crash" in probe.measured:
        return {}
    return {"fetch_peak_mb_above_baseline": round(probe.measured["peak_mb"], 1),
            "slow_header_fetch_s": round(probe.slow_header_s, 2),
            "fetch_deadline_s": probes.FETCH_TIMEOUT_S}


def busy_and_read_only(root: Path, tally: Tally) -> None:
    """Readers must answer and a writer fail by name, on an index another process is writing
    and on read-only ones; none may lose an article (issue 24 item 5)."""
    sample = root / "sample"
    probes.rag("ingest", str(Path(__file__).resolve().parent.parent / "data" / "sample"),
               "--index", str(sample))
    feed = probes.write_jsonl(root / "feed.jsonl", 2, "locked")
    busy, lockless = (shutil.copytree(sample, root / name) for name in ("busy", "lockless"))
    with probes.writer_holding(busy):
        cases = {"busy": probes.readers_and_a_writer(busy, feed, {"RAG_LOCK_TIMEOUT_S": "2"})}
    (lockless / "write.lock").unlink()
    (lockless / "write.lock").mkdir()
    cases["lockless"] = probes.readers_and_a_writer(lockless, feed)
    with probes.mount(root / "ro", ["--bind", str(sample)], ["-o", "remount,ro,bind"]) as no:
        if no is None:
            cases["read-only mount"] = probes.readers_and_a_writer(root / "ro", feed)
    why = {"busy": "is busy", "lockless": "is read-only", "read-only mount": "is read-only"}
    for name, results in cases.items():
        tally.tried += len(results)
        for command, result in results.items():
            if command == "ingest" and probes.refused(result, why[name]):
                tally.named += 1
            elif command != "ingest" and probes.answered(result, 7):
                tally.ok += 1
            else:
                tally.crash(f"{command} on a {name} index: {result.stderr[-300:]}")
    tally.lost += sum(7 - probes.sqlite_counts(index)[0] for index in (sample, busy, lockless))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="Two-writer runs (default 10).")
    parser.add_argument("--per-writer", type=int, default=20)
    parser.add_argument("--commit-every", type=int, default=2)
    args = parser.parse_args(argv)
    tally = Tally()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        hostile_corpus(root / "hostile", tally)
        random_files(root / "fuzz", tally)
        questions(root / "questions", tally)
        kills = kill_nine(root / "kill", tally)
        fetches = hostile_fetches(root / "fetch", tally)
        busy_and_read_only(root / "locked", tally)
        runs = []
        for i in range(args.runs):
            run = probes.two_writers_and_a_reader(root / f"two-{i}", args.per_writer,
                                                  args.commit_every)
            runs.append(run)
            tally.lost += max(0, 2 * args.per_writer - run.articles)
            print(f"two-process run {i + 1}: {'ok' if run.ok else 'FAILED'} "
                  f"(exits {run.returncodes}, {run.articles} articles, reader "
                  f"{run.reader.get('queries', 0)} queries)", flush=True)
            for problem in run.problems:
                print(f"  {problem}", flush=True)
    figures = {
        "items_tried": tally.tried, "worked": tally.ok, "named_errors": tally.named,
        "crashes": tally.crashes,
        "articles_lost": tally.lost, "kill_9_points": kills,
        "two_process_runs": len(runs), "two_process_failures": sum(not r.ok for r in runs),
        "reader_queries": sum(r.reader.get("queries", 0) for r in runs), **fetches,
        "seconds": round(time.perf_counter() - started),
    }
    for note in tally.crash_notes:
        print(f"crash: {note}")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
