"""Where indexes live: a name under the user data dir, or an explicit folder."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_INDEX = "default"
DB_FILE = "index.db"


def data_dir() -> Path:
    """$SEMSEARCH_HOME, else the platform's user data dir (e.g. ~/.local/share/semsearch)."""
    if env := os.environ.get("SEMSEARCH_HOME"):
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("semsearch"))


def is_path_like(name: str) -> bool:
    return os.sep in name or "/" in name or name.startswith(".") or name.startswith("~")


def resolve_index_dir(name_or_path: str | os.PathLike | None = None) -> Path:
    """NAME -> <data dir>/indexes/NAME; anything path-like is used as the folder itself.

    Falls back to $SEMSEARCH_INDEX, then the index called "default".
    """
    value = name_or_path if name_or_path is not None else os.environ.get("SEMSEARCH_INDEX") or DEFAULT_INDEX
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if not text.strip() or "\x00" in text:
        from semsearch.errors import SemsearchError

        raise SemsearchError(f"not an index name or folder: {text!r}")
    if isinstance(value, os.PathLike) or is_path_like(str(value)):
        return Path(value).expanduser().resolve()
    return data_dir() / "indexes" / str(value)


def list_indexes() -> list[Path]:
    """Index folders under the data dir (those holding an index.db)."""
    root = data_dir() / "indexes"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / DB_FILE).exists())
