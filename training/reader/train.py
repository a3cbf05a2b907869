"""Trains the short-answer reader: MiniLM (the embedding model's weights) with a span head.

SQuAD 2.0's convention: an answer is a (start, end) pair of tokens of the window; "not stated"
points both at the [CLS] token. One pass over the generated data (training/reader/generate.py)
took 62 minutes on 2 cores (36,220 examples, 2,264 steps). Checkpoints go to ``--work``
every ``--save-every`` steps and a rerun resumes from the last one; the trained model is saved
to ``--work``/final, at the schedule's end or at ``--stop-at`` (the learning rate still follows
the whole schedule, so a run stopped there is the same as one stopped and resumed).

    python -m training.reader.train --data training/data/reader.jsonl --work training/runs/reader
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

MAX_LENGTH = 192
MAX_QUESTION_TOKENS = 40


def encode(tokenizer, question: str, context: str, answer_start: int, answer: str
           ) -> dict | None:
    """Token ids and the answer's (start, end) token positions; (0, 0) for no answer. None when
    the answer falls outside the truncated window."""
    enc = tokenizer(question, context, truncation="only_second", max_length=MAX_LENGTH,
                    return_offsets_mapping=True)
    if answer_start < 0:
        start = end = 0
    else:
        a, b = answer_start, answer_start + len(answer)
        seq = enc.sequence_ids()
        start = end = None
        for i, (s, e) in enumerate(enc["offset_mapping"]):
            if seq[i] != 1:
                continue
            if start is None and s <= a < e:
                start = i
            if s < b <= e:
                end = i
        if start is None or end is None or end < start:
            return None
    return {"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
            "start": start, "end": end}


def batches(items: list[dict], size: int, rng: random.Random) -> list[list[dict]]:
    """Batches of similar length (less padding), in random order."""
    order = sorted(range(len(items)), key=lambda i: (len(items[i]["input_ids"]), rng.random()))
    groups = [[items[i] for i in order[k:k + size]] for k in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def collate(batch: list[dict]):  # type: ignore[no-untyped-def]
    import torch

    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for r, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[r, :n] = torch.tensor(b["input_ids"])
        types[r, :n] = torch.tensor(b["token_type_ids"])
        mask[r, :n] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask,
            "start_positions": torch.tensor([b["start"] for b in batch]),
            "end_positions": torch.tensor([b["end"] for b in batch])}


def keep_layers(model: Any, layers: int) -> None:
    """Cut ``model`` (a BERT-style question-answering model) to its first ``layers``
    transformer layers, in place; its config says so, so the saved model loads as it is."""
    encoder = model.base_model.encoder
    have = len(encoder.layer)
    if not 0 < layers <= have:
        raise ValueError(f"--layers {layers}: the base has {have} layers")
    encoder.layer = encoder.layer[:layers]
    model.config.num_hidden_layers = layers


def main(data: Annotated[Path, typer.Option()] = Path("training/data/reader.jsonl"),
         work: Annotated[Path, typer.Option()] = Path("training/runs/reader"),
         base: Annotated[str, typer.Option(help="Start model.")] = "all-MiniLM-L6-v2",
         epochs: Annotated[float, typer.Option()] = 1.0,
         batch_size: Annotated[int, typer.Option()] = 16,
         lr: Annotated[float, typer.Option()] = 1e-4,
         seed: Annotated[int, typer.Option()] = 13,
         threads: Annotated[int, typer.Option()] = 2,
         save_every: Annotated[int, typer.Option()] = 200,
         max_examples: Annotated[int, typer.Option(help="0: all.")] = 0,
         extra: Annotated[list[Path] | None, typer.Option(
             help="More examples: llm_questions.py output (kept ones).")] = None,
         stop_at: Annotated[int, typer.Option(
             help="Save the model after this step of the schedule (0: at its end).")] = 0,
         layers: Annotated[int, typer.Option(
             help="Keep the base's first N transformer layers (0: all): a smaller reader.")] = 0,
         replay: Annotated[Path | None, typer.Option(
             help="Fine-tuning: also a seeded sample of this data, so that the base "
                  "(a trained reader) keeps what it learned.")] = None,
         replay_count: Annotated[int, typer.Option(help="Examples sampled from --replay.")] = 0,
         ) -> None:
    import torch
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    from embeddings.sentence_transformers import resolve_model_path

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = random.Random(seed)
    path = resolve_model_path(base)
    tokenizer = AutoTokenizer.from_pretrained(path)
    rows = [json.loads(line) for line in data.open(encoding="utf-8")]
    if max_examples:
        rows = rows[:max_examples]
    if replay is not None:
        pool = [json.loads(line) for line in replay.open(encoding="utf-8")]
        rows += rng.sample(pool, min(replay_count, len(pool)))
    for path in extra or []:
        rows += [r["example"] for r in map(json.loads, path.open(encoding="utf-8"))
                 if r.get("kept")]
    items = [e for r in rows
             for e in [encode(tokenizer, r["question"], r["context"], r["answer_start"],
                              r["answer"])] if e]
    print(f"{len(items)} of {len(rows)} examples encoded", file=sys.stderr, flush=True)
    plan = batches(items, batch_size, rng)
    total = int(len(plan) * epochs)
    plan = (plan * (int(epochs) + 1))[:total]
    work.mkdir(parents=True, exist_ok=True)
    ckpt = work / "checkpoint.pt"
    model = AutoModelForQuestionAnswering.from_pretrained(path)
    if layers:
        keep_layers(model, layers)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(opt, int(0.06 * total), total)
    first = 0
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        first = state["step"]
        print(f"resumed at step {first}", file=sys.stderr, flush=True)
    model.train()
    log = (work / "progress.jsonl").open("a")
    t0, running = time.monotonic(), []
    last = min(total, stop_at) if stop_at else total
    if first > last:
        raise SystemExit(f"{ckpt} is at step {first}, past --stop-at {stop_at}")
    for step in range(first, last):
        out = model(**collate(plan[step]))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        running.append(float(out.loss.detach()))
        if (step + 1) % 20 == 0:
            rec = {"step": step + 1, "of": total, "loss": sum(running) / len(running),
                   "s": round(time.monotonic() - t0, 1)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(rec, file=sys.stderr, flush=True)
            running = []
        if (step + 1) % save_every == 0 or step + 1 == last:
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "step": step + 1}, tmp)
            tmp.replace(ckpt)
    final = work / "final"
    model.save_pretrained(final)
    tokenizer.save_pretrained(final)
    (final / "training.json").write_text(json.dumps({
        "data": str(data), "examples": len(items), "steps": last, "schedule_steps": total,
        "batch_size": batch_size,
        "lr": lr, "epochs": epochs, "seed": seed, "base": base,
        "replay": str(replay) if replay else None, "replay_count": replay_count,
        "layers": model.config.num_hidden_layers}, indent=2) + "\n")
    print(f"saved {final}", file=sys.stderr)


if __name__ == "__main__":
    typer.run(main)
