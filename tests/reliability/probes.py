"""The reliability probes: a hostile corpus, real `rag` subprocesses, and the invariants an index
must keep after bad input, kill -9 and several processes. Used by tests/reliability/ and by
bench/reliability.py (which prints the figures of docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings import DEFAULT_BACKEND, model_identity

# The identity new indexes record: the packaged model on the default (int8) backend.
MODEL = model_identity("all-MiniLM-L6-v2", DEFAULT_BACKEND)
DIM = 384
REPO = Path(__file__).resolve().parents[2]


def rag_command() -> list[str]:
    """The `rag` console script of the running interpreter's environment (not whichever is
    first on PATH), else ``python -m rag_cli``."""
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rag_cli"]


def child_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1"}


def rag(*args: str, timeout: float = 600,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*rag_command(), *args], capture_output=True, text=True,
                          env={**child_env(), **(env or {})}, timeout=timeout, check=False)


def start_rag(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([*rag_command(), *args], stdout=out, stderr=subprocess.STDOUT,
                                env=child_env())


# --- corpora ------------------------------------------------------------------------------------
def story(n: int, tag: str = "s") -> tuple[str, str]:
    """Title and text of a short distinct story carrying the unique word ``{tag}marker{n}``."""
    towns = ["Arlen", "Brisk", "Corran", "Dunmore", "Ellis", "Farrow", "Glenby", "Hollin"]
    town = towns[n % len(towns)]
    return (f"{town} story {tag}{n}",
            f"The council of {town} met on day {n} to discuss the {tag}marker{n} proposal. "
            f"Residents said the plan number {n} would change the {town} harbour.")


def write_jsonl(path: Path, n: int, tag: str, start: int = 0) -> Path:
    lines = []
    for i in range(start, start + n):
        title, text = story(i, tag)
        lines.append(json.dumps({"doc_id": f"{tag}-{i}", "title": title, "text": text}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Corpus:
    """A folder of hostile inputs: ``good`` maps a unique word to the title it must arrive
    with; ``bad`` maps an input (file, or ``file line N``) to a word its error must name."""

    folder: Path
    good: dict[str, str] = field(default_factory=dict)
    bad: dict[str, str] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        return len(self.good) + len(self.bad)


def hostile_corpus(root: Path) -> Corpus:
    """Every kind of input issue 17 found trouble with, next to good files."""
    folder = root / "hostile"
    folder.mkdir(parents=True)
    c = Corpus(folder)

    def good(name: str, data: bytes, word: str, title: str, kind: str) -> None:
        (folder / name).write_bytes(data)
        c.good[word] = title
        c.kinds.append(kind)

    def bad(name: str, data: bytes, reason: str, kind: str) -> None:
        (folder / name).write_bytes(data)
        c.bad[name] = reason
        c.kinds.append(kind)

    for i in range(3):
        title, text = story(i, "plain")
        good(f"plain{i}.txt", f"{title}\n\n{text}".encode(), f"plainmarker{i}", title, "plain")
    good("escapes.txt", "Evil\x1b[2J\x07 title \u202eexe\n\nThe escmarker0 story is here."
         .encode(), "escmarker0", "Evil[2J title exe", "terminal escapes in a title")
    good("utf16.txt", "Grüße aus Köln\n\nDie utfmarker0 Zeitung berichtet.".encode("utf-16"),
         "utfmarker0", "Grüße aus Köln", "UTF-16 with BOM")
    good("stray.txt", "Le café\n\nLe café straymarker0".encode() + b"\xff" + b" ouvre.",
         "straymarker0", "Le café", "UTF-8 with a stray byte")
    good("legacy.txt", "Résumé\n\nLe cp1252marker0 était là.".encode("cp1252"),
         "cp1252marker0", "Résumé", "Windows-1252")
    good("page.html", b"<html><head><title>Harbour opens</title></head><body><article><p>The "
         b"htmlmarker0 harbour opened on Monday after a long debate in the town hall, the "
         b"mayor said.</p><script>alert(1)</script></article></body></html>",
         "htmlmarker0", "Harbour opens", "HTML with a script")
    lines = [json.dumps({"doc_id": "j1", "title": "Jay one", "text": "The jsonmarker1 news."}),
             '{"doc_id": "j2", "title": "nul\x00", "text": "x"}',
             '{"title": "cut off", "text": ',
             "[" * 50_000 + "]" * 50_000,
             json.dumps({"doc_id": "j3", "title": "Jay three", "text": "The jsonmarker3 news."})]
    (folder / "feed.jsonl").write_bytes("\n".join(lines).encode())
    c.good.update(jsonmarker1="Jay one", jsonmarker3="Jay three")
    c.bad.update({"feed.jsonl line 2": "NUL", "feed.jsonl line 3": "malformed JSON",
                  "feed.jsonl line 4": "nested too deeply"})
    c.kinds += ["JSONL record", "JSONL record", "NUL in a JSONL line", "cut-off JSONL line",
                "deep JSONL line"]
    bad("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply", "deep JSON")
    bad("empty.txt", b"", "empty file", "empty file")
    bad("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary",
        "binary file")
    bad("broken.json", b'[{"title": "x", "text": "y"', "malformed JSON", "malformed JSON")
    bad("notext.json", b'{"title": "only a title"}', "no 'text'", "record without text")
    c.bad["notext.json item 0"] = c.bad.pop("notext.json")
    bad("noarticle.html", b"<html><body><img src=a.png></body></html>", "no article text",
        "HTML without text")
    secret = root / "secret.txt"
    secret.write_text("Secret\n\nThe password is hunter2.", encoding="utf-8")
    (folder / "link.txt").symlink_to(secret)
    c.bad["link.txt"] = "outside"
    c.kinds.append("link out of the folder")
    return c


def failures_of(stderr: str) -> dict[str, str]:
    """``{input name relative to its folder: reason}`` from `rag ingest`'s "skipped" lines."""
    out = {}
    for line in stderr.splitlines():
        m = re.match(r"skipped (.+?): (.*)$", line)
        if m:
            out[Path(m.group(1)).name] = m.group(2)
    return out


