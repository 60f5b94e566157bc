"""Hostile files and hostile arguments, through the real console script: one line each, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from semsearch.cli import cli
from tests.console import cli_env, error_lines, semsearch

ROOT = Path(__file__).resolve().parents[1]


def build_hostile_tree(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(good files: path -> a query that must find it, bad files: path -> the reason they are skipped)."""
    root.mkdir()
    good = {
        "good.md": ("# Beekeeping\n\nSmoke calms the bees before the hive is opened.\n", "smoke calms the bees"),
        "latin1.txt": (
            "Crème brûlée: caramélisez le sucre avec un chalumeau, puis servez.\n".encode("latin-1"),
            "crème brûlée chalumeau",
        ),
        "late-nul.txt": (b"Lighthouse keepers trim the lamp wick at dusk.\n" * 200 + b"\x00tail\n", "lamp wick"),
    }
    expected_good = {}
    for name, (content, query) in good.items():
        path = root / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        expected_good[str(path)] = query
    deep = root
    for _ in range(300):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "deep.md").write_text("# Caves\n\nStalactites hang from the ceiling of limestone caves.\n")
    expected_good[str(deep / "deep.md")] = "stalactites limestone"

    bad: dict[str, str] = {}

    def add_bad(name: str, reason: str, content: bytes | None = None) -> Path:
        path = root / name
        if content is not None:
            path.write_bytes(content)
        bad[str(path)] = reason
        return path

    add_bad("binary.md", "binary file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    add_bad("empty.md", "empty file", b"")
    add_bad("blank.txt", "empty file", b"  \n\t\n   \n")
    add_bad("nul.txt", "binary file", b"text with a NUL\x00 in its first bytes\n")
    add_bad("corrupt.pdf", "corrupt PDF", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage without trailer")
    pdf = (ROOT / "data" / "pdf" / "admin-handbook.pdf").read_bytes()
    add_bad("truncated.pdf", "", pdf[: len(pdf) // 3])  # may be recovered in part: then it is a good file
    huge = add_bad("huge.txt", "over the size limit (30.0 MB > 10.0 MB)")
    with huge.open("wb") as f:
        f.truncate(30_000_000)  # sparse: 30 MB without writing them
    add_bad(
        "one-line.txt",
        "a single line over 1.0 MB (minified or generated data?)",
        b"The quick brown fox jumps over the lazy dog. " * (5_000_000 // 45),
    )
    os.mkfifo(add_bad("pipe.md", "not a regular file"))
    os.symlink(root, add_bad("loop", "symlink loop (folder already visited)"))
    os.symlink(root / "nowhere.md", add_bad("dangling.md", "broken symlink"))
    name = os.fsdecode(bytes(root) + b"/caf\xe9.txt")
    Path(name).write_text("a file whose name is Latin-1")
    bad[name] = "file name is not valid UTF-8 (rename it to index it)"
    return expected_good, bad


def printable(path: str) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def test_a_hostile_tree_indexes_without_hanging_and_names_every_skipped_file(tmp_path):
    """Acceptance: exit 0, one warning line per broken file (binary and empty files are skipped quietly),
    every good file (Latin-1 too) searchable."""
    tree = tmp_path / "tree"
    good, bad = build_hostile_tree(tree)
    env = cli_env(tmp_path / "home")
    index_dir = tmp_path / "index"
    try:
        result = semsearch("index", str(tree), "--index", str(index_dir), "--json", env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        warnings = error_lines(result.stderr)
        assert all(line.startswith("warning: skipped ") for line in warnings), warnings
        report = json.loads(result.stdout)
        failures = {f["path"]: f["error"] for f in report["failures"]}
        quiet = {path for path, reason in bad.items() if reason in ("binary file", "empty file")}
        assert len(quiet) == 4 and report["skipped"] == len(quiet)
        for path, reason in bad.items():
            shown = printable(path)
            named = [line for line in warnings if line.startswith(f"warning: skipped {shown}: ")]
            if path in quiet:
                assert not named and shown not in failures, (shown, warnings)
                continue
            if path.endswith("truncated.pdf") and not named:
                good[path] = "Tidewater administrator handbook"  # pypdf recovered pages: it must be searchable
                continue
            assert len(named) == 1, (shown, warnings)
            assert reason in named[0] and shown in failures
        assert len(warnings) == len(bad) - len(quiet) - ("Tidewater administrator handbook" in good.values())
        again = semsearch("index", str(tree), "--index", str(index_dir), "--json", env=env, timeout=600)
        assert again.returncode == 0 and error_lines(again.stderr) == []  # unchanged: no warning repeated
        assert json.loads(again.stdout)["failed"] == report["failed"]

        for path, question in good.items():
            for mode in ("dense", "keyword") if path.endswith("latin1.txt") else ("keyword",):
                found = semsearch(
                    "query", question, "--index", str(index_dir), "--mode", mode, "--json", "-k", "3", env=env
                )
                assert found.returncode == 0, found.stderr
                paths = [json.loads(line)["path"] for line in found.stdout.splitlines()]
                assert any(os.path.abspath(p) == path for p in paths), (path, mode, paths)
        latin1 = semsearch("query", "brûlée", "--index", str(index_dir), "--mode", "keyword", "--json", env=env)
        assert "Crème brûlée" in json.loads(latin1.stdout.splitlines()[0])["text"]
    finally:
        shutil.rmtree(tree / "d")  # 300 levels: fine for rmtree, but not left for later runs to walk


# -- every command, hostile arguments -----------------------------------------------------------------------------


def hostile_cases(tmp_path: Path) -> list[tuple[list[str], str | None]]:
    """(arguments, the exact error line or None for click's usage errors, which are checked for shape)."""
    missing = tmp_path / "no-such-index"
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text('{"_id": "d1", "title": "t", "text": "x"}\n')
    (beir / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n')
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\thigh\n")
    (beir / "qrels" / "train.tsv").write_text("q1\td1\t1\n")
    (beir / "qrels" / "dev.tsv").write_text("q9\td1\t1\n")
    bad_queries = tmp_path / "queries.jsonl"
    bad_queries.write_text('{"text": 5}\n')
    broken_beir = tmp_path / "broken-beir"
    shutil.copytree(beir, broken_beir)
    (broken_beir / "queries.jsonl").write_text("not json\n")
    not_utf8 = os.fsdecode(b"/nowhere/caf\xe9")
    cases: list[tuple[list[str], str | None]] = [
        (["embed"], "Error: nothing to embed: give TEXT arguments or --stdin"),
        (["embed", "--dimensions", "abc", "x"], None),
        (["serve", "--port", "abc"], None),
        (["serve", "--max-queue", "many"], None),
        (["index"], None),
        (["index", str(tmp_path / "nope")], f"Error: no such file or directory: {tmp_path / 'nope'}"),
        (["index", not_utf8], "Error: no such file or directory: /nowhere/caf\\xe9"),
        (["index", str(tmp_path), "--max-file-size", "lots"], None),
        (["index", str(tmp_path), "--chunk-tokens", "0"], None),
        (["index", str(tmp_path), "--overlap", "-3"], None),
        (["index", str(tmp_path), "--index", ""], "Error: not an index name or folder: ''"),
        (
            ["index", str(tmp_path), "--index", str(a_file / "idx")],
            f"Error: cannot open the index database {a_file / 'idx' / 'index.db'}: Not a directory",
        ),
        (["query"], "Error: give a query TEXT, --lex/--vec/--hyde sub-queries or --queries FILE"),
        (["query", "x", "-k", "0"], None),
        (["query", "x", "-k", "ten"], None),
        (["query", "x", "--mode", "fuzzy"], None),
        (["query", "x", "--min-score", "high"], None),
        (["query", "   "], "Error: the query is empty"),
        (["query", os.fsdecode(b"caf\xe9")], "Error: the query is not valid UTF-8 text: caf\\xe9"),
        (
            ["query", "x", "--queries", str(bad_queries)],
            "Error: no such file or directory: x",
        ),  # with --queries, x is a PATH
        (
            ["query", "--lex", "x", "--queries", str(bad_queries)],
            "Error: give --lex/--vec/--hyde sub-queries or --queries FILE, not both",
        ),
        (["query", "--queries", str(tmp_path / "none.jsonl")], None),
        (
            ["query", "x", "--index", str(missing)],
            f"Error: no index at {missing}: build one with `semsearch index PATH... --index {missing}`",
        ),
        (
            ["status", "--index", str(missing)],
            f"Error: no index at {missing}: build one with `semsearch index PATH... --index {missing}`",
        ),
        (["rm"], None),
        (
            ["rm", "x", "--index", str(missing)],
            f"Error: no index at {missing}: build one with `semsearch index PATH... --index {missing}`",
        ),
        (["indexes", "--bogus"], None),
        (["eval", str(tmp_path / "nope")], None),
        (["eval", str(tmp_path), "-k", "0"], None),
        (["eval", str(tmp_path)], f"Error: {tmp_path}: no corpus.jsonl or corpus.jsonl.gz (is this a BEIR folder?)"),
        (
            ["eval", str(beir)],
            f"Error: {beir / 'qrels' / 'test.tsv'} line 2: "
            "expected 'query-id<TAB>corpus-id<TAB>score' with an integer score",
        ),
        (
            ["eval", str(beir), "--split", "dev"],
            f"Error: {beir / 'queries.jsonl'}: none of its queries is judged in {beir / 'qrels' / 'dev.tsv'}",
        ),
        (
            ["eval", str(broken_beir), "--split", "train"],
            f"Error: {broken_beir / 'queries.jsonl'} line 1: expected JSON with '_id' and 'text'",
        ),
        (
            ["eval", str(beir), "--split", "nope"],
            f"Error: {beir / 'qrels' / 'nope.tsv'}: no relevance judgments for split 'nope'",
        ),
    ]
    cases += [([name, "--no-such-option"], None) for name in sorted(cli.commands)]  # every command, now and later
    return cases


def test_every_command_refuses_hostile_arguments_in_one_line(tmp_path):
    env = cli_env(tmp_path / "home")
    cases = hostile_cases(tmp_path)

    def run(case):
        args, _ = case
        return semsearch(*args, env=env, timeout=120, stdin=subprocess.DEVNULL)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, cases))
    for (args, expected), result in zip(cases, results, strict=True):
        lines = result.stderr.splitlines()
        assert result.returncode != 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and len(lines) == 1, (args, lines)
        if expected is not None:
            assert lines == [expected], args
        else:
            assert result.returncode == 2, (args, result.returncode)
            assert lines[0].startswith("Error: ") and lines[0].endswith(" --help')"), (args, lines)
        assert result.stdout == "", (args, result.stdout)


@pytest.mark.parametrize("args", [["query", "x", "--json"], ["status"]])
def test_output_into_a_closed_pipe_is_quiet(tmp_path, args):
    """`semsearch ... | head -0`: the reader left; no traceback, no 'Exception ignored' noise."""
    from tests.console import COMMAND

    env = cli_env(tmp_path / "home")
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(40):
        (notes / f"n{i}.md").write_text(f"# Note {i}\n\nA short note number {i} about x.\n")
    assert semsearch("index", str(notes), env=env).returncode == 0
    reader, writer = os.pipe()
    os.close(reader)  # nobody reads: the first write fails with EPIPE
    process = subprocess.run(
        [*COMMAND, *args, *(["-k", "40"] if args[0] == "query" else [])],
        env=env,
        stdout=writer,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(writer)
    assert error_lines(process.stderr) == [] and process.returncode in (0, 1, 141), (
        process.stderr
    )  # 1: click's EPIPE exit
