"""Constants and helpers that test modules import (a conftest cannot be imported by name: the
reliability suite has a conftest of its own)."""

from __future__ import annotations

import socket
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
API_KEYS = ("test-key-1", "test-key-2")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
