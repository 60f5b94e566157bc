"""The index/query/status/rm/indexes commands, through click's CliRunner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from semsearch.cli import cli

NOTES = {
    "logs.md": "# Logs\n\n## Rotation\n\nRotate logs weekly with logrotate and keep four archives.\n",
    "cooking.txt": "Pancakes\n\nMix flour, eggs and milk; fry in butter until golden.\n",
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An isolated data dir, the in-process embedder, and a small folder of notes."""
    monkeypatch.setenv("SEMSEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEMSEARCH_EMBEDDER", "local")
    monkeypatch.delenv("SEMSEARCH_INDEX", raising=False)
    notes = tmp_path / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text)
    return notes


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def test_index_prints_a_summary_and_query_finds_the_answer(env):
    result = run("index", str(env))
    assert result.exit_code == 0, result.output
    assert "2 new, 0 changed, 0 unchanged, 0 deleted, 0 failed" in result.stdout
    assert "chunks/s" in result.stdout
    result = run("query", "how do I rotate the logs?", "-k", "1")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert "logs.md:" in first and "Logs > Rotation" in first


def test_query_json_lines_carry_path_lines_heading_and_score(env):
    run("index", str(env))
    lines = run("query", "pancake recipe", "--json").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["path"].endswith("cooking.txt") and records[0]["rank"] == 1
    assert {"start_line", "end_line", "heading", "score", "text"} <= set(records[0])
    assert records[0]["score"] >= records[-1]["score"]


def test_many_queries_from_a_file_answer_as_jsonl(env, tmp_path):
    run("index", str(env))
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "text": "log rotation"}\n\nfrying pancakes\n')
    lines = [json.loads(x) for x in run("query", "--queries", str(queries), "-k", "1").stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", "3"]
    assert lines[0]["results"][0]["path"].endswith("logs.md")
    assert lines[1]["results"][0]["path"].endswith("cooking.txt")


def test_named_index_lives_in_the_data_dir_and_is_listed(env, tmp_path):
    assert run("index", str(env), "--index", "work").exit_code == 0
    listed = run("indexes").stdout
    assert "work" in listed and str(tmp_path / "home") in listed
    status = json.loads(run("status", "--index", "work", "--json").stdout)
    assert status["files"] == 2 and status["model"] == "all-minilm" and status["dimensions"] == 384


def test_rm_removes_a_file_from_results(env):
    run("index", str(env))
    assert run("rm", str(env / "cooking.txt")).stdout.strip() == "removed 1 file"
    hits = [json.loads(x) for x in run("query", "pancakes", "--json").stdout.splitlines()]
    assert all(not h["path"].endswith("cooking.txt") for h in hits)


def test_query_with_another_model_is_refused_with_a_rebuild_hint(env, tmp_path):
    run("index", str(env))
    result = CliRunner().invoke(cli, ["query", "logs", "-m", "nomic-embed-text"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: index {tmp_path / 'home' / 'indexes' / 'default'} was built with model all-minilm (384 dims), "
        "not nomic-embed-text; rebuild it with `semsearch index --reindex -m nomic-embed-text PATH...` "
        "or choose another --index\n"
    )


def test_reindex_with_another_model_rebuilds_the_index_with_it(env):
    """The mismatch check must not refuse the very command its hint suggests."""
    run("index", str(env))
    result = CliRunner().invoke(cli, ["index", "--reindex", "-m", "all-minilm:int8", str(env)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 new, 0 changed")
    status = json.loads(run("status", "--json").stdout)
    assert (status["model"], status["files"]) == ("all-minilm:int8", 2)
    hits = [json.loads(x) for x in run("query", "pancake recipe", "--json", "-k", "1").stdout.splitlines()]
    assert hits[0]["path"].endswith("cooking.txt")
    refused = CliRunner().invoke(cli, ["query", "logs", "-m", "all-minilm"])
    assert refused.exit_code == 1 and "built with model all-minilm:int8" in refused.stderr


def test_missing_path_is_a_one_line_error(env, tmp_path):
    result = CliRunner().invoke(cli, ["index", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: no such file or directory: {tmp_path / 'nope'}\n"


@pytest.mark.parametrize("command", [["query", "logs"], ["status"], ["rm", "/nowhere"]])
def test_reading_a_missing_index_is_a_one_line_error_and_creates_nothing(env, tmp_path, command):
    missing = tmp_path / "no-such-index"
    result = CliRunner().invoke(cli, [*command, "--index", str(missing)])
    assert result.exit_code == 1 and not missing.exists()
    assert (
        result.stderr == f"Error: no index at {missing}: build one with `semsearch index PATH... --index {missing}`\n"
    )


def test_corrupt_or_unreachable_index_database_is_a_one_line_error(env, tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "index.db").write_text("not a database")
    result = CliRunner().invoke(cli, ["query", "logs", "--index", str(corrupt)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot open the index database {corrupt / 'index.db'}: file is not a database\n"
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    result = CliRunner().invoke(cli, ["index", str(env), "--index", str(blocked / "idx")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot open the index database {blocked / 'idx' / 'index.db'}: Not a directory\n"


def test_bad_files_are_skipped_with_one_warning_each_and_the_rest_indexed(env, tmp_path):
    """Broken files warn, one line each; binary and empty files are skipped quietly (counted, not warned)."""
    bad = {
        "binary.bin": bytes(range(256)) * 20,
        "empty.md": b"",
        "corrupt.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage without trailer",
        "huge.txt": b"big text line\n" * 100_000,
    }
    for name, data in bad.items():
        (env / name).write_bytes(data)
    (env / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me br\xfbl\xe9e recipe: caramelise the sugar.\n".encode("latin-1"))
    os.symlink(env, env / "loop")  # a symlink loop back to the folder itself
    result = CliRunner().invoke(cli, ["index", str(env), "--max-file-size", "1MB"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    for name in ("corrupt.pdf", "huge.txt"):
        assert sum(name in line for line in warnings) == 1, (name, warnings)
    assert not any("binary.bin" in line or "empty.md" in line for line in warnings), warnings
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("3 new") and "0 deleted, 3 failed, 2 skipped;" in summary
    assert all(line.startswith(("warning: skipped ", "semsearch: ")) for line in result.stderr.splitlines())
    hits = [json.loads(x) for x in run("query", "creme brulee", "--json", "-k", "1").stdout.splitlines()]
    assert hits[0]["path"].endswith("latin1.txt")


def test_bad_query_lines_and_arguments_are_one_line_errors(env, tmp_path):
    run("index", str(env))
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "text": "logs"}\n{"text": 5}\n')
    result = CliRunner().invoke(cli, ["query", "--queries", str(queries)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"Error: {queries} line 2: 'text' must be a non-empty string, not 5"
    result = CliRunner().invoke(cli, ["query", "logs", "-k", "0"])
    assert result.exit_code == 2 and "Invalid value for '-k': 0 is not in the range x>=1." in result.stderr
    result = CliRunner().invoke(cli, ["query", "   "])
    assert result.exit_code == 1 and result.stderr == "Error: the query is empty\n"


def test_nothing_indexable_exits_non_zero(env, tmp_path):
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "corrupt.pdf").write_bytes(b"%PDF-1.4 garbage")
    result = CliRunner().invoke(cli, ["index", str(only_bad)])
    assert result.exit_code == 1 and "corrupt.pdf" in result.stderr


def test_python_dash_m_runs_the_same_cli(env):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "semsearch", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "Search your folders by meaning" in result.stdout
    assert Path(sys.executable).exists()
