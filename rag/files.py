"""Files written whole or not at all, by several processes at once."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temp file unique to this writer, then rename it into place."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temp_files(folder: Path, names: Iterable[str]) -> None:
    """Delete temp files of ``names`` left by a writer that was killed; call with the lock
    that every writer of those files holds (so none of them is being written now)."""
    for name in names:
        for tmp in folder.glob(f"{name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
