"""SQLite is the truth, FAISS a cache that is checked against it and rebuilt."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from semsearch.search.keywords import COLUMN_WEIGHTS, fts_query, keyword_columns
from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash
from semsearch.store.vectors import VectorIndex

DIMS = 8


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)
    return v / np.linalg.norm(v)


def file_with_chunks(path: str, texts: list[str], seed: int = 0):
    record = FileRecord(path=path, size=10, mtime_ns=1, content_hash=text_hash(path + "".join(texts)))
    chunks = [ChunkRecord(i, i + 1, i + 1, "", t, text_hash(t)) for i, t in enumerate(texts)]
    vectors = np.vstack([unit(seed + i) for i in range(len(texts))])
    return record, chunks, vectors


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    yield database
    database.close()


def test_write_files_replaces_a_files_chunks_and_bumps_the_generation(db):
    before = db.generation
    removed, first = db.write_files([file_with_chunks("/a.md", ["one", "two"])])
    assert removed == [] and len(first) == 2
    removed, _ = db.write_files([file_with_chunks("/a.md", ["three"])])
    assert sorted(removed) == sorted(i for i, _ in first)
    assert db.chunk_count() == 1 and db.file_count() == 1
    assert db.generation == before + 2


def test_keyword_index_follows_inserts_and_deletes(db):
    db.write_files([file_with_chunks("/a.md", ["rotating logs with logrotate", "backups"])])
    assert [db.chunks([i])[i].text for i, _ in keyword_search(db, "logrotate", 5)] == ["rotating logs with logrotate"]
    db.remove_files(["/a.md"])
    assert keyword_search(db, "logrotate", 5) == []


def test_keyword_query_with_fts_syntax_characters_is_not_an_error(db):
    db.write_files([file_with_chunks("/a.md", ["error E1234 in module"])])
    assert fts_query('"E1234" AND (NOT') == '"e1234" OR "not"'  # "and" is a stopword
    assert fts_query("what is it") == '"what" OR "is" OR "it"'  # nothing but stopwords: keep them
    assert len(keyword_search(db, 'E1234" AND (NOT *', 5)) == 1


def test_a_failed_transaction_leaves_the_previous_version(db):
    db.write_files([file_with_chunks("/a.md", ["original"])])
    record, chunks, _ = file_with_chunks("/a.md", ["new one", "new two"])
    with pytest.raises(ValueError):  # vectors do not match the chunks
        db.write_files([(record, chunks, np.zeros((1, DIMS), np.float32))])
    assert [c.text for c in db.chunks([i for i, _ in keyword_search(db, "original", 5)]).values()] == ["original"]
    assert db.chunk_count() == 1


def test_vectors_by_hash_finds_embedded_texts(db):
    db.write_files([file_with_chunks("/a.md", ["alpha", "beta"], seed=3)])
    found = db.vectors_by_hash([text_hash("alpha"), text_hash("missing")])
    assert list(found) == [text_hash("alpha")]
    np.testing.assert_allclose(found[text_hash("alpha")], unit(3))


def test_vector_index_round_trips_through_its_file(db, tmp_path):
    _, added = db.write_files([file_with_chunks("/a.md", ["a", "b", "c"], seed=10)])
    index = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    index.load(db)
    index.save(db)
    again = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    again.load(db)
    assert not again.dirty  # loaded from the file, not rebuilt
    best_id, score = again.search(unit(11), 1)[0]
    assert best_id == added[1][0] and score == pytest.approx(1.0, abs=1e-5)


def test_vector_index_is_rebuilt_when_sqlite_moved_on(db, tmp_path):
    db.write_files([file_with_chunks("/a.md", ["a"], seed=20)])
    index = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    index.load(db)
    index.save(db)
    # A later commit that never reached the FAISS file (as after a crash).
    _, added = db.write_files([file_with_chunks("/b.md", ["b"], seed=30)])
    again = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    again.load(db)
    assert again.dirty and again.count == 2
    assert again.search(unit(30), 1)[0][0] == added[0][0]


def test_vector_index_follows_removals(db, tmp_path):
    _, added = db.write_files([file_with_chunks("/a.md", ["a", "b"], seed=40)])
    index = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    index.load(db)
    removed = db.remove_files(["/a.md"])
    index.update(removed, [], db.generation)
    assert index.count == 0 and index.search(unit(40), 5) == []


def test_corrupt_faiss_file_is_rebuilt_from_sqlite(db, tmp_path):
    db.write_files([file_with_chunks("/a.md", ["a"], seed=50)])
    index = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    index.load(db)
    index.save(db)
    (tmp_path / "vectors.faiss").write_bytes(b"garbage")
    again = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    again.load(db)
    assert again.count == 1


# -- the cache is saved only when it holds exactly what SQLite holds ------------------------------------


def saved_pair(db, tmp_path) -> VectorIndex:
    db.write_files([file_with_chunks("/a.md", ["a", "b"], seed=60)])
    index = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    index.load(db)
    index.save(db)
    return index


def test_a_cache_that_missed_a_commit_is_stale_and_never_saved(db, tmp_path):
    index = saved_pair(db, tmp_path)
    before = (tmp_path / "vectors.faiss").read_bytes()
    db.write_files([file_with_chunks("/b.md", ["c"], seed=61)])  # another writer's commit, never followed
    removed, added = db.write_files([file_with_chunks("/c.md", ["d"], seed=62)])
    index.update(removed, added, db.generation)  # two generations ahead of the cache
    assert index.stale
    index.save(db)
    assert (tmp_path / "vectors.faiss").read_bytes() == before


def test_a_cache_with_the_right_generation_but_other_ids_is_never_saved(db, tmp_path):
    index = saved_pair(db, tmp_path)
    before = (tmp_path / "vectors.faiss").read_bytes()
    removed, added = db.write_files([file_with_chunks("/b.md", ["c"], seed=63)])
    index.update([], [(added[0][0] + 1000, added[0][1])], db.generation)  # right label, wrong content
    index.save(db)
    assert (tmp_path / "vectors.faiss").read_bytes() == before
    index.update([], [], db.generation)
    again = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    again.load(db)
    assert again.dirty and again.count == 3  # the saved pair disagreed with SQLite: rebuilt


def test_a_loaded_cache_is_mapped_and_copied_before_a_write_changes_it(db, tmp_path):
    """A reader maps the saved file; a writer that loaded it and then commits must not touch the mapping
    (FAISS aborts the whole process on a change to mapped vectors)."""
    saved_pair(db, tmp_path)
    index = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    index.load(db)
    assert index.mapped and not index.dirty and index.count == 2
    changed = [file_with_chunks("/a.md", ["a2"], seed=70), file_with_chunks("/b.md", ["c"], seed=71)]
    removed, added = db.write_files(changed)
    index.update(removed, added, db.generation)
    assert not index.mapped and index.count == 2
    assert [i for i, _ in index.search(unit(71), 1)] == [i for i, _ in added if np.allclose(_, unit(71))]
    index.save(db)
    again = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    again.load(db)
    assert again.mapped and not again.dirty and again.count == 2


ONE_SHOT = """
import json, sys
from pathlib import Path
import numpy as np
from semsearch.store.db import Database
from semsearch.store.vectors import VectorIndex
db = Database(Path(sys.argv[1]))
index = VectorIndex(Path(sys.argv[2]), int(sys.argv[3]))
index.load(db)
found = index.search(np.array(json.loads(sys.argv[4]), np.float32), 5)
print(json.dumps([found, index.dirty, "faiss" in sys.modules]))
"""


def test_a_one_shot_search_reads_the_saved_flat_file_without_faiss(db, tmp_path):
    """A query process maps the flat cache with numpy and scans it: the same answer as FAISS, no FAISS import."""
    import subprocess
    import sys

    for n in range(6):
        db.write_files([file_with_chunks(f"/{n}.md", [f"c{n}-{i}" for i in range(20)], seed=100 + 20 * n)])
    saved = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    saved.load(db)
    saved.save(db)
    query = unit(137)
    args = [str(tmp_path / "index.db"), str(tmp_path / "vectors.faiss"), str(DIMS), json.dumps(query.tolist())]
    out = subprocess.run([sys.executable, "-c", ONE_SHOT, *args], capture_output=True, text=True, check=True)
    found, rebuilt, imported = json.loads(out.stdout)
    assert not rebuilt and not imported
    expected = saved.search(query, 5)  # FAISS's own index, in this process
    assert [i for i, _ in found] == [i for i, _ in expected]
    np.testing.assert_allclose([s for _, s in found], [s for _, s in expected], atol=1e-6)


def test_a_flat_file_in_a_layout_numpy_does_not_map_is_read_by_faiss(db, tmp_path, monkeypatch):
    """Another FAISS version may lay the file out otherwise: then FAISS reads it, and nothing is rebuilt."""
    from semsearch.store import vectors

    saved_pair(db, tmp_path)
    assert vectors.map_flat_file(tmp_path / "vectors.faiss", DIMS, 2) is not None
    assert vectors.map_flat_file(tmp_path / "vectors.faiss", DIMS + 1, 2) is None
    assert vectors.map_flat_file(tmp_path / "vectors.faiss", DIMS, 3) is None
    monkeypatch.setattr(vectors, "map_flat_file", lambda *_: None)
    index = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    index.load(db)
    assert index.mapped is None and not index.dirty and index.count == 2
    _, _, ids, stored = db.vector_snapshot()
    assert index.search(unit(60), 1) == [(int(ids[np.argmax(stored @ unit(60))]), pytest.approx(1.0))]


def test_a_sidecar_with_the_whole_files_crc_still_loads(db, tmp_path):
    """Sidecars written before the sampled CRC carry a CRC of the whole file: still trusted when it matches."""
    import zlib

    saved_pair(db, tmp_path)
    cache, sidecar = tmp_path / "vectors.faiss", tmp_path / "vectors.json"
    data = json.loads(sidecar.read_text())
    del data["sampled_crc32"], data["length"]
    data["crc32"] = zlib.crc32(cache.read_bytes())
    sidecar.write_text(json.dumps(data))
    index = VectorIndex(cache, DIMS)
    index.load(db)
    assert not index.dirty and index.count == 2
    data["crc32"] += 1
    sidecar.write_text(json.dumps(data))
    index = VectorIndex(cache, DIMS)
    index.load(db)
    assert index.dirty and index.count == 2  # rebuilt


def test_a_rebuilt_cache_is_labelled_with_the_state_it_was_read_in(db, tmp_path):
    saved_pair(db, tmp_path)
    index = VectorIndex(tmp_path / "other.faiss", DIMS)
    index.rebuild(db)
    assert index.state == db.state() and index.count == 2


@pytest.mark.parametrize("damage", ["torn cache", "foreign sidecar", "missing sidecar", "sidecar of another index"])
def test_a_damaged_or_foreign_cache_is_rebuilt_not_trusted(db, tmp_path, damage):
    saved_pair(db, tmp_path)
    cache, sidecar = tmp_path / "vectors.faiss", tmp_path / "vectors.json"
    if damage == "torn cache":
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    elif damage == "foreign sidecar":
        data = json.loads(sidecar.read_text())
        data["sampled_crc32"] += 1
        sidecar.write_text(json.dumps(data))
    elif damage == "missing sidecar":
        sidecar.unlink()
    else:
        data = json.loads(sidecar.read_text())
        data["mirrors"]["index_id"] = "another-index"
        sidecar.write_text(json.dumps(data))
    index = VectorIndex(cache, DIMS)
    index.load(db)
    assert index.dirty and index.count == 2 and index.state == db.state()


def test_a_new_sidecar_is_written_only_after_the_cache_it_describes(db, tmp_path, monkeypatch):
    """Killed between the two renames, the pair disagrees and is rebuilt."""
    from semsearch.store import vectors as vectors_module

    index = saved_pair(db, tmp_path)
    removed, added = db.write_files([file_with_chunks("/b.md", ["c"], seed=64)])
    index.update(removed, added, db.generation)

    def die(name):
        if name == "vectors-renamed":
            raise KeyboardInterrupt

    monkeypatch.setattr(vectors_module, "pause_point", die)
    with pytest.raises(KeyboardInterrupt):
        index.save(db)
    again = VectorIndex(tmp_path / "vectors.faiss", DIMS)
    again.load(db)
    assert again.dirty and again.count == 3


# -- transactions roll back; a lasting lock is one line ------------------------------------------------


def test_set_meta_touch_files_and_clear_roll_back_on_failure(db):
    db.write_files([file_with_chunks("/a.md", ["a"])])
    with pytest.raises(TypeError):
        db.set_meta({"ok": "1", "bad": object()})  # not JSON: fails inside the transaction
    assert not db.conn.in_transaction and db.get_meta("ok") is None
    with pytest.raises(sqlite3.Error):
        db.touch_files([FileRecord("/a.md", object(), 1, "h")])  # a size SQLite cannot store
    assert not db.conn.in_transaction
    db.conn.execute(
        "CREATE TEMP TRIGGER refuse AFTER UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
    )
    with pytest.raises(sqlite3.Error, match="refused by trigger"):
        db.clear()  # fails at its last step, after deleting chunks and files
    assert not db.conn.in_transaction and db.file_count() == 1 and db.chunk_count() == 1
    db.conn.execute("DROP TRIGGER refuse")
    db.set_meta({"ok": "2"})  # the connection is usable again
    assert db.get_meta("ok") == "2"


def test_a_database_locked_by_another_program_is_a_one_line_error(db, tmp_path, monkeypatch):
    from semsearch.errors import DatabaseBusyError
    from semsearch.store import db as db_module

    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(tmp_path / "index.db", timeout=0.1, isolation_level=None)
    db.conn.execute("PRAGMA busy_timeout = 200")
    other.execute("BEGIN IMMEDIATE")  # e.g. a DB browser holding a write transaction
    try:
        with pytest.raises(DatabaseBusyError) as caught:
            db.set_meta({"k": "v"})
        assert str(caught.value) == (
            f"the index database {tmp_path / 'index.db'} is locked by another program (waited 0.2 s): "
            "try again when it is done"
        )
        assert caught.value.exit_code == 75 and not db.conn.in_transaction
        assert db.chunk_count() == 0  # readers are not blocked (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
    db.set_meta({"k": "v"})
    assert db.get_meta("k") == "v"


def test_a_lock_answered_at_once_is_retried_when_nothing_of_a_transaction_was_done(db):
    calls = []

    def flaky(sql, parameters):
        calls.append(sql)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "answered"

    assert db.conn._retrying(flaky, "SELECT 1", ()) == "answered" and len(calls) == 3


def test_two_processes_creating_one_index_agree_on_its_identity(tmp_path, monkeypatch):
    """Both saw no schema yet; the later one's creation must not reset the first one's id or generation."""
    from semsearch.store import db as db_module

    first = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    first.conn.execute("UPDATE meta SET value = '7' WHERE key = 'generation'")  # the first one already wrote
    real_execute = db_module._Connection.execute

    def racing(self, sql, parameters=(), /):
        if "FROM sqlite_master WHERE name = 'meta'" in sql:
            sql = "SELECT 1 WHERE 0"  # "no meta table yet", as the second process saw it a moment ago
        return real_execute(self, sql, parameters)

    monkeypatch.setattr(db_module._Connection, "execute", racing)
    second = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    assert second.state() == first.state() and second.state()[1] == 7
    first.close()
    second.close()


def keyword_search(db: Database, text: str, k: int) -> list[tuple[int, float]]:
    return db.keyword_search(fts_query(text), k, COLUMN_WEIGHTS)


def test_an_older_index_gets_its_count_indexes_but_a_reader_never_waits_for_them(tmp_path, monkeypatch):
    """The partial indexes of embedded and pending chunks and the embedded summary (what make the vector
    cache's check cheap) are added to an index made before them; a reader opening it beside a writer goes
    on without them, counting from the rows."""
    monkeypatch.setenv("SEMSEARCH_BUSY_TIMEOUT", "3")
    path = tmp_path / "index.db"
    db = Database(path)
    db.write_files([file_with_chunks("/a.md", ["a", "b"], seed=80)])
    db.conn.execute("DROP INDEX chunks_embedded")
    db.conn.execute("DROP INDEX chunks_pending")
    for trigger in ("insert", "delete", "update"):
        db.conn.execute(f"DROP TRIGGER embedded_summary_{trigger}")
    db.conn.execute("DROP TABLE embedded_summary")
    db.close()

    def indexes() -> set[str]:
        with sqlite3.connect(path) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}

    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process's write in progress
    reader = Database(path)  # neither waits for the writer nor fails
    assert reader.chunk_id_summary() == (2, 3) and reader.embedded_count() == 2
    reader.close()
    assert not {"chunks_embedded", "chunks_pending"} & indexes()
    writer.execute("ROLLBACK")
    writer.close()
    Database(path).close()
    assert {"chunks_embedded", "chunks_pending"} <= indexes()
    again = Database(path)  # the summary was added with what the rows held, and follows them since
    assert again.conn.execute("SELECT count, id_sum FROM embedded_summary").fetchone() == (2, 3)
    again.write_files([file_with_chunks("/b.md", ["c"], seed=81)])
    assert again.chunk_id_summary() == scanned_summary(again) == (3, 6)
    again.close()
    plan = (
        sqlite3.connect(path)
        .execute("EXPLAIN QUERY PLAN SELECT count(*), sum(id) FROM chunks WHERE vector IS NOT NULL")
        .fetchall()
    )
    assert "chunks_embedded" in str(plan)


def test_a_large_flat_index_scans_an_8bit_copy_and_still_answers_exactly(tmp_path):
    from semsearch.store.vectors import SCAN_COPY_FROM

    rng = np.random.default_rng(7)
    dims, count = 384, SCAN_COPY_FROM + 500
    vectors = rng.standard_normal((count, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.permutation(10 * count)[:count].astype(np.int64)  # ids unlike positions
    index = VectorIndex(tmp_path / "vectors.faiss", dims)
    index.build(ids, vectors)
    # queries near a stored vector (as a question near its passage), queries near nothing, and queries along an
    # axis (a component far beyond any stored one, which the 8-bit copy must clip, not wrap)
    near = vectors[rng.integers(0, count, 10)] + 0.05 * rng.standard_normal((10, dims)).astype(np.float32)
    axes = -np.eye(dims, dtype=np.float32)[[0, 5]]
    axes[1] *= -1
    queries = np.vstack([near, rng.standard_normal((10, dims)).astype(np.float32), axes])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    for n, query in enumerate(queries):
        found = index.search(query, 100)
        assert index.scans_a_copy is (n > 0)  # a process's first search scans the vectors themselves
        scores = vectors @ query
        best = np.argsort(-scores)[:100]
        assert [i for i, _ in found] == ids[best].tolist()
        np.testing.assert_allclose([s for _, s in found], scores[best], rtol=0, atol=1e-5)

    # a change drops the copy: the vector just added is found
    index.update([], [(7, queries[3])], generation=0)
    assert not index.scans_a_copy
    assert index.search(queries[3], 1)[0][0] == 7
    index.search(queries[3], 1)
    assert index.scans_a_copy and index.search(queries[3], 1)[0][0] == 7


def scanned_summary(db: Database) -> tuple[int, int]:
    count, total = db.conn.execute(
        "SELECT count(*), coalesce(sum(id), 0) FROM chunks WHERE vector IS NOT NULL"
    ).fetchone()
    return count, total


def test_the_embedded_summary_follows_every_write(db):
    """The count and id sum the vector cache is checked against come from triggers, not a scan of every id."""
    record, chunks, vectors = file_with_chunks("/a.md", ["a", "b", "c"], seed=90)
    db.write_files([(record, chunks, [vectors[0], None, vectors[2]])])  # one chunk pending
    assert db.chunk_id_summary() == scanned_summary(db) and db.chunk_id_summary()[0] == 2
    pending = db.conn.execute("SELECT id FROM chunks WHERE vector IS NULL").fetchone()[0]
    db.set_vectors([(pending, vectors[1])])
    assert db.chunk_id_summary() == scanned_summary(db) and db.chunk_id_summary()[0] == 3
    db.write_files([file_with_chunks("/a.md", ["a", "d"], seed=91), file_with_chunks("/b.md", ["e"], seed=92)])
    assert db.chunk_id_summary() == scanned_summary(db) and db.chunk_id_summary()[0] == 3
    db.remove_files(["/b.md"])
    assert db.chunk_id_summary() == scanned_summary(db) and db.chunk_id_summary()[0] == 2
    db.conn.execute("UPDATE chunks SET vector = NULL WHERE id = (SELECT max(id) FROM chunks)")
    assert db.chunk_id_summary() == scanned_summary(db) and db.chunk_id_summary()[0] == 1
    db.clear()
    assert db.chunk_id_summary() == (0, 0)
