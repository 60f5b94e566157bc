"""Searching only within some files or folders: `semsearch query TEXT PATH...`.

Stored paths are absolute and resolved, so a PATH becomes a GLOB on them: the folder's files
(`/abs/folder/*`) or the file itself, with GLOB's own characters (`*`, `?`, `[`) escaped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def glob_escape(text: str) -> str:
    """`text` as a SQLite GLOB pattern matching exactly it."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def globs_for_paths(paths: Sequence[str | os.PathLike]) -> list[str]:
    """One GLOB per path: its files if a folder, else the file."""
    globs = []
    for path in paths:
        real = Path(path).expanduser().resolve()
        globs.append(glob_escape(str(real)) + ("/*" if real.is_dir() else ""))
    return globs
