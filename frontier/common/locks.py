"""Inter-process locks for runtime state, kept out of the repository and out of the data they guard.

A lock file lives in ``$FRONTIER_LOCK_DIR`` (default ``~/.cache/frontier/locks``), named after a
hash of the path it guards, so two processes publishing the same site serialise while nothing
is ever written beside the site, the warehouse or the checkout.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_ENV = "FRONTIER_LOCK_DIR"


def lock_dir() -> Path:
    d = Path(os.environ.get(LOCK_ENV) or Path.home() / ".cache" / "frontier" / "locks")
    d.mkdir(parents=True, exist_ok=True)
    return d


def lock_path(guarded: Path) -> Path:
    """The lock file of ``guarded`` (an absolute path: the same place gets the same lock)."""
    key = hashlib.sha256(str(Path(guarded).resolve()).encode()).hexdigest()[:16]
    return lock_dir() / f"{Path(guarded).name or 'root'}-{key}.lock"


@contextlib.contextmanager
def exclusive(guarded: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``guarded`` (blocks until the other holder releases it)."""
    with open(lock_path(guarded), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
