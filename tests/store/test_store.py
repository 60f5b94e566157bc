"""SQLite is the truth, FAISS a cache that is checked against it and rebuilt."""

from __future__ import annotations

import numpy as np
import pytest

from semsearch.store.db import ChunkRecord, Database, FileRecord, fts_query, text_hash
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
    database = Database(tmp_path / "index.db")
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
    assert [db.chunks([i])[i].text for i, _ in db.keyword_search("logrotate", 5)] == ["rotating logs with logrotate"]
    db.remove_files(["/a.md"])
    assert db.keyword_search("logrotate", 5) == []


def test_keyword_query_with_fts_syntax_characters_is_not_an_error(db):
    db.write_files([file_with_chunks("/a.md", ["error E1234 in module"])])
    assert fts_query('"E1234" AND (NOT') == '"e1234" OR "not"'  # "and" is a stopword
    assert fts_query("what is it") == '"what" OR "is" OR "it"'  # nothing but stopwords: keep them
    assert len(db.keyword_search('E1234" AND (NOT *', 5)) == 1


def test_a_failed_transaction_leaves_the_previous_version(db):
    db.write_files([file_with_chunks("/a.md", ["original"])])
    record, chunks, _ = file_with_chunks("/a.md", ["new one", "new two"])
    with pytest.raises(ValueError):  # vectors do not match the chunks
        db.write_files([(record, chunks, np.zeros((1, DIMS), np.float32))])
    assert [c.text for c in db.chunks([i for i, _ in db.keyword_search("original", 5)]).values()] == ["original"]
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
