"""Advice shown to a user once per machine, not on every command (e.g. that an old index could
be re-embedded with a faster backend).

A notice is a WARNING on the ``rag`` logger, which Python prints to stderr even when nothing
configured logging; a small marker file under the model cache remembers that it was shown.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> notice_once("demo", "shown once", folder=folder)
True
>>> notice_once("demo", "shown once", folder=folder)
False
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger("rag")


def notices_dir() -> Path:
    """Where shown notices are remembered: ``notices/`` in the model cache."""
    from embeddings.onnx_int8 import cache_root

    return cache_root() / "notices"


def notice_once(key: str, message: str, *, folder: Path | None = None) -> bool:
    """Log ``message`` unless the notice ``key`` was shown before on this machine; True when
    shown. Where the marker cannot be written (a read-only home) it is shown every time."""
    marker = (folder or notices_dir()) / hashlib.sha256(key.encode()).hexdigest()[:24]
    if marker.exists():
        return False
    log.warning(message)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(key + "\n")
    except OSError:
        pass
    return True
