"""SIGKILL at any moment of an indexing run loses nothing committed and never serves a stale cache.

The writer is frozen at named points of its write path (semsearch.store.pausepoints) and
killed there, so the windows between a SQLite commit and the vector-cache save, inside that
save, and inside a --reindex are hit every time, not by luck.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.index import Index
from tests.console import cli_env, semsearch, start, wait_for

WORDS = "harbour lantern meadow copper orchard glacier violin saddle quarry ember thistle canyon falcon".split()  # noqa: SIM905


@pytest.fixture(scope="module")
def embedder():
    return LocalEmbedder()


def note(rng: random.Random, topic: str) -> str:
    paragraphs = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))) + f" {topic}." for _ in range(rng.randint(1, 3))
    ]
    return f"# Note about {topic}\n\n" + "\n\n".join(paragraphs) + "\n"


def kill_at(point: str | None, args: list[str], env: dict, tmp_path: Path, delay: float = 0.0) -> bool:
    """Run `semsearch index ...`; SIGKILL it when it reaches `point` (or after `delay` s). True if killed."""
    flag = tmp_path / "paused"
    flag.unlink(missing_ok=True)
    if point:
        env = {**env, "SEMSEARCH_PAUSE_AT": point, "SEMSEARCH_PAUSE_FILE": str(flag)}
    process = start("index", *args, env=env)
    try:
        if point:
            wait_for(lambda: flag.exists() or process.poll() is not None, timeout=180, what=point)
        else:
            deadline = time.monotonic() + delay
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
        killed = process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        _, stderr = process.communicate()
    assert "Traceback" not in stderr, stderr
    return killed


def integrity(index_dir: Path) -> str:
    with sqlite3.connect(index_dir / "index.db") as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def indexed_paths(index_dir: Path) -> set[str]:
    with sqlite3.connect(index_dir / "index.db") as conn:
        return {r[0] for r in conn.execute("SELECT path FROM files")}


def contents(index_dir: Path) -> tuple[list, dict]:
    """Every file and chunk row (ids aside), and each chunk's vector by (path, ordinal)."""
    with sqlite3.connect(index_dir / "index.db") as conn:
        files = sorted(conn.execute("SELECT path, size, mtime_ns, content_hash, kind, title, chunk_count FROM files"))
        rows = conn.execute(
            "SELECT f.path, c.ordinal, c.start_line, c.end_line, c.page, c.heading, c.text, c.text_hash, c.vector "
            "FROM chunks c JOIN files f ON f.id = c.file_id"
        ).fetchall()
    chunks = sorted(r[:-1] for r in rows)
    vectors = {(r[0], r[1]): np.frombuffer(r[-1], dtype=np.float32) for r in rows}
    return [files, chunks], vectors


def assert_cache_mirrors_sqlite(index_dir: Path, embedder) -> None:
    with Index(index_dir, embedder=embedder, create=False) as idx:
        vectors = idx.vectors
        assert not vectors.dirty, "the last run should leave a saved cache that matches SQLite"
        with sqlite3.connect(index_dir / "index.db") as conn:
            ids = sorted(r[0] for r in conn.execute("SELECT id FROM chunks"))
        assert sorted(vectors._all()[0].tolist()) == ids
    assert not (index_dir / ".rebuild").exists() and not list(index_dir.glob("*.tmp"))


