"""One path from question to Answer (issue #26, part 1): abilities declared, never probed; ask
and ask_stream run the same stages; the question is checked once; the Answer is made once."""

from __future__ import annotations

import ast
from dataclasses import FrozenInstanceError
from pathlib import Path

import httpx
import pytest
from support import REPO as ROOT

import rag.system
from rag import RagSystem
from rag.answering.base import Answerer
from rag.chain import CheckedAsk
from rag.system import check_ask
from rag.types import Answer, Reading, StageDone

# What an answerer may have: probing an object for one of these is asking an answerer.
ABILITIES = {name for name in vars(Answerer) if not name.startswith("_")} - {"name"}


def answerer_probes(root: Path) -> list[str]:
    """``hasattr``/``getattr`` calls under ``root`` (tests aside) that ask an object whether it
    has an answerer's ability, or ask an answerer anything: ``path:line: code``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if parts[0] == "tests" or any(p.startswith(".") or p == "venv" for p in parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("hasattr", "getattr") and len(node.args) >= 2):
                continue
            target, name = node.args[0], node.args[1]
            asked = name.value if isinstance(name, ast.Constant) else None
            if asked in ABILITIES or "answerer" in ast.unparse(target).lower():
                found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_answerer_ability_is_found_by_probing() -> None:
    assert {"can_stream", "can_condense", "depth", "stream", "condense"} <= ABILITIES
    assert answerer_probes(ROOT) == []


def test_the_probe_scan_finds_probes(tmp_path) -> None:
    (tmp_path / "old.py").write_text(
        "def f(answerer, reader):\n"
        "    if hasattr(reader, 'stream'):\n"
        "        return getattr(answerer, 'name', None)\n")
    assert answerer_probes(tmp_path) == [
        "old.py:2: hasattr(reader, 'stream')", "old.py:3: getattr(answerer, 'name', None)"]


class Scripted(Answerer):
    """Streams a scripted reply, then its Reading: the pipeline's logic without a model."""

    name = "scripted"
    can_stream = True

    def answer(self, question, hits):
        *_, reading = self.stream(question, hits)
        return reading

    def stream(self, question, hits):
        yield "Bushehr "
        yield "[1]."
        yield Reading(f"Bushehr, from {len(hits)} passages.", backend=self.name,
                      notes=["scripted"], timings_ms={"llm": 1.0})


@pytest.mark.slow
def test_ask_and_ask_stream_run_the_same_stages(sample_system: RagSystem) -> None:
    question, history = "and the jet engines?", ["What is Iran interested in?"]
    for backend in ("extractive", "openai"):
        if backend == "openai":
            sample_system._answerers["openai"] = Scripted()
        try:
            answer = sample_system.ask(question, history=history, backend=backend)
            *events, last = sample_system.ask_stream(question, history=history, backend=backend)
        finally:
            sample_system._answerers.pop("openai", None)
        assert isinstance(last, Answer)
        # The stream says each stage as it ends, the LLM's words between them; the stages'
        # times are the Answer's.
        found, *deltas, read = events
        assert isinstance(found, StageDone) and isinstance(read, StageDone)
        assert (found.name, found.query) == (
            "retrieve", "What is Iran interested in? and the jet engines?")
        # As deep as the answerer reads, at most (the sample corpus holds fewer passages).
        assert 0 < found.passages <= sample_system.answerer(backend).depth(
            sample_system.config.top_k)
        assert deltas == ([] if backend == "extractive" else ["Bushehr ", "[1]."])
        assert (last.timings_ms["retrieve"], last.timings_ms["answer"]) == (found.ms, read.ms)
        assert list(last.timings_ms) == list(answer.timings_ms)
        assert {**last.to_json(), "timings_ms": None} == {**answer.to_json(), "timings_ms": None}
        assert answer.notes[-1] == "searched for: What is Iran interested in? and the jet engines?"
    assert list(answer.timings_ms) == ["retrieve", "llm", "answer", "total"]
    assert answer.notes == ["scripted", answer.notes[-1]] and answer.backend == "scripted"
    with pytest.raises(FrozenInstanceError):
        answer.notes = []  # type: ignore[misc]


@pytest.fixture
def question_checks(monkeypatch) -> list[object]:
    """Every question ``rag.system.check_question`` is given, in order."""
    checked: list[object] = []
    real = rag.system.check_question

    def spy(question, config):
        checked.append(question)
        return real(question, config)

    monkeypatch.setattr(rag.system, "check_question", spy)
    return checked


@pytest.mark.slow
def test_a_checked_question_is_not_checked_again(sample_system: RagSystem,
                                                 question_checks) -> None:
    asked = check_ask(sample_system.config, " Where is the nuclear plant being built? ", k=3)
    assert isinstance(asked, CheckedAsk) and asked.question.startswith("Where")
    assert "Bushehr" in sample_system.ask(asked).text
    assert isinstance(list(sample_system.ask_stream(asked))[-1], Answer)
    assert question_checks == [" Where is the nuclear plant being built? "]
    with pytest.raises(TypeError, match="carries its options"):
        sample_system.ask(asked, k=4)


@pytest.mark.slow
def test_the_api_checks_a_question_once(sample_system: RagSystem, question_checks) -> None:
    from serve.api import create_api
    from serve.server import start

    server = start(create_api(sample_system))
    try:
        for stream in (False, True):
            reply = httpx.post(server.url + "v1/chat/completions", timeout=120, json={
                "model": "news-rag", "stream": stream,
                "messages": [{"role": "user", "content": "Where is the plant being built?"}]})
            assert reply.status_code == 200, reply.text
        asked = httpx.post(server.url + "v1/ask", timeout=120,
                           json={"question": "Where is the plant being built?"})
        assert asked.status_code == 200, asked.text
    finally:
        server.stop()
    assert question_checks == ["Where is the plant being built?"] * 3
