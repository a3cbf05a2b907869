"""Load benchmark of the server: one client alone, then N concurrent clients, in one run.

Each client is a loop of ``POST /v1/chat/completions`` (non-streaming, keep-alive) over the
questions of eval/questions/sample.jsonl, for ``--seconds`` per phase. Reported per phase:
requests, throughput (answers/s), latency p50/p95/max, errors (any non-200 reply or transport
failure). Without ``--url`` it starts ``python app.py`` on a free 127.0.0.1 port over a fresh
index of data/sample (built with ``rag ingest`` first), and stops it afterwards::

    python bench/serve.py --clients 20 --seconds 30
    python bench/serve.py --url http://127.0.0.1:7860/ --api-key KEY   # a running server

``--pg`` measures the pgvector backend instead (``RAG_PG_DSN``): data/sample ingested into a
fresh PostgreSQL index, then one server and two servers over it (the clients spread round-robin
over the two URLs, as a load balancer would), each at every ``--pg-clients`` count; the rows go
to ``--out`` (docs/deploy.md)::

    python bench/serve.py --pg --pg-clients 20 40 --seconds 20 --out bench/results/serve-pg.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "eval" / "questions" / "sample.jsonl"


@dataclass
class Phase:
    """What one phase measured: per-request latencies (s) of successes, and errors."""

    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_questions(path: Path = QUESTIONS) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text().splitlines() if line]


def run_phase(url: str | list[str], clients: int, seconds: float, questions: list[str],
              api_key: str | None, unique: bool = True) -> Phase:
    """``clients`` threads, each asking in a loop until ``seconds`` have passed; with several
    URLs, client i asks ``url[i % len(url)]``. ``unique`` tags each question (" (ask 3.17)")
    so that no answer comes from the server's query-vector cache, as with real users'
    questions."""
    urls = [url] if isinstance(url, str) else url
    phase = Phase(clients)
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(offset: int) -> None:
        asks = cycle(questions[offset % len(questions):] + questions[:offset % len(questions)])
        with httpx.Client(base_url=urls[offset % len(urls)], headers=headers,
                          timeout=120) as http:
            start_gate.wait()
            n = 0
            while time.monotonic() < deadline[0]:
                n += 1
                question = next(asks) + (f" (ask {offset}.{n})" if unique else "")
                began = time.monotonic()
                try:
                    reply = http.post("v1/chat/completions", json={
                        "model": "news-rag", "messages": [{"role": "user", "content": question}]})
                    ok = reply.status_code == 200 and "citations" in reply.json()
                    error = None if ok else f"HTTP {reply.status_code}: {reply.text[:200]}"
                except (httpx.HTTPError, ValueError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                elapsed = time.monotonic() - began
                with lock:
                    (phase.errors.append(error) if error else phase.latencies.append(elapsed))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    began = time.monotonic()
    deadline[0] = began + seconds
    start_gate.wait()
    for t in threads:
        t.join()
    phase.seconds = time.monotonic() - began  # includes the last requests' tails
    return phase


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_server(index: Path | str | None, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python app.py`` on 127.0.0.1 over ``index`` (default: a fresh index of data/sample);
    ``env``: the server's environment (default: this one's)."""
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        env = {**(env or os.environ), "GRADIO_ANALYTICS_ENABLED": "False"}
        env.pop("RAG_API_KEY", None)
        if index is None:
            index = Path(tmp) / "index"
            log(f"indexing data/sample into {index}")
            subprocess.run([sys.executable, "-m", "rag_cli", "ingest", str(REPO / "data/sample"),
                            "--index", str(index)], check=True, env=env, cwd=REPO,
                           stdout=subprocess.DEVNULL)
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as out:
            proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port",
                                     str(free_port()), "--index", str(index)], env=env,
                                    cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while "Chat UI ready at " not in log_path.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start:\n{log_path.read_text()}")
                time.sleep(0.3)
            yield log_path.read_text().split("Chat UI ready at ", 1)[1].split()[0]
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def report(single: Phase, many: Phase) -> str:
    rows = ["| clients | requests | seconds | answers/s | p50 ms | p95 ms | max ms | errors |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in (single, many):
        rows.append(f"| {p.clients} | {p.requests} | {p.seconds:.1f} | {p.throughput:.2f} | "
                    f"{p.percentile(50) * 1000:.0f} | {p.percentile(95) * 1000:.0f} | "
                    f"{max(p.latencies, default=float('nan')) * 1000:.0f} | "
                    f"{len(p.errors)} |")
    ratio = many.throughput / single.throughput if single.throughput else float("nan")
    rows.append(f"\nthroughput {many.clients} clients / 1 client = {ratio:.2f}x; "
                f"p50 latency {many.percentile(50) / single.percentile(50):.1f}x")
    return "\n".join(rows)


def warm_up(url: str, questions: list[str], api_key: str | None) -> None:
    log(f"warm-up against {url}: each question once")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        for question in questions:
            http.post("v1/chat/completions", json={"model": "news-rag", "messages": [
                {"role": "user", "content": question}]}).raise_for_status()


def phase_row(servers: int, p: Phase) -> dict:
    return {"servers": servers, "clients": p.clients, "requests": p.requests,
            "seconds": round(p.seconds, 1), "answers_per_s": round(p.throughput, 2),
            "p50_ms": round(p.percentile(50) * 1000), "p95_ms": round(p.percentile(95) * 1000),
            "max_ms": round(max(p.latencies, default=float("nan")) * 1000),
            "errors": len(p.errors)}


def bench_pg(args: argparse.Namespace, questions: list[str]) -> int:
    """One, then two servers over one PostgreSQL index of data/sample, at each client count."""
    import uuid
    from contextlib import ExitStack

    if not os.environ.get("RAG_PG_DSN"):
        raise SystemExit("--pg needs RAG_PG_DSN (source .ci/start.d/30-postgres.sh)")
    name = f"bench_serve_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "RAG_INDEX_BACKEND": "pgvector", "RAG_FEEDS_BACKGROUND": "0"}
    log(f"indexing data/sample into the PostgreSQL index {name}")
    subprocess.run([sys.executable, "-m", "rag_cli", "ingest", str(REPO / "data/sample"),
                    "--index", name], check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    rows: list[dict] = []
    load_before = os.getloadavg()[0]
    try:
        for servers in (1, 2):
            with ExitStack() as stack:
                urls = [stack.enter_context(local_server(name, env)) for _ in range(servers)]
                urls = [u if u.endswith("/") else u + "/" for u in urls]
                for url in urls:
                    warm_up(url, questions, None)
                for clients in args.pg_clients:
                    log(f"{servers} server(s), {clients} clients for {args.seconds:g} s")
                    phase = run_phase(urls, clients, args.seconds, questions, None,
                                      not args.repeat_questions)
                    rows.append(phase_row(servers, phase))
                    log(str(rows[-1]))
    finally:
        import psycopg

        from rag.index.store import schema_for

        with psycopg.connect(os.environ["RAG_PG_DSN"], autocommit=True) as db:
            db.execute(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE')
    result = {"what": f"POST /v1/chat/completions over a pgvector index of data/sample, the "
                      f"{len(questions)} questions of {QUESTIONS.name} in turn, "
                      f"{args.seconds:g} s per phase; two servers: clients round-robin",
              "cpus": os.cpu_count(), "load_before": round(load_before, 1),
              "load_after": round(os.getloadavg()[0], 1), "rows": rows}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print("| servers | clients | requests | answers/s | p50 ms | p95 ms | max ms | errors |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['servers']} | {r['clients']} | {r['requests']} | {r['answers_per_s']} | "
              f"{r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | {r['errors']} |")
    return 1 if any(r["errors"] for r in rows) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running server (default: start app.py locally).")
    parser.add_argument("--index", type=Path, help="Index for the local server (default: a "
                        "fresh one of data/sample).")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="Per phase.")
    parser.add_argument("--api-key", default=os.environ.get("RAG_API_KEY"))
    parser.add_argument("--repeat-questions", action="store_true",
                        help="Ask the questions verbatim (query vectors come from the cache).")
    parser.add_argument("--pg", action="store_true", help="One and two servers over "
                        "PostgreSQL (RAG_PG_DSN) instead of one FAISS server.")
    parser.add_argument("--pg-clients", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--out", type=Path, help="--pg: write the rows here as JSON.")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or min(args.pg_clients) < 1:
        parser.error("--clients and --pg-clients must be >= 1 and --seconds > 0")
    questions = load_questions()
    if args.pg:
        return bench_pg(args, questions)

    def bench(url: str) -> tuple[Phase, Phase]:
        url = url if url.endswith("/") else url + "/"
        warm_up(url, questions, args.api_key)
        unique = not args.repeat_questions
        log(f"1 client for {args.seconds:g} s")
        single = run_phase(url, 1, args.seconds, questions, args.api_key, unique)
        log(f"{args.clients} clients for {args.seconds:g} s")
        many = run_phase(url, args.clients, args.seconds, questions, args.api_key, unique)
        return single, many

    load_before = os.getloadavg()[0]
    if args.url:
        single, many = bench(args.url)
    else:
        with local_server(args.index) as url:
            single, many = bench(url)
    tagged = "verbatim" if args.repeat_questions else "each tagged unique"
    print(f"POST /v1/chat/completions, the {len(questions)} questions of {QUESTIONS.name} in "
          f"turn ({tagged}), {args.seconds:g} s per phase, {os.cpu_count()} CPUs shared "
          f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)")
    print(report(single, many))
    for error in (single.errors + many.errors)[:5]:
        print(f"error: {error}")
    return 1 if single.errors or many.errors else 0


if __name__ == "__main__":
    sys.exit(main())
