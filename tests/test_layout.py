"""tests/ mirrors the code (docs/testing.md): each folder of tests is a folder of the repository
(``tests/app/`` stands for app.py), and no test module but this one sits in tests/ itself."""

from __future__ import annotations

from pathlib import Path

from support import REPO

TESTS = REPO / "tests"
OWN = {"reliability"}  # suites that cross the packages


def test_every_test_folder_mirrors_a_folder_of_the_code() -> None:
    folders = [p.relative_to(TESTS) for p in TESTS.rglob("*") if p.is_dir()
               and "__pycache__" not in p.parts and p.relative_to(TESTS).parts[0] not in OWN]
    assert folders
    unmatched = [str(f) for f in folders
                 if not (REPO / f).is_dir() and not (REPO / f).with_suffix(".py").is_file()]
    assert unmatched == []


def test_no_test_module_sits_flat_in_tests() -> None:
    assert sorted(p.name for p in TESTS.glob("test_*.py")) == [Path(__file__).name]