# --- hostile links (issue 24) ------------------------------------------------------------------
FETCH_TIMEOUT_S = 3.0
HOSTILE_PATHS = {  # a path on the feed site: the words its error must hold
    "/bomb/gzip": "more than the 5,000,000 bytes allowed",  # each bomb: 512 MB of zeros
    "/bomb/gzip-gzip": "more than the 5,000,000 bytes allowed",
    "/bomb/gzip-3": "3 content encodings",
    "/bomb/zstd": "content encoding zstd is not accepted",
    "/trickle/headers": f"no answer within {FETCH_TIMEOUT_S:g} s",  # a header every 0.2 s
    "/trickle/body": f"no answer within {FETCH_TIMEOUT_S:g} s",
}
GOOD_PAGES = {  # a path on the feed site: a phrase of its text, and its title
    "/news/harbour.html": ("Norrvik harbour tunnel", "Harbour tunnel reopens after repairs"),
    "/news/library.html": ("maritime museum", "Old library to become a museum"),
}


@dataclass
class FetchProbe:
    """Hostile links and two good pages through one `rag ingest`, then each hostile link of
    the feed site fetched in a fresh process that measures itself."""

    index: Path
    expected: dict[str, str]  # hostile URL: the words its error must hold
    said: dict[str, str]  # input name (as failures_of keys it): the reason `rag ingest` gave
    good: list[str]
    lost: list[str]
    measured: dict  # tests/feedsite.fetch_measured's answer (the links of the feed site)
    crashes: list[str] = field(default_factory=list)

    @property
    def unnamed(self) -> dict[str, str]:
        """The hostile URLs whose skip reason lacks the expected words: what was said."""
        return {url: self.said.get(Path(url).name, "") for url, words in self.expected.items()
                if words not in self.said.get(Path(url).name, "")}

    @property
    def fetches(self) -> dict[str, dict]:
        """URL: {"error", "seconds"} of each link fetched in the measuring process."""
        return self.measured.get("fetches", {})

    @property
    def slow_header_s(self) -> float:
        return next(f["seconds"] for u, f in self.fetches.items() if u.endswith("/headers"))


