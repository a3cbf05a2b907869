"""How long `python app.py` takes to open the chat on the sample corpus, from nothing.

Three starts of the real app in a fresh folder, each timed until it prints ``Chat UI ready``:

- ``first``: an empty model cache and no index, as on a fresh clone right after
  ``pip install -e .`` (the int8 model is exported and quantized, the sample is indexed);
- ``export cached``: the model cache kept, a new index (what a second project on the machine
  pays);
- ``restart``: both kept (every later start).

The load average before and after each start is recorded, since 2 shared cores change the
figures more than anything in the code does. Run it on an idle machine::

    python bench/first_start.py --json bench/results/first-start.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READY = "Chat UI ready at "
MODEL_CACHE_ENV = "NEWS_RAG_MODEL_CACHE"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_once(index: Path, models: Path, log_path: Path, timeout_s: float = 600) -> float:
    """Seconds from launching ``python app.py`` until it says the chat is ready."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", MODEL_CACHE_ENV: str(models),
           "HF_HUB_OFFLINE": "1"}
    env.pop("RAG_API_KEY", None)
    started = time.perf_counter()
    with log_path.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(free_port()),
                                 "--index", str(index)], env=env, cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        while READY not in log_path.read_text():
            if proc.poll() is not None or time.perf_counter() - started > timeout_s:
                raise SystemExit(f"app.py did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        return time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def measure() -> dict[str, object]:
    """The three starts, in order, in one fresh folder."""
    with tempfile.TemporaryDirectory(prefix="bench-first-start-") as tmp:
        root = Path(tmp)
        models = root / "models"
        runs: list[dict[str, object]] = []
        for name, fresh_index in (("first", True), ("export cached", True), ("restart", False)):
            index = root / "index"
            if fresh_index and index.exists():
                shutil.rmtree(index)
            load_before = os.getloadavg()[0]
            had_export = any(models.rglob("*.onnx"))
            seconds = start_once(index, models, root / f"{name}.log")
            built = "Building the index" in (root / f"{name}.log").read_text()
            runs.append({"start": name, "seconds": round(seconds, 1),
                         "exported": not had_export and any(models.rglob("*.onnx")),
                         "indexed": built,
                         "load_before": round(load_before, 2),
                         "load_after": round(os.getloadavg()[0], 2)})
            print(f"{name:14s} {seconds:6.1f} s  (load {load_before:.2f} -> "
                  f"{os.getloadavg()[0]:.2f})", flush=True)
    first = float(runs[0]["seconds"])  # type: ignore[arg-type]
    restart = float(runs[2]["seconds"])  # type: ignore[arg-type]
    return {"cores": os.cpu_count(), "runs": runs,
            "first_over_restart": round(first / restart, 2) if restart else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    result = measure()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
