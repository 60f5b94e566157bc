"""`semsearch index` as a user runs it: long tokens found, junk left out, skips quiet, warnings once."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.console import cli_env, error_lines, semsearch
from tests.ingest.test_junk import long_token_files
from tests.ingest.test_walk import make


def index(tree: Path, index_dir: Path, env: dict, *options: str) -> tuple[dict, list[str]]:
    result = semsearch("index", str(tree), "--index", str(index_dir), "--json", *options, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), error_lines(result.stderr)


def hits(word: str, index_dir: Path, env: dict) -> list[str]:
    result = semsearch("query", word, "--index", str(index_dir), "--mode", "keyword", "--json", "-k", "5", env=env)
    assert result.returncode == 0, result.stderr
    return [Path(json.loads(line)["path"]).name for line in result.stdout.splitlines()]


def test_index_finds_long_tokens_leaves_junk_out_skips_quietly_and_warns_once(tmp_path):
    tree = tmp_path / "tree"
    words = long_token_files(tree)
    make(
        tree,
        {
            "heron.svg": '<svg xmlns="http://www.w3.org/2000/svg"><title>Ocelot diagram</title><path d="M0 0"/></svg>',
            "uv.lock": '[[package]]\nname = "ocelot-tools"\nversion = "1.0"\n',
            "package-lock.json": '{"name": "ocelot-web", "lockfileVersion": 3}\n',
            "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
            "empty.md": b"",
            "huge.txt": "big text line\n" * 10_000,
            "corrupt.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage without trailer",
        },
    )
    env = cli_env(tmp_path / "home")
    index_dir = tmp_path / "index"
    report, warnings = index(tree, index_dir, env, "--max-file-size", "100k")
    assert (report["new"], report["failed"], report["skipped"]) == (3, 2, 5)
    assert sorted(Path(f["path"]).name for f in report["failures"]) == ["corrupt.pdf", "huge.txt"]
    assert len(warnings) == 2, warnings
    assert sorted(warnings)[0].startswith(f"warning: skipped {tree / 'corrupt.pdf'}: corrupt PDF")
    assert sorted(warnings)[1] == f"warning: skipped {tree / 'huge.txt'}: over the size limit (0.1 MB > 0.1 MB)"
    for name, word in words.items():
        assert hits(word, index_dir, env)[:1] == [name], word
    assert hits("ocelot", index_dir, env) == []  # the drawing and the lock files added no chunks

    again, warnings = index(tree, index_dir, env, "--max-file-size", "100k")
    assert (again["unchanged"], again["failed"], again["skipped"]) == (3, 2, 5)
    assert warnings == []  # nothing changed: nothing repeated

    stat = (tree / "huge.txt").stat()
    os.utime(tree / "huge.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: warned about again
    _, warnings = index(tree, index_dir, env, "--max-file-size", "100k")
    assert warnings == [f"warning: skipped {tree / 'huge.txt'}: over the size limit (0.1 MB > 0.1 MB)"]

    included = tmp_path / "included"
    report, _ = index(tree, included, env, "--include", "*.svg", "--include", "*.lock", "--include", "*-lock.json")
    assert (report["new"], report["failed"], report["skipped"]) == (3, 0, 0)
    assert sorted(hits("ocelot", included, env)) == ["heron.svg", "package-lock.json", "uv.lock"]