def hostile_fetches(root: Path) -> FetchProbe:
    """Decompression bombs, trickled headers and body and malformed links next to two good
    pages, pasted into `rag ingest` (as into the page's "Fetch links") with a 3 s deadline."""
    from feedsite import MALFORMED_LINKS, FeedSite, bomb, fetch_measured

    for path in HOSTILE_PATHS:  # made before they are served: it takes seconds
        if path.startswith("/bomb/"):
            bomb(path.removeprefix("/bomb/"))
    site = FeedSite(trickle_s=20)
    try:
        expected = {site.url(path): words for path, words in HOSTILE_PATHS.items()}
        expected.update({link: "not a valid URL" for link in MALFORMED_LINKS})
        good = {site.url(path): page for path, page in GOOD_PAGES.items()}
        index = root / "index"
        result = rag("ingest", *expected, *good, "--index", str(index), env={
            "RAG_ALLOW_PRIVATE_URLS": "1", "RAG_FETCH_TIMEOUT_S": f"{FETCH_TIMEOUT_S:g}"})
        crashes = ([f"rag ingest of hostile links: {result.stderr[-300:]}"]
                   if result.returncode != 0 or "Traceback" in result.stderr else [])
        found = titles_by_word(index, [word for word, _ in good.values()]) \
            if (index / "store.sqlite").exists() else {}
        lost = [url for url, (word, title) in good.items() if found.get(word) != title]
        measured = fetch_measured(site.url("/news/harbour.html"),
                                  [url for url in expected if url.startswith(site.base)],
                                  FETCH_TIMEOUT_S)
    finally:
        site.close()
    if "crash" in measured:
        crashes.append(f"fetching the hostile links: {measured['crash']}")
    return FetchProbe(index, expected, failures_of(result.stderr), list(good), lost, measured,
                      crashes)


# --- invariants ----------------------------------------------------------------------------------
def sqlite_counts(index: Path) -> tuple[int, int]:
    with sqlite3.connect(f"file:{index / 'store.sqlite'}?mode=ro", uri=True) as db:
        return (db.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])


def generation(index: Path) -> int:
    """The committed generation, read without taking any lock (0 once the index is created and
    before its first commit; -1 before it is created)."""
    if not (index / "store.sqlite").exists():
        return -1
    try:
        with sqlite3.connect(f"file:{index / 'store.sqlite'}?mode=ro", uri=True,
                             timeout=1) as db:
            row = db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else -1
    except sqlite3.Error:
        return -1


def stats_problems(index: Path) -> list[str]:
    """`rag stats` must say what SQLite holds."""
    result = rag("stats", "--index", str(index))
    if result.returncode != 0:
        return [f"rag stats failed: {result.stderr.strip()}"]
    said = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    articles, chunks = sqlite_counts(index)
    if (int(said["articles"]), int(said["chunks"])) != (articles, chunks):
        return [f"rag stats says {said['articles'].strip()} articles / {said['chunks'].strip()} "
                f"chunks, SQLite holds {articles} / {chunks}"]
    return []


def index_problems(index: Path, probes: int = 8) -> list[str]:
    """The index opens; FAISS (in memory and on disk) holds SQLite's vectors under SQLite's
    chunk ids; and searches agree with an exact index rebuilt from SQLite."""
    import faiss

    from rag.index import open_index

    opened = open_index("faiss", index, model=MODEL, dimension=DIM, create=False)
    try:
        problems = opened.verify()
        with sqlite3.connect(f"file:{index / 'store.sqlite'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT c.id, v.vector FROM chunks c JOIN vectors v "
                              "ON v.key=c.key").fetchall()
        if rows:
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            rebuilt = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
            rebuilt.add_with_ids(vecs, ids)
            rng = np.random.default_rng(0)
            queries = [vecs[i] for i in rng.choice(len(vecs), min(probes, len(vecs)),
                                                   replace=False)]
            for q in queries:
                k = min(5, len(rows))
                _, want = rebuilt.search(q.reshape(1, -1), k)
                got = [h.chunk for h in opened.search(q, k)]
                got_ids = {r[0] for r in _chunk_ids(index, got)}
                if got_ids != {int(i) for i in want[0]}:
                    problems.append("a search disagrees with the index rebuilt from SQLite")
                    break
        return problems
    finally:
        opened.close()


