"""The Index API: incremental, crash-safe indexing and search that points at the right text."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.errors import IndexMismatchError
from semsearch.index import Index

COLOURS = ["red", "blue", "green"]
DOCS = {
    "logging.md": "# Logging\n\nLogs are written to /var/log/app.log.\n\n## Rotation\n\n"
    "Rotate the logs daily with logrotate; keep fourteen compressed files.\n",
    "backup.md": "# Backups\n\nRun `app backup --to s3://bucket` every night.\n\n"
    "Restores use `app restore FILE` and need the server stopped.\n",
    "install.txt": "Installing\n\nDownload the package and run the installer as root.\n"
    "The installer asks for a port number and a data directory.\n",
}


@pytest.fixture(scope="module")
def embedder():
    return LocalEmbedder()


@pytest.fixture
def docs(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text)
    return root


@pytest.fixture
def index(tmp_path, embedder):
    with Index(tmp_path / "index", embedder=embedder) as idx:
        yield idx


def test_search_finds_the_chunk_that_answers(index, docs):
    report = index.add([docs])
    assert (report.new, report.failed) == (3, 0)
    top = index.search("how do I rotate the logs?", k=1)[0]
    assert Path(top.path).name == "logging.md"
    assert "logrotate" in top.text and top.heading == "Logging > Rotation"
    lines = Path(top.path).read_text().splitlines()[top.start_line - 1 : top.end_line]
    assert "logrotate" in "\n".join(lines)


def test_rerun_with_nothing_changed_embeds_nothing(index, docs):
    index.add([docs])
    report = index.add([docs])
    assert (report.chunks_embedded, report.unchanged, report.new, report.changed) == (0, 3, 0, 0)


def test_touched_file_reembeds_only_its_changed_chunks(index, docs):
    index.add([docs])
    path = docs / "logging.md"
    path.write_text(path.read_text().replace("fourteen", "thirty"))
    report = index.add([docs])
    assert report.changed == 1 and report.unchanged == 2
    assert report.chunks_embedded == 1  # the Rotation chunk; the intro chunk is reused
    assert report.chunks_reused >= 1
    assert "thirty" in index.search("how many log files are kept", k=1)[0].text


def test_touch_without_content_change_embeds_nothing(index, docs):
    index.add([docs])
    os.utime(docs / "backup.md", ns=(time.time_ns(), time.time_ns() + 10**9))
    report = index.add([docs])
    assert report.chunks_embedded == 0 and report.unchanged == 3


def test_deleted_file_vanishes_from_results(index, docs):
    index.add([docs])
    (docs / "backup.md").unlink()
    report = index.add([docs])
    assert report.deleted == 1
    assert all(Path(hit.path).name != "backup.md" for hit in index.search("nightly backup to s3", k=10))


def test_remove_forgets_files(index, docs):
    index.add([docs])
    assert index.remove([docs / "install.txt"]) == 1
    assert index.status()["files"] == 2


def test_path_glob_and_min_score_filter_results(index, docs):
    index.add([docs])
    hits = index.search("logs", k=10, path_glob="*.txt")
    assert hits and all(h.path.endswith(".txt") for h in hits)
    assert index.search("logs", k=10, min_score=0.99) == []


def test_keyword_and_hybrid_modes_find_exact_terms(index, docs):
    index.add([docs])
    assert Path(index.search("logrotate", k=1, mode="keyword")[0].path).name == "logging.md"
    assert Path(index.search("s3 bucket", k=1, mode="hybrid")[0].path).name == "backup.md"


def test_index_refuses_another_model(tmp_path, docs, embedder):
    with Index(tmp_path / "index", embedder=embedder) as idx:
        idx.add([docs])
    with pytest.raises(IndexMismatchError, match="--reindex"):
        Index(tmp_path / "index", model="nomic-embed-text").search("anything")


def test_reindex_rebuilds_everything(index, docs):
    index.add([docs])
    report = index.add([docs], reindex=True)
    assert report.new == 3 and report.chunks_embedded > 0
    assert index.status()["files"] == 3


def test_state_survives_reopening(tmp_path, docs, embedder):
    with Index(tmp_path / "index", embedder=embedder) as idx:
        idx.add([docs])
    with Index(tmp_path / "index", embedder=embedder) as idx:
        assert Path(idx.search("restore a backup", k=1)[0].path).name == "backup.md"
        assert not idx.vectors.dirty  # loaded from vectors.faiss, not rebuilt


def test_to_dataframe_lists_results(index, docs):
    index.add([docs])
    frame = index.to_dataframe(index.search("installer port", k=2))
    assert list(frame.columns[:3]) == ["path", "start_line", "end_line"] and len(frame) == 2


def test_sigkill_during_indexing_loses_nothing_committed(tmp_path):
    """Kill the indexer after its first commit; the next run completes and every hit is real text."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(400):
        (corpus / f"note{i:03}.md").write_text(
            f"# Note {i}\n\nThis note talks about topic number {i} and the colour {COLOURS[i % 3]}.\n\n"
            + " ".join(f"word{j}" for j in range(i % 50 + 20))
            + "\n"
        )
    index_dir = tmp_path / "index"
    command = [
        sys.executable,
        "-m",
        "semsearch",
        "index",
        str(corpus),
        "--index",
        str(index_dir),
        "--embedder",
        "local",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db_path = index_dir / "index.db"
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db_path.exists():
            try:
                with sqlite3.connect(db_path, timeout=1) as conn:
                    committed = conn.execute("SELECT count(*) FROM files").fetchone()[0]
            except sqlite3.OperationalError:
                committed = 0
            if committed > 0:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "indexing finished before it could be killed; make the corpus bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < committed < 400

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with Index(index_dir, embedder="local") as idx:
        assert idx.status()["files"] == 400
        for query in ("topic number 123", "the colour green", "word42"):
            for hit in idx.search(query, k=10):
                source = Path(hit.path).read_text()
                assert hit.text.strip() in source or all(w in source for w in hit.text.split())


def test_index_works_with_embeddings_from_a_real_semsearch_serve(live_server, tmp_path, docs, embedder):
    """The same index built over HTTP gives the same vectors and hits as the in-process model."""
    with (
        Index(tmp_path / "over-http", embedder=live_server) as remote,
        Index(tmp_path / "in-process", embedder=embedder) as local,
    ):
        assert remote.add([docs]).new == 3
        local.add([docs])
        assert remote.status()["embedder"] != local.status()["embedder"]
        for query in ("how do I rotate the logs?", "restore a backup", "installer port"):
            got = remote.search(query, k=3)
            want = local.search(query, k=3)
            assert [h.path for h in got] == [h.path for h in want]
            assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-4)
