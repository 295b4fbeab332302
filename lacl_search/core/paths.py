"""Where lacl-search keeps downloads, models and data on this machine.

Everything lives under one cache home, ``$LACL_HOME`` (default ``~/.cache/lacl-search``), outside the
repository's tracked files, so a fresh clone reuses what an earlier run fetched.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_home() -> Path:
    """Return the cache home folder (created on first use)."""
    root = Path(os.environ.get("LACL_HOME") or Path.home() / ".cache" / "lacl-search").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir(*parts: str) -> Path:
    """Return ``cache_home()/parts...``, created if missing."""
    path = cache_home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
