"""The real `semsearch` console script on the first hour's rough edges: exact lines and exit statuses.

Stopping (Ctrl-C and SIGTERM for index, watch, serve and ui), inputs (ports, --queries encodings,
environment knobs), silent no-ops (rm of nothing, an empty folder), hints that point the right way,
counted nouns, the watch status line on a narrow terminal, and help text for every option.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import threading
from pathlib import Path

import click
import pytest

from semsearch.cli import cli
from tests.conftest import server_output, server_process
from tests.console import COMMAND, cli_env, error_lines, semsearch, start, wait_for

NOTES = {
    "logs.md": "# Logs\n\n## Rotation\n\nRotate logs weekly with logrotate and keep four archives.\n",
    "cooking.txt": "Pancakes\n\nMix flour, eggs and milk; fry in butter until golden.\n",
    "dessert.md": "# Dessert\n\nCrème brûlée: caramelise the sugar on the custard with a torch.\n",
}
SIGNALS = [signal.SIGINT, signal.SIGTERM]
SIGNAL_IDS = ["SIGINT", "SIGTERM"]


@pytest.fixture
def env(tmp_path):
    return cli_env(tmp_path / "home")


@pytest.fixture
def notes(tmp_path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in NOTES.items():
        (folder / name).write_text(text)
    return folder


def indexed(notes: Path, index: Path, env) -> Path:
    result = semsearch("index", str(notes), "--index", str(index), env=env)
    assert result.returncode == 0, result.stderr
    return index


# -- stopping: one line saying what state things are in, and 128 + the signal (130 for Ctrl-C) ------------


@pytest.mark.parametrize("signum", SIGNALS, ids=SIGNAL_IDS)
def test_an_interrupted_index_run_says_what_it_kept(tmp_path, env, signum):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(5):
        (folder / f"n{i}.md").write_text(f"# Note {i}\n\nNote {i} is about topic number {i * 7}.\n")
    index, flag = tmp_path / "index", tmp_path / "paused"
    pausing = {**env, "SEMSEARCH_WRITE_BATCH_CHUNKS": "1", "SEMSEARCH_PAUSE_AT": "batch-committed#2",
               "SEMSEARCH_PAUSE_FILE": str(flag)}  # fmt: skip
    process = start("index", str(folder), "--index", str(index), env=pausing)
    try:
        wait_for(flag.exists, what="the second commit")
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum
    assert error_lines(stderr) == [
        "Interrupted: 2 files indexed and committed (searchable by keyword), 3 left for the next run; "
        "2 chunks wait for their vectors: the next run embeds them."
    ]
    rerun = semsearch("index", str(folder), "--index", str(index), "--json", env=env)
    report = json.loads(rerun.stdout)
    assert (report["new"], report["unchanged"]) == (3, 2)


@pytest.mark.parametrize("signum", SIGNALS, ids=SIGNAL_IDS)
def test_a_stopped_server_says_so(signum):
    with server_process() as (url, process):
        process.send_signal(signum)
        assert process.wait(60) == 128 + signum
        assert server_output(process).splitlines()[-1] == "semsearch: server stopped"


@pytest.mark.parametrize("signum", SIGNALS, ids=SIGNAL_IDS)
def test_a_stopped_search_page_says_so(tmp_path, notes, env, signum):
    index = indexed(notes, tmp_path / "index", env)
    process = start("ui", "--index", str(index), "--port", "0", env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("search page at" in line for line in lines), what="the page")
        process.send_signal(signum)
        assert process.wait(60) == 128 + signum
        reader.join(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert lines[-1] == "semsearch: search page stopped\n", lines


@pytest.mark.parametrize("signum", SIGNALS, ids=SIGNAL_IDS)
def test_a_stopped_watch_says_so_and_its_status_line_fits_the_terminal(tmp_path, notes, env, signum):
    """On an 80-column terminal (here 60) the status line is cut, never wrapped; "1 file", not "1 files"."""
    (notes / "cooking.txt").unlink()
    (notes / "dessert.md").unlink()
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*COMMAND, "watch", str(notes), "--index", str(tmp_path / "index")],
        stdout=slave, stderr=subprocess.PIPE, text=True, env={**env, "COLUMNS": "60"},
    )  # fmt: skip
    os.close(slave)
    shown: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            shown.append(data)

    threading.Thread(target=read_terminal, daemon=True).start()
    try:
        wait_for(lambda: b"watching: 1 folder, 1 file indexed" in b"".join(shown), what="the status line")
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert process.returncode == 128 + signum
    assert stderr.splitlines()[-1] == "semsearch: stopped watching; the index is consistent"
    screen = b"".join(shown).decode()
    drawn = [part.strip("\r\n") for part in screen.split("\r\x1b[K") if part.strip("\r\n")]
    assert drawn and all(len(line) <= 59 for line in drawn), drawn
    assert any(line.endswith("…") for line in drawn), drawn  # the long "last update ..." part was cut


# -- inputs -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["ui", "serve"])
def test_a_port_out_of_range_is_a_usage_error(env, command):
    result = semsearch(command, "--port", "70000", env=env)
    assert result.returncode == 2
    assert result.stderr == (
        "Error: Invalid value for '--port': 70000 is not in the range 0<=x<=65535. "
        f"(see 'semsearch {command} --help')\n"
    )


def test_a_queries_file_in_latin1_is_read_like_a_document(tmp_path, notes, env):
    index = indexed(notes, tmp_path / "index", env)
    queries = tmp_path / "queries.txt"
    queries.write_bytes("crème brûlée recipe\n".encode("latin-1") + b'{"id": "q2", "text": "caf\xe9 pancakes"}\n')
    result = semsearch("query", "--queries", str(queries), "--index", str(index), "-k", "1", env=env)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(a["id"], a["query"]) for a in answers] == [("1", "crème brûlée recipe"), ("q2", "café pancakes")]
    assert answers[0]["results"][0]["path"].endswith("dessert.md")


@pytest.mark.parametrize(
    ("variable", "value", "command", "expected"),
    [
        ("SEMSEARCH_BUSY_TIMEOUT", "abc", "index", "SEMSEARCH_BUSY_TIMEOUT must be a number of seconds, not 'abc'"),
        ("SEMSEARCH_FLAT_LIMIT", "lots", "index", "SEMSEARCH_FLAT_LIMIT must be a whole number, not 'lots'"),
        ("SEMSEARCH_WRITE_BATCH_CHUNKS", "0", "index",
         "SEMSEARCH_WRITE_BATCH_CHUNKS must be a whole number of chunks, not '0'"),
        ("SEMSEARCH_THREADS", "x", "embed", "SEMSEARCH_THREADS must be a number of threads, not 'x'"),
    ],
)  # fmt: skip
def test_a_bad_environment_knob_is_one_line_naming_it(tmp_path, notes, variable, value, command, expected):
    env = cli_env(tmp_path / "home", **{variable: value})
    args = ["embed", "hello"] if command == "embed" else ["index", str(notes), "--index", str(tmp_path / "index")]
    result = semsearch(*args, env=env)
    assert result.returncode == 1
    assert error_lines(result.stderr) == [f"Error: {expected}"]


# -- silent no-ops and hints ----------------------------------------------------------------------------------


def test_rm_of_a_path_nothing_indexed_matches_fails_in_one_line(tmp_path, notes, env):
    index = indexed(notes, tmp_path / "index", env)
    result = semsearch("rm", "/nonexistent/thing", "--index", str(index), env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "Error: nothing indexed matches /nonexistent/thing\n"
    both = semsearch("rm", str(notes / "logs.md"), "/nonexistent/thing", "--index", str(index), env=env)
    assert (both.returncode, both.stdout) == (1, "removed 1 file\n")
    assert both.stderr == "Error: nothing indexed matches /nonexistent/thing\n"


def test_an_empty_folder_indexes_with_a_hint(tmp_path, env):
    empty = tmp_path / "empty"
    (empty / ".git").mkdir(parents=True)
    (empty / ".git" / "config").write_text("[core]\n")
    result = semsearch("index", str(empty), "--index", str(tmp_path / "index"), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "0 new, 0 changed, 0 unchanged, 0 deleted, 0 failed, 0 skipped; 0 chunks embedded in "
    )
    assert result.stderr.splitlines()[-1] == (
        f"semsearch: no files found under {empty} "
        "(hidden folders and files that .gitignore or .semsearchignore exclude are skipped)"
    )


def test_one_file_and_one_chunk_are_singular(tmp_path, env):
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nOne short note.\n")
    result = semsearch("index", str(folder), "--index", str(tmp_path / "index"), env=env)
    assert result.stdout.startswith(
        "1 new, 0 changed, 0 unchanged, 0 deleted, 0 failed, 0 skipped; 1 chunk embedded in "
    )
    removed = semsearch("rm", str(folder / "a.md"), "--index", str(tmp_path / "index"), env=env)
    assert removed.stdout == "removed 1 file\n"


def test_an_unknown_in_process_model_names_the_ones_there_and_how_to_use_ollama(env):
    result = semsearch("embed", "-m", "nomic-embed-text", "x", env=env)
    assert result.returncode == 1
    assert result.stderr == (
        "Error: model 'nomic-embed-text' is not available in-process (in-process models: all-minilm, "
        "all-minilm:int8, all-minilm:static); for an Ollama model run `ollama pull nomic-embed-text` and pass "
        "--embedder http://127.0.0.1:11434 (or where Ollama runs)\n"
    )


@pytest.mark.parametrize("command", [["index", "NOTES"], ["query", "logs"], ["status"], ["rm", "x"], ["ui"]])
def test_an_index_option_naming_a_file_says_so(tmp_path, notes, env, command):
    regular = tmp_path / "regular.txt"
    regular.write_text("not an index\n")
    args = [str(notes) if arg == "NOTES" else arg for arg in command]
    result = semsearch(*args, "--index", str(regular), env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Error: --index {regular} is a file, not an index folder\n"
    assert regular.read_text() == "not an index\n"


# -- help ---------------------------------------------------------------------------------------------------------


def test_every_option_of_every_command_says_what_it_does():
    context = click.Context(cli)
    undescribed = [
        f"{name} {option.opts[0]}"
        for name, command in cli.commands.items()
        for option in command.get_params(context)
        if isinstance(option, click.Option) and not (option.help or "").strip()
    ]
    assert undescribed == []
    assert all(isinstance(p, click.Option) and p.help for p in cli.get_params(context))


def test_rm_and_status_offer_no_model_and_eval_defaults_to_auto_like_query():
    for name in ("rm", "status"):
        assert not {"model", "embedder_spec"} & {p.name for p in cli.commands[name].params}, name
    modes = {name: next(p for p in cli.commands[name].params if p.name == "mode") for name in ("eval", "query")}
    assert modes["eval"].default == modes["query"].default == "auto"