@pytest.mark.parametrize("point", ["batch-committed", "vectors-written", "vectors-renamed"])
def test_a_kill_between_commit_and_cache_save_never_serves_a_stale_cache(tmp_path, embedder, point):
    rng = random.Random(point)
    tree, index_dir = tmp_path / "tree", tmp_path / "index"
    tree.mkdir()
    for i in range(3):
        (tree / f"n{i}.md").write_text(note(rng, f"topic{i}"))
    env = cli_env(tmp_path / "home", SEMSEARCH_WRITE_BATCH_CHUNKS="1")
    assert semsearch("index", str(tree), "--index", str(index_dir), env=env).returncode == 0
    (tree / "n1.md").write_text("# Zebras\n\nZebra herds migrate across the Serengeti every year.\n")
    assert kill_at(point, [str(tree), "--index", str(index_dir)], env, tmp_path)
    assert integrity(index_dir) == "ok"
    with Index(index_dir, embedder=embedder, create=False) as reader:
        top = reader.search("zebra migration", k=1)[0]  # committed before the kill: found, cache not trusted
        assert Path(top.path).name == "n1.md" and "Zebra" in top.text
        assert reader.vectors.dirty  # rebuilt from SQLite, not loaded from the file the kill left behind
        assert len(reader.search("anything", k=50, mode="dense")) == reader.status()["embedded"]
    rerun = semsearch("index", str(tree), "--index", str(index_dir), env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert_cache_mirrors_sqlite(index_dir, embedder)


def indexable(tree: Path) -> set[str]:
    return {str(p) for p in tree.rglob("*.md") if (data := p.read_bytes()).strip() and b"\x00" not in data}


def mutate(tree: Path, rng: random.Random, round_: int) -> None:
    """Edit, delete and add files (at least two changes, so a run commits more than once)."""
    files = sorted(tree.rglob("*.md"))
    for path in rng.sample(files, k=min(2, len(files))):
        path.write_text(note(rng, f"edit{round_}"))
    if len(files) > 4 and rng.random() < 0.6:
        rng.choice(files).unlink()
    folder = tree / rng.choice(["", "sub", "sub/deeper"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"new{round_}.md").write_text(note(rng, f"new{round_}"))
    if round_ == 30:
        rng.choice(sorted(tree.rglob("*.md"))).write_text("")  # indexed once, now nothing to index
    if round_ == 60:
        rng.choice(sorted(tree.rglob("*.md"))).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")  # now binary


def test_ten_kills_at_random_moments_then_one_run_equal_a_clean_run(tmp_path, embedder):
    """Acceptance: the index after ten SIGKILLs and one full run holds exactly what a clean run holds."""
    rng = random.Random(1212)
    tree, index_dir, clean_dir = tmp_path / "tree", tmp_path / "index", tmp_path / "clean"
    tree.mkdir()
    for i in range(6):
        (tree / f"note{i}.md").write_text(note(rng, f"topic{i}"))
    env = cli_env(tmp_path / "home", SEMSEARCH_WRITE_BATCH_CHUNKS="1")  # one commit per file
    assert semsearch("index", str(tree), "--index", str(index_dir), env=env).returncode == 0

    # (pause point or None for a timed kill, --reindex?): inside commits, the cache save and --reindex.
    plan = [
        ("batch-committed#1", False),
        ("batch-committed#2", False),
        ("vectors-written", False),
        ("vectors-renamed", False),
        ("vectors-committed#1", False),  # files committed, their chunks partly embedded
        ("vectors-committed#3", False),
        ("batch-committed#2", True),  # inside a --reindex, while the new index is half built
        ("rebuild-built", True),  # the new index complete, not swapped in
        ("rebuild-swapped", True),  # swapped in, its vector cache not moved yet
        (None, False),
        (None, True),
        (None, False),
    ]
    rng.shuffle(plan)
    killed = 0
    for round_, (point, reindex) in enumerate(plan):
        args = [str(tree), "--index", str(index_dir), *(["--reindex"] if reindex else [])]
        delay = 4.0
        for attempt in range(10):  # a timed kill that came after the run ended is tried again, sooner
            mutate(tree, rng, round_ * 10 + attempt)
            before = indexed_paths(index_dir)
            delay = rng.uniform(0.1, delay)
            if kill_at(point, args, env, tmp_path, delay=delay):
                killed += 1
                break
            assert point is None, f"{point} was never reached"
        assert integrity(index_dir) == "ok"
        if reindex and point in ("batch-committed#2", "rebuild-built"):
            assert indexed_paths(index_dir) == before  # the old index still answers until the swap
        if point == "rebuild-swapped":
            assert indexed_paths(index_dir) == indexable(tree)  # the new index answers at once
    assert killed == 12

    final = semsearch("index", str(tree), "--index", str(index_dir), env=env)
    assert final.returncode == 0, final.stderr
    clean = semsearch("index", str(tree), "--index", str(clean_dir), env=env)
    assert clean.returncode == 0, clean.stderr
    assert integrity(index_dir) == "ok"
    (rows, vectors), (clean_rows, clean_vectors) = contents(index_dir), contents(clean_dir)
    assert rows == clean_rows
    assert vectors.keys() == clean_vectors.keys()
    for key, vector in vectors.items():
        np.testing.assert_allclose(vector, clean_vectors[key], atol=2e-3)
    assert_cache_mirrors_sqlite(index_dir, embedder)
