"""Which files the walker offers for indexing, and why it skips the others."""

from __future__ import annotations

import os
from pathlib import Path

from semsearch.ingest.walk import FoundFile, SkippedFile, looks_binary, printable, walk


def make(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


def found(root: Path, **options) -> list[str]:
    return [f.path.relative_to(root).as_posix() for f in walk([root], **options) if isinstance(f, FoundFile)]


def skipped(root: Path, **options) -> dict[str, str]:
    return {
        f.path.relative_to(root).as_posix(): f.reason for f in walk([root], **options) if isinstance(f, SkippedFile)
    }


def test_gitignore_rules_apply_at_every_level_with_negation(tmp_path):
    make(
        tmp_path,
        {
            ".gitignore": "*.log\nbuild/\n",
            "a.md": "a",
            "debug.log": "x",
            "build/out.md": "x",
            "sub/.gitignore": "secret.md\n!keep.log\n",
            "sub/secret.md": "x",
            "sub/keep.log": "kept",
            "sub/b.md": "b",
        },
    )
    assert found(tmp_path) == ["a.md", "sub/b.md", "sub/keep.log"]


def test_semsearchignore_works_like_gitignore(tmp_path):
    make(tmp_path, {".semsearchignore": "drafts/\n", "drafts/x.md": "x", "final.md": "y"})
    assert found(tmp_path) == ["final.md"]


def test_include_and_exclude_globs(tmp_path):
    make(tmp_path, {"a.md": "a", "b.txt": "b", "docs/c.md": "c", "docs/d.rst": "d"})
    assert found(tmp_path, include=["*.md"]) == ["a.md", "docs/c.md"]
    assert found(tmp_path, exclude=["docs/*"]) == ["a.md", "b.txt"]


def test_hidden_and_junk_folders_are_skipped(tmp_path):
    make(tmp_path, {".git/config": "x", ".hidden.md": "x", "node_modules/x.md": "x", "ok.md": "ok"})
    assert found(tmp_path) == ["ok.md"]


def test_binary_files_are_skipped_by_content(tmp_path):
    make(tmp_path, {"image.md": b"\x89PNG\r\n\x1a\n\x00\x00binary", "text.md": "plain", "doc.pdf": b"%PDF-1.4\x00\x01"})
    assert found(tmp_path) == ["doc.pdf", "text.md"]
    assert skipped(tmp_path) == {"image.md": "binary file"}
    assert not looks_binary("caf\u00e9 na\u00efve".encode("utf-16"))  # UTF-16 with BOM is text


def test_files_over_the_size_limit_are_skipped_with_the_sizes(tmp_path):
    make(tmp_path, {"big.txt": "x" * 2_000_000, "small.txt": "y"})
    assert found(tmp_path, max_file_bytes=1_000_000) == ["small.txt"]
    assert skipped(tmp_path, max_file_bytes=1_000_000) == {"big.txt": "over the size limit (2.0 MB > 1.0 MB)"}


def test_symlink_loops_are_never_followed(tmp_path):
    make(tmp_path, {"a/x.md": "x"})
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    os.symlink(tmp_path / "self", tmp_path / "self")  # a link to itself
    results = list(walk([tmp_path]))
    assert [f.path.relative_to(tmp_path).as_posix() for f in results if isinstance(f, FoundFile)] == ["a/x.md"]
    reasons = {f.path.name: f.reason for f in results if isinstance(f, SkippedFile)}
    assert reasons["loop"].startswith("symlink loop") and reasons["self"] == "symlink loop"


def test_a_file_reached_twice_is_offered_once(tmp_path):
    make(tmp_path, {"real.md": "x"})
    os.symlink(tmp_path / "real.md", tmp_path / "alias.md")
    assert found(tmp_path) == ["alias.md"]


def test_unreadable_entries_become_skips_not_exceptions(tmp_path):
    make(tmp_path, {"ok.md": "ok"})
    os.mkfifo(tmp_path / "pipe.md")  # not a regular file: opening it would block
    os.symlink(tmp_path / "missing.md", tmp_path / "broken.md")
    assert found(tmp_path) == ["ok.md"]
    assert skipped(tmp_path) == {"broken.md": "broken symlink", "pipe.md": "not a regular file"}


def test_a_single_file_path_is_walked(tmp_path):
    make(tmp_path, {"one.md": "x", "two.md": "y"})
    assert [f.path.name for f in walk([tmp_path / "one.md"])] == ["one.md"]


def test_a_folder_that_cannot_be_listed_is_unseen_not_empty(tmp_path, monkeypatch):
    make(tmp_path, {"open/a.md": "a", "locked/b.md": "b"})
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # CI runs as root, where chmod 000 does not stop a listing
    results = list(walk([tmp_path]))
    assert [f.path.name for f in results if isinstance(f, FoundFile)] == ["a.md"]
    [skip] = [f for f in results if isinstance(f, SkippedFile)]
    assert skip.path == tmp_path / "locked" and skip.unseen
    assert skip.reason == "cannot read folder (Permission denied)"


def test_known_states_are_not_unseen(tmp_path):
    make(tmp_path, {"bin.md": b"\x00\x01", "big.txt": "x" * 100})
    os.symlink(tmp_path / "missing.md", tmp_path / "broken.md")
    assert not any(f.unseen for f in walk([tmp_path], max_file_bytes=50) if isinstance(f, SkippedFile))


def test_names_that_are_not_utf8_are_skipped_with_a_printable_reason(tmp_path):
    make(tmp_path, {"good.md": "good"})
    bad_file = os.fsdecode(bytes(tmp_path / "caf") + b"\xe9.md")
    bad_folder = os.fsdecode(bytes(tmp_path / "r") + b"\xe9sum\xe9")
    Path(bad_file).write_text("latin-1 named file")
    Path(bad_folder).mkdir()
    (Path(bad_folder) / "inside.md").write_text("x")
    results = list(walk([tmp_path]))
    assert [f.path.name for f in results if isinstance(f, FoundFile)] == ["good.md"]
    reasons = {printable(f.path): f.reason for f in results if isinstance(f, SkippedFile)}
    assert reasons == {
        f"{tmp_path}/caf\\xe9.md": "file name is not valid UTF-8 (rename it to index it)",
        f"{tmp_path}/r\\xe9sum\\xe9": "folder name is not valid UTF-8 (rename it to index its files)",
    }


def test_a_folder_chain_deeper_than_the_recursion_limit_is_walked(tmp_path):
    chain = [tmp_path]
    try:
        for _ in range(1200):  # 2,400 characters: within PATH_MAX, beyond Python's stack (mkdir -p recurses too)
            chain.append(chain[-1] / "d")
            chain[-1].mkdir()
        (chain[-1] / "bottom.md").write_text("found")
        assert found(tmp_path) == ["/".join(["d"] * 1200) + "/bottom.md"]
    finally:  # bottom up: shutil.rmtree (and pytest's own clean-up) would recurse past the limit
        (chain[-1] / "bottom.md").unlink(missing_ok=True)
        for folder in reversed(chain[1:]):
            folder.rmdir()


def test_a_file_with_a_line_over_a_megabyte_is_skipped(tmp_path):
    make(tmp_path, {"dump.txt": "x" * 1_200_000, "log.txt": ("line of a log\n" * 100_000)})
    assert found(tmp_path) == ["log.txt"]
    assert skipped(tmp_path) == {"dump.txt": "a single line over 1.0 MB (minified or generated data?)"}
