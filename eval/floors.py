"""Metric floors a CI run must reach (eval/floors.json), set from measured values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.scoring import get_path

FLOORS_FILE = Path(__file__).with_name("floors.json")


def load_floors(path: Path = FLOORS_FILE) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def check_floors(report: dict[str, Any], metrics: dict[str, dict[str, float]]) -> list[str]:
    """Every metric below its ``floor`` (or above its ``ceiling``), as readable lines.

    >>> check_floors({"answer": {"f1": 0.2}}, {"answer.f1": {"floor": 0.3, "measured": 0.35}})
    ['answer.f1 = 0.2 < floor 0.3 (measured 0.35)']
    """
    failures = []
    for key, limits in metrics.items():
        value = get_path(report, key)
        if value is None:
            failures.append(f"{key} missing from the report")
        elif "floor" in limits and value < limits["floor"]:
            failures.append(f"{key} = {value} < floor {limits['floor']} "
                            f"(measured {limits.get('measured')})")
        elif "ceiling" in limits and value > limits["ceiling"]:
            failures.append(f"{key} = {value} > ceiling {limits['ceiling']} "
                            f"(measured {limits.get('measured')})")
    return failures
