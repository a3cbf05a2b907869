"""The library's import graph, read from its source with ``ast`` (STYLE.md 16, issue #26).

Every ``import`` and ``from ... import`` statement of every module under ``rag/`` counts,
wherever it stands: at the top, inside a function (a lazy import) or under
``if TYPE_CHECKING:``. The graph's nodes are the modules under ``rag/``, a package standing for
its ``__init__.py``. ``from rag.x import y`` is an edge to ``rag.x.y`` when that is a module,
else to ``rag.x``. Importing ``rag.x.y`` from outside ``rag.x`` also runs ``rag/x/__init__.py``
first, so it is an edge to the package ``rag.x`` too. The root ``rag/__init__.py`` is the
exception: it is the public face, re-exporting from everywhere, and Python runs it before any
submodule; an edge into it is counted only where a module writes ``from rag import ...``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from support import REPO as ROOT

LIBRARY = ROOT / "rag"
# The repository's shells and harnesses: they import the library, never the reverse.
SHELLS = ("serve", "eval", "ui", "app", "rag_cli", "bench", "training")
# The shells that serve users (the page, the server, the `rag` command): they use the library
# through its public names (issue #26 part 4).
USER_SHELLS = [ROOT / "app.py", *sorted(p for d in ("serve", "ui", "rag_cli")
                                        for p in (ROOT / d).rglob("*.py"))]


def module_name(path: Path) -> str:
    """``rag/answering/__init__.py`` -> ``rag.answering``; ``rag/text.py`` -> ``rag.text``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module under ``rag/`` by dotted name."""
    return {module_name(p): p for p in sorted(LIBRARY.rglob("*.py"))}


def imported_names(name: str) -> Iterator[str]:
    """The absolute names module ``name`` imports (``from a import b`` gives ``a.b`` when that
    is a library module, else ``a``), in every statement of the file."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                yield sub if sub in modules() else source


def edges(name: str) -> set[str]:
    """The library modules ``name`` imports, with the packages their import runs first."""
    out = set()
    for target in imported_names(name):
        if target.split(".")[0] != "rag":
            continue
        while target not in modules():  # rag.x.Name read as rag.x
            target = target.rpartition(".")[0]
        out.add(target)
        parts = target.split(".")
        for i in range(2, len(parts)):
            package = ".".join(parts[:i])
            if not (name == package or name.startswith(package + ".")):
                out.add(package)
    out.discard(name)
    return out


def graph() -> dict[str, set[str]]:
    """Every library module with the library modules it imports."""
    return {name: edges(name) for name in modules()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph`` with more than one node.

    >>> strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def within(name: str, package: str) -> bool:
    """Whether module ``name`` is ``package`` or inside it."""
    return name == package or name.startswith(package + ".")


def test_the_graph_sees_lazy_imports() -> None:
    # rag.notices imports the ONNX backend inside a function only; rag.feeds.sync imports
    # rag.system under TYPE_CHECKING only.
    assert "embeddings.onnx_int8" in set(imported_names("rag.notices"))
    assert "rag.system" in edges("rag.feeds.sync")


@pytest.mark.parametrize("name", sorted(modules()))
def test_the_library_never_imports_its_shells(name: str) -> None:
    shells = sorted({t.split(".")[0] for t in imported_names(name)
                     if t.split(".")[0] in SHELLS})
    assert shells == [], f"{name} imports {shells}"


@pytest.mark.parametrize("path", USER_SHELLS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_shells_use_the_library_by_its_public_names(path: Path) -> None:
    """No private name of the library imported (``rag.system._is_default_index`` was), and no
    reaching past ``RagSystem`` into its retriever (``RagSystem.search`` is the way in)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    private = [f"{node.module}.{alias.name}" for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rag"
               for alias in node.names if alias.name.startswith("_")]
    reached = [node.lineno for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr == "retriever"]
    assert not private, f"{path.name} imports {private}"
    assert not reached, f"{path.name} reaches system.retriever on lines {reached}"


@pytest.mark.parametrize("path", sorted((ROOT / "serve").rglob("*.py")),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_server_does_not_import_the_page(path: Path) -> None:
    # The upload checks the API shares with the page live in the library (rag/uploads.py).
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    page = sorted(n for n in names if n.split(".")[0] in ("ui", "app"))
    assert not page, f"{path.name} imports {page}"


def test_retrieval_and_answering_do_not_import_each_other() -> None:
    crossing = sorted(
        (name, target) for name, targets in graph().items() for target in targets
        for here, there in (("rag.retrieval", "rag.answering"), ("rag.answering", "rag.retrieval"))
        if within(name, here) and within(target, there))
    # They meet only above them, in rag.chain and rag.system.
    assert not crossing, crossing


EXTRACTIVE, RULES, SHARED = ("rag.answering.extractive", "rag.answering.reader",
                             "rag.answering.short_answer")
TRAINED = {"rag.answering.trained_reader", "rag.answering.span_reader"}
# The extractive answerer and the two short-answer readers share only rag/answering/
# short_answer.py; the answerer gets a reader by name through rag/answering/short_readers.py.
NOT_IMPORTED = {
    EXTRACTIVE: {RULES, *TRAINED},
    RULES: {EXTRACTIVE, *TRAINED},
    **{name: {EXTRACTIVE, RULES} for name in TRAINED},
    SHARED: {EXTRACTIVE, RULES, *TRAINED},
}


@pytest.mark.parametrize("name", sorted(NOT_IMPORTED))
def test_the_readers_do_not_import_each_other(name: str) -> None:
    crossing = sorted(edges(name) & NOT_IMPORTED[name])
    assert not crossing, f"{name} imports {crossing}"


def test_no_import_cycle() -> None:
    assert strongly_connected(graph()) == []


def test_timelines_do_not_import_the_answerers() -> None:
    # A timeline quotes sentences (rag/scoring.py) and needs no reader: it sits beside
    # answering, above retrieval (docs/code-map.md).
    crossing = sorted((name, target) for name, targets in graph().items() for target in targets
                      if within(name, "rag.timeline") and within(target, "rag.answering"))
    assert not crossing, crossing
