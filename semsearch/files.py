"""Reading lines of indexed files, safely: what the MCP `get` tool and `Index.read_lines` serve.

A path (absolute, or relative to the indexed folders) is resolved (symlinks and `..` included)
before anything is checked, and only a resolved path the index holds is ever opened. So
`/etc/passwd`, `../../secret` and a symlink inside an indexed folder that points out of it are
refused, even when the link itself was indexed: its target is not an indexed file.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from semsearch.errors import SemsearchError

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.collection import Collection

MAX_LINES = 2000  # one call returns at most this many lines


class NotIndexedError(SemsearchError):
    """A path that is not (or does not resolve to) a file the index holds."""

    status = 404


@dataclass
class FileLines:
    """Lines `start_line`..`end_line` (1-based, inclusive) of an indexed file."""

    path: str  # the indexed file, absolute and resolved
    start_line: int
    end_line: int  # 0 when start_line is past the end of the file
    total_lines: int
    text: str
    changed_since_indexed: bool  # the file on disk differs from what the index holds
    truncated: bool = False  # the range asked for was longer than MAX_LINES

    def to_dict(self) -> dict:
        return asdict(self)


def indexed_roots(collection: Collection) -> list[str]:
    """The folder every indexed file lies under (their common folder), where relative paths start."""
    bounds = collection.path_bounds()
    if bounds is None or not all(os.path.isabs(p) for p in bounds):
        return []
    root = os.path.commonpath(bounds)
    if collection.file_by_path(root) is not None:  # a single file, or all files are one
        root = os.path.dirname(root)
    return [root]


def resolve_indexed(collection: Collection, path: str) -> str:
    """The indexed file `path` names, resolved; NotIndexedError for anything else.

    A relative path is tried against the indexed files' common folder and the working folder,
    then as the unique end of an indexed path (`click/core.py`).
    """
    if not isinstance(path, str) or not path.strip():
        raise SemsearchError("path is empty: pass an indexed file's path")
    given = os.path.expanduser(path.strip())
    if os.path.isabs(given):
        candidates = [given]
    else:
        relative = os.path.normpath(given)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            raise NotIndexedError(f"{path}: leads out of the indexed folders (..)")
        candidates = [os.path.join(root, relative) for root in [*indexed_roots(collection), os.getcwd()]]
        if not any(_held(collection, os.path.realpath(c)) for c in candidates):
            ends = collection.paths_ending_with(os.sep + relative, limit=2)
            if len(ends) > 1:
                raise NotIndexedError(f"{path}: several indexed files end with it ({', '.join(ends)}, …); give more")
            candidates += ends
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if _held(collection, real):
            return real
    if any(_held(collection, os.path.normpath(c)) for c in candidates):
        raise NotIndexedError(f"{path}: a symlink that leads out of the indexed files")
    raise NotIndexedError(f"{path}: not a file this index holds")


def _held(collection: Collection, path: str) -> bool:
    return collection.file_by_path(path) is not None


def read_lines(collection: Collection, path: str, start_line: int = 1, end_line: int | None = None) -> FileLines:
    """Lines of an indexed file as it is on disk now (decoded as the indexer decodes it)."""
    from pathlib import Path

    from semsearch.ingest.extract import decode

    if not isinstance(start_line, int) or start_line < 1:
        raise SemsearchError(f"start_line must be 1 or more, not {start_line!r}")
    if end_line is not None and (not isinstance(end_line, int) or end_line < start_line):
        raise SemsearchError(f"end_line must be at least start_line ({start_line}), not {end_line!r}")
    real = resolve_indexed(collection, path)
    record = collection.file_by_path(real)
    if real.lower().endswith(".pdf"):
        raise SemsearchError(f"{real}: a PDF has no lines to read; its passages come with search results")
    try:
        info = os.stat(real)
    except OSError as e:
        raise NotIndexedError(f"{real}: indexed, but gone from disk ({e.strerror or e})") from None
    lines = decode(Path(real)).splitlines()
    last = len(lines) if end_line is None else min(end_line, len(lines))
    truncated = last - start_line + 1 > MAX_LINES
    if truncated:
        last = start_line + MAX_LINES - 1
    chosen = lines[start_line - 1 : last]
    changed = record is not None and (info.st_size != record.size or info.st_mtime_ns != record.mtime_ns)
    return FileLines(
        path=real,
        start_line=start_line,
        end_line=start_line + len(chosen) - 1 if chosen else 0,
        total_lines=len(lines),
        text="\n".join(chosen),
        changed_since_indexed=changed,
        truncated=truncated,
    )