def _chunk_ids(index: Path, chunks: list) -> list[tuple[int]]:  # type: ignore[type-arg]
    with sqlite3.connect(f"file:{index / 'store.sqlite'}?mode=ro", uri=True) as db:
        return [db.execute("SELECT id FROM chunks WHERE article_id=? AND ordinal=?",
                           (c.article_id, c.ordinal)).fetchone() for c in chunks]


def titles_by_word(index: Path, words: list[str]) -> dict[str, str | None]:
    """The title of the article whose text holds each word (None: lost)."""
    with sqlite3.connect(f"file:{index / 'store.sqlite'}?mode=ro", uri=True) as db:
        return {w: (row[0] if (row := db.execute(
            "SELECT title FROM articles WHERE instr(text, ?) > 0", (w,)).fetchone()) else None)
            for w in words}


# --- kill -9 --------------------------------------------------------------------------------------
def kill_when(proc: subprocess.Popen[bytes], index: Path, at_generation: int,
              timeout: float = 300) -> int:
    """SIGKILL ``proc`` as soon as the index reaches ``at_generation`` (0: created, nothing
    committed yet); returns the generation seen, or -1 if the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return -1
        seen = generation(index)
        if seen >= at_generation:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return seen
        time.sleep(0.005)
    proc.kill()
    raise TimeoutError(f"index {index} never reached generation {at_generation}")


# --- two writers and a reader -----------------------------------------------------------------
READER = textwrap.dedent('''
    """Asks and searches while other processes write; prints a JSON line of what it saw."""
    import json, sys, time
    from pathlib import Path
    from rag import Config, RagSystem
    index, stop = Path(sys.argv[1]), Path(sys.argv[2])
    system = RagSystem(Config(index_dir=index))  # model loaded before the writers start
    system.embedder.embed_query("warm up")
    print("ready", flush=True)
    seen = {"queries": 0, "asks": 0, "errors": [], "misses": 0, "max_articles": 0}
    last = 0
    while True:
        done = stop.exists()
        try:
            listed = system.index.list_articles()
            if len(listed) < last:
                seen["errors"].append(f"articles went from {last} to {len(listed)}")
            last = len(listed)
            seen["max_articles"] = max(seen["max_articles"], last)
            if listed:
                article = listed[seen["queries"] % len(listed)][0]
                chunk = system.index.chunks_of(article.id)[0]
                hits = system.index.search(system.embedder.embed_query(chunk.embed_text), 3)
                if not hits or hits[0].article.id != article.id:
                    seen["misses"] += 1
                if seen["queries"] % 4 == 0:
                    system.ask(article.title, k=3)
                    seen["asks"] += 1
                seen["queries"] += 1
            else:
                time.sleep(0.05)  # nothing committed yet
        except Exception as exc:
            seen["errors"].append(f"{type(exc).__name__}: {exc}")
        if done:
            break
    print(json.dumps(seen))
''')


@dataclass
class TwoWriterRun:
    returncodes: list[int]
    outputs: list[str]
    reader: dict
    articles: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def two_writers_and_a_reader(root: Path, per_writer: int = 15, commit_every: int = 3,
                             reader: bool = True) -> TwoWriterRun:
    """Two `rag ingest` processes on one new index at once (and a process reading it all the
    while); then every article must be in and the invariants hold."""
    root.mkdir(parents=True, exist_ok=True)
    index = root / "index"
    files = [write_jsonl(root / f"{tag}.jsonl", per_writer, tag) for tag in ("wa", "wb")]
    stop = root / "stop"
    reader_proc = None
    if reader:
        reader_proc = subprocess.Popen(
            [sys.executable, "-c", READER, str(index), str(stop)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=child_env())
        assert reader_proc.stdout is not None
        if reader_proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the reader did not start: {reader_proc.stderr.read()[-500:]}")
    writers = [start_rag("ingest", str(f), "--index", str(index), "--commit-every",
                         str(commit_every), log=root / f"{f.stem}.log") for f in files]
    codes = [w.wait(timeout=900) for w in writers]
    stop.touch()
    seen: dict = {}
    problems: list[str] = []
    if reader_proc is not None:
        out, err = reader_proc.communicate(timeout=600)
        try:
            seen = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            problems.append(f"reader crashed: {err[-500:]}")
        problems += [f"reader: {e}" for e in seen.get("errors", [])[:5]]
        if seen.get("misses"):
            problems.append(f"reader: {seen['misses']} search(es) missed a committed article")
    outputs = [(root / f"{f.stem}.log").read_text(errors="replace") for f in files]
    problems += [f"writer {i} exited {c}: {outputs[i][-300:]}" for i, c in enumerate(codes) if c]
    articles = sqlite_counts(index)[0] if (index / "store.sqlite").exists() else 0
    if articles != 2 * per_writer:
        problems.append(f"{articles} of {2 * per_writer} articles in the index")
    problems += index_problems(index)
    return TwoWriterRun(codes, outputs, seen, articles, problems)


# --- a busy index, a read-only one, a full disk (issue 24) --------------------------------------
SAMPLE_QUESTION, SAMPLE_ANSWER = "Where is the nuclear plant being built?", "Bushehr"


def readers_and_a_writer(index: Path, feed: Path, env: dict[str, str] | None = None,
                         ) -> dict[str, subprocess.CompletedProcess[str]]:
    """`rag stats`, `rag ask` (the sample corpus's question) and `rag ingest FEED` on
    ``index``, one after the other."""
    return {"stats": rag("stats", "--index", str(index), timeout=300, env=env),
            "ask": rag("ask", SAMPLE_QUESTION, "--index", str(index), timeout=300, env=env),
            "ingest": rag("ingest", str(feed), "--index", str(index), timeout=300, env=env)}


def answered(result: subprocess.CompletedProcess[str], articles: int) -> bool:
    """A `rag stats` that counted ``articles``, or a `rag ask` that found the sample answer."""
    said = f"articles: {articles}" in result.stdout or SAMPLE_ANSWER in result.stdout
    return result.returncode == 0 and said and "Traceback" not in result.stderr


def refused(result: subprocess.CompletedProcess[str], why: str) -> bool:
    """A command that failed with one named error saying ``why``."""
    return (result.returncode == 1 and "error: " in result.stderr and why in result.stderr
            and "Traceback" not in result.stderr)


HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    from filelock import FileLock
    lock = FileLock(sys.argv[1] + "/write.lock")
    lock.acquire()
    db = sqlite3.connect(sys.argv[1] + "/store.sqlite", isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE meta SET value='writing' WHERE key='format'")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
""")


