"""One path syntax for every filter: `--path`, `--include/--exclude`, `Index.search(path=)`, the page, MCP.

Patterns are gitignore-style (pathspec's wildmatch), matched against a path's folders from any depth:

    ops          the folder (or file) named ops, anywhere, and everything below it
    docs/ops     the folder docs/ops, anywhere, and everything below it
    ops/*.md     Markdown files directly in an ops folder
    *.pdf        PDF files anywhere
    **/test_*.py test files anywhere
    /home/me/docs  an absolute path: that folder and below

Stored paths are absolute, and a user knows the folders they indexed, not where the index put
its roots, so a relative pattern may start at any folder of the path (as if it began with `**/`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from semsearch.errors import SemsearchError


@dataclass(frozen=True)
class PathPattern:
    """Compiled patterns; a path matches if any pattern does."""

    patterns: tuple[str, ...]

    @classmethod
    def of(cls, patterns: str | Sequence[str] | None) -> PathPattern | None:
        """None for no filter (None, "", or only blank patterns)."""
        if patterns is None:
            return None
        if isinstance(patterns, str):
            patterns = [patterns]
        cleaned = tuple(p.strip() for p in patterns if p and p.strip())
        return cls(cleaned) if cleaned else None

    @cached_property
    def _spec(self):
        import pathspec

        lines = []
        for pattern in self.patterns:
            text = pattern.replace("\\", "/") if os.sep == "\\" else pattern
            if text.startswith("/"):
                lines.append(text.rstrip("/") or "/")  # absolute: anchored at the file system's root
            else:
                text = text.removeprefix("./").rstrip("/")
                lines.append(text if text.startswith("**/") else "**/" + text)
        try:
            return pathspec.PathSpec.from_lines("gitignore", lines)
        except (ValueError, TypeError) as e:
            raise SemsearchError(f"bad path pattern {', '.join(self.patterns)!r}: {e}") from None

    def matches(self, path: str | os.PathLike) -> bool:
        """Whether `path` (absolute, or relative to a root) is selected."""
        text = os.fspath(path).replace(os.sep, "/")
        return self._spec.match_file(text.lstrip("/") if text.startswith("/") else text)

    def select(self, paths: Iterable[str]) -> list[str]:
        return [p for p in paths if self.matches(p)]

    def __str__(self) -> str:
        return ", ".join(self.patterns)


def selected(rel_path: str, include: PathPattern | None, exclude: PathPattern | None) -> bool:
    """Whether --include/--exclude let a path (relative to its root) through."""
    return (include is None or include.matches(rel_path)) and not (exclude is not None and exclude.matches(rel_path))
