"""Find the files to index under some paths, the way a user expects.

Respects `.gitignore` and `.semsearchignore` files at every level, `--include/--exclude`
globs, skips hidden and junk folders, binary and empty files, files nobody searches as text
(semsearch.ingest.junk), files over a size limit, and never follows a symlink loop. Problems
become `SkippedFile`s, never exceptions; those that could not look (an unreadable folder) say
so, because "gone" and "could not see" must not be confused: only the former may delete
anything from an index.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from semsearch.ingest.extract import DOCUMENTS
from semsearch.ingest.junk import junk_reason
from semsearch.paths import PathPattern, selected

IGNORE_FILES = (".gitignore", ".semsearchignore")
JUNK_DIRS = {"node_modules", "__pycache__", "venv", "site-packages", "dist", "build"}
SNIFF_BYTES = 8192
# A line this long is minified or generated data (a JS bundle, a base64 blob, a JSON dump): slow to
# tokenize and useless to search, so such a file is skipped like a binary one.
MAX_LINE_BYTES = 1_000_000
# Containers we extract text from (PDF, Office, EPUB; a notebook's base64 outputs make very long lines)
NOT_BINARY_SUFFIXES = {".pdf", *DOCUMENTS}


@dataclass(frozen=True)
class FoundFile:
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SkippedFile:
    """A path not offered for indexing. unseen: it could not be looked at (permissions, I/O
    errors), so what was indexed from it (or under it, for a folder) must be kept, not deleted."""

    path: Path
    reason: str
    unseen: bool = False
    quiet: bool = False  # expected (images, empty files, junk): counted as skipped, not warned about


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


def _named(rel: str, include: Sequence[str]) -> bool:
    """Whether an --include pattern names this file (not just "*"): then the junk rules do not apply to it."""
    named = _pattern(tuple(p for p in include if p.strip("*/.")))
    return named is not None and named.matches(rel)


def _selected(rel: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether --include/--exclude let a file through (the walk and watch's single paths alike)."""
    return selected(rel, _pattern(tuple(include)), _pattern(tuple(exclude)))


@functools.lru_cache(maxsize=64)
def _pattern(patterns: tuple[str, ...]) -> PathPattern | None:
    return PathPattern.of(patterns)


def printable(path: str | os.PathLike) -> str:
    """A path as text that can always be printed or stored: bytes that are not UTF-8 become \\xNN."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def _is_utf8(path: str | os.PathLike) -> bool:
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


@dataclass
class _Folder:
    """A folder being listed: its remaining entries and the ignore rules in force there."""

    entries: Iterator[os.DirEntry]
    rules: list[_IgnoreRules]


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
    """Files under `folder` (globs match paths relative to `root`), depth first, entries sorted by
    name; an explicit stack, so no folder chain is too deep."""
    stack: list[_Folder] = []
    if skip := _enter(folder, inherited, seen_dirs, stack):
        yield skip
    while stack:
        entry = next(stack[-1].entries, None)
        if entry is None:
            stack.pop()
            continue
        rules = stack[-1].rules
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
            if entry.name not in JUNK_DIRS and (skip := _enter(path, rules, seen_dirs, stack)):
                yield skip
            continue
        if not _selected(rel := path.relative_to(root).as_posix(), include, exclude):
            continue
        yield from _check_file(path, max_file_bytes, seen_files, keep_junk=_named(rel, include))


def _enter(
    folder: Path, inherited: list[_IgnoreRules], seen_dirs: set[tuple[int, int]], stack: list[_Folder]
) -> SkippedFile | None:
    """Push a folder's entries onto the stack, or say why it is skipped (None: skipped silently)."""
    try:
        info = folder.stat()
    except OSError as e:
        return _unreadable(folder, "cannot read folder", e)
    key = (info.st_dev, info.st_ino)
    if key in seen_dirs:
        return SkippedFile(folder, "symlink loop (folder already visited)") if folder.is_symlink() else None
    seen_dirs.add(key)
    if not _is_utf8(folder):
        return SkippedFile(folder, "folder name is not valid UTF-8 (rename it to index its files)")
    try:
        rules = inherited + _IgnoreRules.load(folder)
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as e:
        return _unreadable(folder, "cannot read folder", e)
    stack.append(_Folder(iter(entries), rules))
    return None


def _unreadable(path: Path, what: str, error: OSError) -> SkippedFile:
    """A path that vanished is gone; one that could not be read keeps what was indexed from it."""
    if error.errno == errno.ENOENT:
        return SkippedFile(path, f"{what} (it was removed)")
    return SkippedFile(path, f"{what} ({error.strerror or error})", unseen=True)


def _check_file(
    path: Path, max_file_bytes: int, seen_files: set[Path], keep_junk: bool = True
) -> Iterator[FoundFile | SkippedFile]:
    try:
        real = path.resolve(strict=True)
        info = real.stat()
    except RuntimeError:
        yield SkippedFile(path, "symlink loop")
        return
    except OSError as e:
        if e.errno == errno.ELOOP:
            yield SkippedFile(path, "symlink loop")
        elif path.is_symlink() and e.errno == errno.ENOENT:
            yield SkippedFile(path, "broken symlink")
        else:
            yield _unreadable(path, "cannot read file", e)
        return
    if real in seen_files:
        return  # the same file reached twice (through a symlink): index it once
    seen_files.add(real)
    if not _is_utf8(path):
        yield SkippedFile(path, "file name is not valid UTF-8 (rename it to index it)")
        return
    if not stat.S_ISREG(info.st_mode):
        yield SkippedFile(path, "not a regular file")
        return
    if info.st_size > max_file_bytes:
        yield SkippedFile(path, f"over the size limit ({_mb(info.st_size)} > {_mb(max_file_bytes)})")
        return
    if info.st_size == 0:
        yield SkippedFile(path, "empty file", quiet=True)
        return
    if path.suffix.lower() not in NOT_BINARY_SUFFIXES:
        try:
            with real.open("rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError as e:
            yield _unreadable(path, "cannot read file", e)
            return
        empty = not head.strip() and info.st_size <= SNIFF_BYTES  # nothing in it but white space
        if empty or looks_binary(head):  # an image, say: expected, so quiet
            yield SkippedFile(path, "empty file" if empty else "binary file", quiet=True)
            return
        if not keep_junk and (reason := junk_reason(path, head)):
            yield SkippedFile(path, reason, quiet=True)
            return
        if info.st_size > MAX_LINE_BYTES:
            try:
                longest = _has_line_over(real, MAX_LINE_BYTES)
            except OSError as e:
                yield _unreadable(path, "cannot read file", e)
                return
            if longest:
                yield SkippedFile(path, f"a single line over {_mb(MAX_LINE_BYTES)} (minified or generated data?)")
                return
    yield FoundFile(path.absolute(), info.st_size, info.st_mtime_ns)


def _has_line_over(path: Path, limit: int) -> bool:
    """Whether some line of the file is longer than `limit` bytes.

    Blocks of `limit` bytes, searched in C: a line wholly inside one block is shorter than
    the limit, so only the runs across block edges need counting.
    """
    run = 0  # bytes since the last newline
    with path.open("rb") as f:
        while block := f.read(limit):
            first = block.find(b"\n")
            if first < 0:
                run += len(block)
            elif run + first > limit:
                return True
            else:
                run = len(block) - block.rfind(b"\n") - 1
            if run > limit:
                return True
    return False


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
        if not _selected(rel := given.relative_to(root).as_posix(), include, exclude):
            continue
        yield from _check_file(given, max_file_bytes, seen_files, keep_junk=_named(rel, include))
