"""Searchable at once: a run commits files before it embeds them, queries answer from what is
committed meanwhile, and an interrupted run keeps what it committed and says how much."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.console import cli_env, semsearch, start, wait_for

TOPICS = ["volcano", "glacier", "desert", "reef", "tundra", "canyon", "delta", "lagoon"]


def tree(root: Path) -> Path:
    root.mkdir()
    for n, topic in enumerate(TOPICS):
        text = "\n\n".join(f"Paragraph {p} about the {topic}: field notes number {n}-{p}." for p in range(6))
        (root / f"{topic}.md").write_text(f"# The {topic}\n\n{text}\n")
    return root


def status(index_dir: Path, env: dict) -> dict:
    run = semsearch("status", "--index", str(index_dir), "--json", env=env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_files_answer_by_keyword_before_they_are_embedded_and_an_interrupt_keeps_them(tmp_path):
    notes = tree(tmp_path / "notes")
    index_dir = tmp_path / "index"
    flag = tmp_path / "paused"
    env = cli_env(
        tmp_path / "home",
        SEMSEARCH_WRITE_BATCH_CHUNKS="4",
        SEMSEARCH_PAUSE_AT="vectors-committed#1",  # every file committed, the first 4 chunks embedded
        SEMSEARCH_PAUSE_FILE=str(flag),
    )
    writer = start("index", str(notes), "--index", str(index_dir), env=env)
    try:
        wait_for(lambda: flag.exists() or writer.poll() is not None, timeout=180, what="the first embedded batch")
        assert writer.poll() is None, writer.communicate()
        reader_env = cli_env(tmp_path / "home")
        info = status(index_dir, reader_env)
        assert info["files"] == len(TOPICS) and info["embedded"] == 4 < info["chunks"]
        for mode in ("keyword", "auto", "hybrid"):
            run = semsearch("query", "lagoon field notes", "--index", str(index_dir), "--mode", mode, "--json",
                            "-k", "3", env=reader_env)  # fmt: skip
            assert run.returncode == 0, run.stderr
            hits = [json.loads(line) for line in run.stdout.splitlines()]
            assert hits and Path(hits[0]["path"]).name == "lagoon.md", (mode, hits)  # its chunks have no vector yet
        writer.send_signal(signal.SIGINT)
        _, stderr = writer.communicate(timeout=60)
    finally:
        writer.kill()
    assert writer.returncode == 130
    pending = info["chunks"] - 4
    assert stderr.splitlines()[-1] == (
        f"Interrupted: {len(TOPICS)} files indexed and committed (searchable by keyword); "
        f"{pending} chunks wait for their vectors: the next run embeds them."
    )
    again = semsearch("index", str(notes), "--index", str(index_dir), "--json", env=cli_env(tmp_path / "home"))
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["new"], report["unchanged"], report["chunks_embedded"]) == (0, len(TOPICS), pending)
    final = status(index_dir, cli_env(tmp_path / "home"))
    assert final["embedded"] == final["chunks"] == info["chunks"]