@contextmanager
def writer_holding(index: Path, seconds: float = 900) -> Iterator[subprocess.Popen[str]]:
    """Another process mid-write on ``index`` (for at most ``seconds``): it holds the write
    lock and an open SQLite write transaction, rolled back when it is killed on exit."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(index), str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env())
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "holding":
            raise RuntimeError(f"the holder did not start: {proc.communicate()[1][-500:]}")
        yield proc
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def mount(at: Path, *commands: list[str]) -> Iterator[str | None]:
    """``at`` mounted by each ``mount`` command in turn (its arguments before ``at``) and
    unmounted on exit; yields None, or why not where mounting is not permitted (it needs root
    or CAP_SYS_ADMIN). ``mount(at, ["--bind", src], ["-o", "remount,ro,bind"])`` is ``src``
    read-only, even to root; ``mount(at, ["-t", "tmpfs", "-o", "size=2m", "tmpfs"])`` a
    small disk."""
    at.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        yield "no `mount` command here"
        return
    mounted = False
    try:
        for args in commands:
            result = subprocess.run(["mount", *args, str(at)], capture_output=True, text=True,
                                    check=False)
            if result.returncode != 0:
                yield f"`mount {' '.join(args)}` is not permitted here: {result.stderr.strip()}"
                return
            mounted = True
        yield None
    finally:
        if mounted:
            # Lazy: a connection the garbage collector has not closed yet must not keep it.
            subprocess.run(["umount", "--lazy", str(at)], check=False)
