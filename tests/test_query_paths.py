"""Search without an index step (`semsearch query TEXT PATH...`), typed sub-queries and `related`, from a shell."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.console import cli_env, semsearch, start, wait_for

NOTES = {
    "logs.md": "# Logs\n\n## Rotation\n\nRotate logs weekly with logrotate and keep four archives.\n",
    "cooking.txt": "Pancakes\n\nMix flour, eggs and milk; fry in butter until golden.\n",
    "ops/backup.md": "# Backups\n\nCopy the database to the NAS every night and keep thirty days.\n",
}
OTHER = {"journal.md": "# Journal\n\nOld logs are rotated every week by logrotate, four archives kept.\n"}


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def generation(env: dict, *index: str) -> int:
    status = semsearch("status", "--json", *index, env=env)
    assert status.returncode == 0, status.stderr
    return json.loads(status.stdout)["generation"]


def test_query_with_a_folder_indexes_it_once_and_searches_only_it(tmp_path):
    env = cli_env(tmp_path / "home")
    write(tmp_path / "somefolder", NOTES)
    write(tmp_path / "other", OTHER)
    assert (
        semsearch("index", str(tmp_path / "other"), env=env).returncode == 0
    )  # the default index holds another folder

    first = semsearch("query", "how do I rotate the logs?", "./somefolder", "--json", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    hits = [json.loads(line) for line in first.stdout.splitlines()]
    assert hits[0]["path"] == "somefolder/logs.md" and hits[0]["heading"] == "Logs > Rotation"
    assert {h["path"] for h in hits} == {"somefolder/logs.md", "somefolder/cooking.txt", "somefolder/ops/backup.md"}
    indexed = [line for line in first.stderr.splitlines() if line.startswith("semsearch: indexed")]
    assert len(indexed) == 1 and indexed[0].startswith("semsearch: indexed ./somefolder: 3 new, 0 changed"), indexed
    assert "Indexing" not in first.stderr  # no progress bar: not a terminal, and quick
    before = generation(env)

    second = semsearch("query", "how do I rotate the logs?", "./somefolder", "--json", env=env, cwd=tmp_path)
    assert second.returncode == 0 and second.stdout == first.stdout
    assert "semsearch: indexed" not in second.stderr  # nothing new, nothing re-embedded, nothing said
    assert generation(env) == before  # and nothing written

    (tmp_path / "somefolder" / "cooking.txt").write_text("Crepes\n\nThin pancakes: more milk, a hot pan.\n")
    third = semsearch("query", "crepes", "somefolder/cooking.txt", "--files", env=env, cwd=tmp_path)
    assert third.returncode == 0 and len(third.stdout.splitlines()) == 1
    location, score = third.stdout.split()
    assert location == "somefolder/cooking.txt:1-3" and 0 < float(score) <= 1  # its cosine similarity
    assert "semsearch: indexed somefolder/cooking.txt: 0 new, 1 changed, 0 unchanged, 0 deleted" in third.stderr

    before = generation(env)
    # --index picks the index; the default one is left alone
    own = tmp_path / "own-index"
    fourth = semsearch("query", "nightly backup", str(tmp_path / "somefolder" / "ops"), "--index", str(own), env=env)
    assert fourth.returncode == 0 and "ops/backup.md" in fourth.stdout.splitlines()[0]
    assert json.loads(semsearch("status", "--json", "--index", str(own), env=env).stdout)["files"] == 1
    assert generation(env) == before

    refused = semsearch("query", "logs", "./nowhere", env=env, cwd=tmp_path)
    assert (refused.returncode, refused.stderr.splitlines()[-1]) == (1, "Error: no such file or directory: ./nowhere")
    both = semsearch("query", "logs", "./somefolder", "--path", "*.md", env=env, cwd=tmp_path)
    assert (both.returncode, both.stderr.splitlines()[-1]) == (1, "Error: give PATH arguments or --path, not both")


def test_typed_subqueries_and_related_from_the_shell(tmp_path):
    env = cli_env(tmp_path / "home")
    write(tmp_path / "notes", NOTES | OTHER)
    typed = semsearch("query", "--lex", "logrotate", "--vec", "how are old logs kept?", str(tmp_path / "notes"),
                      "--files", "--json", env=env)  # fmt: skip
    assert typed.returncode == 0, typed.stderr
    files = [Path(json.loads(line)["path"]).name for line in typed.stdout.splitlines()]
    assert files[:2] in (["logs.md", "journal.md"], ["journal.md", "logs.md"]) and len(files) == 4

    related = semsearch("related", str(tmp_path / "notes" / "logs.md"), "-k", "2", env=env)
    assert related.returncode == 0, related.stderr
    lines = related.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(str(tmp_path / "notes" / "journal.md") + ":3  ")
    at_line = semsearch("related", "notes/ops/backup.md:3", "-k", "1", "--json", env=env)
    assert at_line.returncode == 0 and len(at_line.stdout.splitlines()) == 1
    assert "backup.md" not in at_line.stdout
    outside = semsearch("related", "/etc/passwd", env=env)
    assert (outside.returncode, outside.stderr.splitlines()[-1]) == (
        1,
        "Error: /etc/passwd: not a file this index holds",
    )
    bad = semsearch("query", "--lex", "  ", str(tmp_path / "notes"), env=env)
    assert (bad.returncode, bad.stderr.splitlines()[-1]) == (1, "Error: the lex sub-query is empty")


def test_a_first_query_run_can_be_interrupted_and_the_next_one_finishes(tmp_path):
    env = cli_env(tmp_path / "home")
    write(tmp_path / "notes", NOTES)
    flag = tmp_path / "paused"
    paused = {**env, "SEMSEARCH_PAUSE_AT": "batch-committed", "SEMSEARCH_PAUSE_FILE": str(flag)}
    process = start("query", "how do I rotate the logs?", str(tmp_path / "notes"), env=paused)
    try:
        wait_for(flag.exists, what="the first batch to commit")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1] == (
        "Interrupted: 3 files indexed and committed (searchable by keyword); "  # all three files, one chunk each
        "3 chunks wait for their vectors: the next run embeds them."
    ), stderr
    time.sleep(0.05)
    again = semsearch("query", "how do I rotate the logs?", str(tmp_path / "notes"), "--files", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0].startswith(str(tmp_path / "notes" / "logs.md"))
