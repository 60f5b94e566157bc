"""The Index API: incremental, crash-safe indexing and search that points at the right text."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.errors import IndexMismatchError, SemsearchError
from semsearch.index import Index

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


# -- nothing lost ------------------------------------------------------------------------------------


class FailingEmbedder(LocalEmbedder):
    """The real model, failing from its `fail_at`-th embed call on (a model error half-way)."""

    def __init__(self, model: str = "all-minilm", fail_at: int = 2):
        super().__init__(model)
        self.calls, self.fail_at = 0, fail_at

    def embed_result(self, texts, **options):
        self.calls += 1
        if self.calls >= self.fail_at:
            raise SemsearchError("the model crashed")
        return super().embed_result(texts, **options)


def test_a_reindex_that_fails_half_way_leaves_the_old_index_answering(tmp_path, docs, embedder, monkeypatch):
    with Index(tmp_path / "index", embedder=embedder) as idx:
        idx.add([docs])
        before = idx.to_dataframe()
    monkeypatch.setattr("semsearch.indexer.WRITE_BATCH_CHUNKS", 1)  # a commit per file: fail after the first
    with Index(tmp_path / "index", embedder=FailingEmbedder()) as idx, pytest.raises(SemsearchError, match="crashed"):
        idx.add([docs], reindex=True)
    with Index(tmp_path / "index", embedder=embedder) as idx:
        assert idx.to_dataframe().equals(before)
        assert Path(idx.search("restore a backup", k=1)[0].path).name == "backup.md"
    assert not (tmp_path / "index" / ".rebuild").exists()


def test_readers_see_the_old_index_until_a_reindex_swaps_in_the_new_one(tmp_path, docs, embedder, monkeypatch):
    with Index(tmp_path / "index", embedder=embedder) as idx:
        idx.add([docs])
    (docs / "backup.md").unlink()
    (docs / "tides.md").write_text("# Tides\n\nThe moon pulls the oceans: high tide twice a day.\n")
    reader = Index(tmp_path / "index", embedder=embedder)
    assert Path(reader.search("nightly backup to s3", k=1)[0].path).name == "backup.md"
    seen_during_rebuild = []

    def at(point):
        if point == "rebuild-built":  # the new index is complete but not swapped in yet
            seen_during_rebuild.append({Path(h.path).name for h in reader.search("anything", k=10)})

    monkeypatch.setattr("semsearch.index.pause_point", at)
    with Index(tmp_path / "index", embedder=embedder) as writer:
        writer.add([docs], reindex=True)
    assert seen_during_rebuild == [{"backup.md", "install.txt", "logging.md"}]
    assert Path(reader.search("when is high tide", k=1)[0].path).name == "tides.md"
    assert all(Path(h.path).name != "backup.md" for h in reader.search("nightly backup to s3", k=10))
    reader.close()


def test_an_embedder_object_records_its_own_model_and_reindex_can_switch_models(tmp_path, docs, embedder):
    int8 = LocalEmbedder("all-minilm:int8")
    with Index(tmp_path / "a", embedder=int8) as idx:
        idx.add([docs])
        assert idx.status()["model"] == "all-minilm:int8"
    with Index(tmp_path / "b", embedder=embedder) as idx:
        idx.add([docs])
    with Index(tmp_path / "b", embedder=int8) as idx:
        with pytest.raises(IndexMismatchError):
            idx.search("logs")
        assert idx.add([docs], reindex=True).new == 3
        assert idx.status()["model"] == "all-minilm:int8"
        assert Path(idx.search("restore a backup", k=1)[0].path).name == "backup.md"


def test_a_folder_that_cannot_be_read_keeps_its_files_in_the_index(index, docs, monkeypatch):
    locked = docs / "locked"
    locked.mkdir()
    (locked / "secret.md").write_text("# Vault\n\nThe vault combination changes every Monday.\n")
    index.add([docs])
    real_scandir = os.scandir

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # as root (CI), chmod cannot make a folder unreadable
    warnings = []
    report = index.add([docs], on_warning=warnings.append)
    assert report.deleted == 0 and index.status()["files"] == 4
    assert warnings == [f"skipped {locked}: cannot read folder (Permission denied)"]
    assert Path(index.search("vault combination", k=1)[0].path).name == "secret.md"
    monkeypatch.setattr(os, "scandir", real_scandir)
    shutil.rmtree(locked)
    assert index.add([docs]).deleted == 1  # now known to be gone


def test_a_file_that_cannot_be_read_keeps_what_was_indexed_but_an_emptied_one_leaves(index, docs, monkeypatch):
    index.add([docs])
    (docs / "install.txt").write_text("")  # known state: nothing to index any more
    logging_md = docs / "logging.md"
    logging_md.write_text(logging_md.read_text() + "\nMore text.\n")
    real_read_bytes = Path.read_bytes

    def read_bytes(self):
        if self == logging_md:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr("semsearch.indexer.file_hash", lambda path: "changed")
    report = index.add([docs])
    assert (report.failed, report.deleted) == (2, 1)
    assert sorted(Path(p).name for p in index.db.files()) == ["backup.md", "logging.md"]
    assert "logrotate" in index.search("how do I rotate the logs?", k=1)[0].text


def test_a_renamed_file_reuses_its_vectors(index, docs):
    index.add([docs])
    (docs / "backup.md").rename(docs / "backups.md")
    report = index.add([docs])
    assert (report.new, report.deleted, report.chunks_embedded) == (1, 1, 0)


def test_a_reader_follows_another_writers_commits(tmp_path, docs, embedder):
    with Index(tmp_path / "index", embedder=embedder) as idx:
        idx.add([docs])
    reader = Index(tmp_path / "index", embedder=embedder)
    assert reader.search("restore a backup", k=1)
    (docs / "tides.md").write_text("# Tides\n\nThe moon pulls the oceans: high tide twice a day.\n")
    with Index(tmp_path / "index", embedder=embedder) as writer:
        writer.add([docs])
    assert Path(reader.search("when is high tide", k=1)[0].path).name == "tides.md"
    reader.close()


def test_cached_ids_without_a_row_rebuild_the_cache_instead_of_vanishing(index, docs):
    index.add([docs])
    assert len(index.search("logs", k=4)) == 4
    # Rows gone behind the cache's back, its label unchanged (a cache that lies about what it mirrors).
    index.db.conn.execute("DELETE FROM chunks WHERE file_id = (SELECT id FROM files WHERE path LIKE '%backup.md')")
    hits = index.search("nightly backup to s3", k=3)  # the deleted chunk was the cache's best match
    assert len(hits) == 3 == index.db.chunk_count()  # every remaining chunk, none silently dropped
    assert all(Path(h.path).name != "backup.md" for h in hits)
