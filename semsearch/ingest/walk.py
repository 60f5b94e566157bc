"""Find the files to index under some paths, the way a user expects.

Respects `.gitignore` and `.semsearchignore` files at every level, `--include/--exclude`
globs, skips hidden and junk folders, binary files (by content), files over a size limit,
and never follows a symlink loop. Problems become `SkippedFile`s, never exceptions.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILES = (".gitignore", ".semsearchignore")
JUNK_DIRS = {"node_modules", "__pycache__", "venv", "site-packages", "dist", "build"}
SNIFF_BYTES = 8192
NOT_BINARY_SUFFIXES = {".pdf"}  # binary containers we know how to extract text from


@dataclass(frozen=True)
class FoundFile:
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str


def looks_binary(head: bytes) -> bool:
    """NUL bytes, or many control characters, in the first few KB (as git and grep decide)."""
    if not head:
        return False
    if b"\x00" in head:
        # UTF-16 text has NULs too; it starts with a BOM.
        return not head.startswith((b"\xff\xfe", b"\xfe\xff"))
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control / len(head) > 0.1


class _IgnoreRules:
    """gitignore-style rules from every ignore file between a root and a folder."""

    def __init__(self, base: Path, spec):
        self.base = base
        self.spec = spec

    @classmethod
    def load(cls, folder: Path) -> list[_IgnoreRules]:
        import pathspec

        rules = []
        for name in IGNORE_FILES:
            path = folder / name
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            rules.append(cls(folder, pathspec.GitIgnoreSpec.from_lines(lines)))
        return rules

    def verdict(self, path: Path, is_dir: bool) -> bool | None:
        """True if ignored, False if re-included by a negation, None if no rule matched."""
        rel = path.relative_to(self.base).as_posix() + ("/" if is_dir else "")
        result = self.spec.check_file(rel)
        return result.include


def _ignored(path: Path, is_dir: bool, rules: Sequence[_IgnoreRules]) -> bool:
    ignored = False
    for rule in rules:  # outer files first: a deeper file may override
        verdict = rule.verdict(path, is_dir)
        if verdict is not None:
            ignored = verdict
    return ignored


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def walk(
    paths: Sequence[str | os.PathLike],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_bytes: int = 10_000_000,
) -> Iterator[FoundFile | SkippedFile]:
    """Files under `paths` in sorted order (a path may be a single file)."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[Path] = set()
    for given in paths:
        root = Path(given).expanduser().absolute()
        if root.is_file() or (root.exists() and not root.is_dir()):
            yield from _check_file(root, max_file_bytes, seen_files)
            continue
        yield from _walk_dir(root, root, [], include, exclude, max_file_bytes, seen_dirs, seen_files)


def _walk_dir(
    folder: Path,
    root: Path,
    inherited: list[_IgnoreRules],
    include: Sequence[str],
    exclude: Sequence[str],
    max_file_bytes: int,
    seen_dirs: set[tuple[int, int]],
    seen_files: set[Path],
) -> Iterator[FoundFile | SkippedFile]:
    try:
        info = folder.stat()
    except OSError as e:
        yield SkippedFile(folder, f"cannot read folder ({e.strerror or e})")
        return
    key = (info.st_dev, info.st_ino)
    if key in seen_dirs:
        if folder.is_symlink():
            yield SkippedFile(folder, "symlink loop (folder already visited)")
        return
    seen_dirs.add(key)
    rules = inherited + _IgnoreRules.load(folder)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        yield SkippedFile(folder, f"cannot read folder ({e.strerror or e})")
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError:
            is_dir = False
        if _ignored(path, is_dir, rules):
            continue
        if is_dir:
            if entry.name in JUNK_DIRS:
                continue
            yield from _walk_dir(path, root, rules, include, exclude, max_file_bytes, seen_dirs, seen_files)
            continue
        rel = path.relative_to(root).as_posix()
        if include and not _matches(rel, include):
            continue
        if exclude and _matches(rel, exclude):
            continue
        yield from _check_file(path, max_file_bytes, seen_files)


def _check_file(path: Path, max_file_bytes: int, seen_files: set[Path]) -> Iterator[FoundFile | SkippedFile]:
    try:
        real = path.resolve(strict=True)
        info = real.stat()
    except RuntimeError:
        yield SkippedFile(path, "symlink loop")
        return
    except OSError as e:
        reason = "broken symlink" if path.is_symlink() else f"cannot read file ({e.strerror or e})"
        yield SkippedFile(path, reason)
        return
    if real in seen_files:
        return  # the same file reached twice (through a symlink): index it once
    seen_files.add(real)
    if not stat.S_ISREG(info.st_mode):
        yield SkippedFile(path, "not a regular file")
        return
    if info.st_size > max_file_bytes:
        yield SkippedFile(path, f"over the size limit ({_mb(info.st_size)} > {_mb(max_file_bytes)})")
        return
    if path.suffix.lower() not in NOT_BINARY_SUFFIXES:
        try:
            with real.open("rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError as e:
            yield SkippedFile(path, f"cannot read file ({e.strerror or e})")
            return
        if looks_binary(head):
            yield SkippedFile(path, "binary file")
            return
    yield FoundFile(path.absolute(), info.st_size, info.st_mtime_ns)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def walk_under(
    root: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_bytes: int = 10_000_000,
) -> Iterator[FoundFile | SkippedFile]:
    """What `walk([root])` would yield for just these `paths` (files or folders below `root`).

    For `watch`, which hears about single paths: the same hidden, junk-folder, ignore-file and
    include/exclude rules apply, with the ignore files of every folder from `root` down. Paths
    outside `root`, ignored paths and paths that no longer exist yield nothing.
    """
    root = Path(root).expanduser().absolute()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[Path] = set()
    rules_in: dict[Path, list[_IgnoreRules]] = {}

    def rules_for(folder: Path) -> list[_IgnoreRules]:
        """The rules in effect for entries of `folder` (its own ignore files included)."""
        if folder not in rules_in:
            inherited = [] if folder == root else rules_for(folder.parent)
            rules_in[folder] = inherited + _IgnoreRules.load(folder)
        return rules_in[folder]

    for given in sorted({Path(p).expanduser().absolute() for p in paths}):
        if given == root:
            if root.is_dir():
                yield from _walk_dir(root, root, [], include, exclude, max_file_bytes, seen_dirs, seen_files)
            elif root.exists():
                yield from _check_file(root, max_file_bytes, seen_files)
            continue
        try:
            parts = given.relative_to(root).parts
        except ValueError:
            continue
        if any(part.startswith(".") for part in parts):
            continue
        folder, visible = root, True
        for part in parts[:-1]:  # every folder on the way must be one that walk() enters
            if part in JUNK_DIRS or _ignored(folder / part, True, rules_for(folder)):
                visible = False
                break
            folder = folder / part
        if not visible:
            continue
        try:
            is_dir = given.is_dir()
        except OSError:
            is_dir = False
        if not is_dir and not os.path.lexists(given):
            continue
        if _ignored(given, is_dir, rules_for(folder)):
            continue
        if is_dir:
            if given.name not in JUNK_DIRS:
                yield from _walk_dir(
                    given, root, rules_for(folder), include, exclude, max_file_bytes, seen_dirs, seen_files
                )
            continue
        rel = given.relative_to(root).as_posix()
        if include and not _matches(rel, include):
            continue
        if exclude and _matches(rel, exclude):
            continue
        yield from _check_file(given, max_file_bytes, seen_files)
