"""The on-disk IVF: vectors on disk, checked against SQLite on load, rebuilt when torn or foreign."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from semsearch.store import disk_ivf
from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash
from semsearch.store.vectors import VectorIndex
from tests.store import synthetic
from tests.store.synthetic import DIMS


def clustered(count: int, seed: int = 0) -> np.ndarray:
    return synthetic.clustered(count, seed, topics=40, noise=0.4)


def write(db: Database, name: str, vectors: np.ndarray):
    record = FileRecord(path=name, size=1, mtime_ns=1, content_hash=text_hash(name))
    chunks = [ChunkRecord(i, 1, 1, "", f"{name} {i}", text_hash(f"{name} {i}")) for i in range(len(vectors))]
    return db.write_files([(record, chunks, vectors)])


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "index.db")
    yield database
    database.close()


@pytest.fixture(autouse=True)
def small_merges(monkeypatch):
    monkeypatch.setattr(disk_ivf, "TAIL_MIN", 200)


def fill(db: Database, path, vectors: np.ndarray, per_file: int = 500, index: VectorIndex | None = None) -> VectorIndex:
    """Index `vectors` through the real write path (SQLite commit, then the cache follows), then save."""
    if index is None:
        index = VectorIndex(path, DIMS, flat_limit=1000)
        index.load(db)  # as Index.vectors does: the cache starts from SQLite's state
    for start in range(0, len(vectors), per_file):
        removed, added = write(db, f"/f{start}", vectors[start : start + per_file])
        index.update(removed, added, db.generation)
    index.save(db)
    return index


def loads_without_rebuild(path, db: Database, monkeypatch) -> VectorIndex:
    index = VectorIndex(path, DIMS, flat_limit=1000)
    monkeypatch.setattr(index, "rebuild", lambda db: pytest.fail("rebuilt a cache that matched SQLite"))
    index.load(db)
    return index


def rebuilds(path, db: Database) -> bool:
    index = VectorIndex(path, DIMS, flat_limit=1000)
    called = []
    real = index.rebuild
    index.rebuild = lambda db: (called.append(1), real(db))
    index.load(db)
    return bool(called) and index.count == db.chunk_count()


def recall_at_10(index: VectorIndex, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray) -> float:
    exact = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :10]]
    hits = [len({i for i, _ in index.search(q, 10)} & set(row.tolist())) for q, row in zip(queries, exact, strict=True)]
    return sum(hits) / (10 * len(queries))


def chunk_ids(db: Database) -> np.ndarray:
    return np.concatenate([i for i, _ in db.all_vectors()])


def test_past_the_flat_limit_vectors_live_on_disk_and_load_back_without_a_rebuild(db, tmp_path, monkeypatch):
    everything = clustered(5050)
    vectors, queries = everything[:5000], everything[5000:]
    index = fill(db, tmp_path / "vectors.faiss", vectors)
    assert index.kind == "ivf" and index.disk.centroids is not None and index.count == 5000
    assert not (tmp_path / "vectors.faiss").exists()  # nothing of the in-memory kind is left behind
    again = loads_without_rebuild(tmp_path / "vectors.faiss", db, monkeypatch)
    assert again.kind == "ivf" and again.count == 5000
    assert recall_at_10(again, chunk_ids(db), vectors, queries) >= 0.95
    top_id, top_score = again.search(vectors[1234], 1)[0]
    assert top_id == chunk_ids(db)[1234] and top_score == pytest.approx(1.0, abs=2e-3)  # float16 on disk


def test_small_additions_go_to_the_tail_and_big_ones_are_merged_into_new_lists(db, tmp_path, monkeypatch):
    vectors = clustered(5300)
    index = fill(db, tmp_path / "vectors.faiss", vectors[:5000])
    lists = index.disk.lists_id
    removed, added = write(db, "/small", vectors[5000:5100])
    index.update(removed, added, db.generation)
    index.save(db)
    assert index.disk.lists_id == lists and index.disk.tail_rows == 100  # under TAIL_MIN: appended, not rebuilt
    loaded = loads_without_rebuild(tmp_path / "vectors.faiss", db, monkeypatch)
    assert loaded.search(vectors[5050], 1)[0][0] == added[50][0]
    removed, added = write(db, "/big", vectors[5100:5300])
    loaded.update(removed, added, db.generation)
    loaded.save(db)
    assert loaded.disk.lists_id != lists and loaded.disk.tail_rows == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert not any(lists in name for name in names), "the old lists were not cleaned up"
    assert loads_without_rebuild(tmp_path / "vectors.faiss", db, monkeypatch).count == 5300


def test_removed_rows_stay_hidden_even_when_sqlite_reuses_their_id(db, tmp_path, monkeypatch):
    vectors = clustered(3000)
    index = fill(db, tmp_path / "vectors.faiss", vectors[:2000], per_file=1000)
    last_id = int(chunk_ids(db).max())
    removed, added = db.remove_files(["/f1000"]), []
    index.update(removed, added, db.generation)
    assert all(i < 1000 + 1 or i not in removed for i, _ in index.search(vectors[1500], 10))
    # SQLite hands the highest ids out again: the new rows must win, the old ones stay hidden.
    removed, added = write(db, "/again", vectors[2000:3000])
    assert max(i for i, _ in added) == last_id
    index.update(removed, added, db.generation)
    index.save(db)
    loaded = loads_without_rebuild(tmp_path / "vectors.faiss", db, monkeypatch)
    hit, score = loaded.search(vectors[2999], 1)[0]
    assert hit == last_id and score > 0.99
    assert loaded.search(vectors[1999], 1)[0][0] != last_id  # the old vector under that id is gone
    assert loaded.count == 2000 == db.chunk_count()


@pytest.mark.parametrize("damage", ["truncate-lists", "truncate-tail", "foreign", "unsaved-commit", "sidecar"])
def test_a_torn_foreign_or_stale_cache_is_rebuilt_from_sqlite(db, tmp_path, damage):
    vectors = clustered(5100)
    index = fill(db, tmp_path / "vectors.faiss", vectors[:5000])
    removed, added = write(db, "/tail", vectors[5000:5100])
    index.update(removed, added, db.generation)
    index.save(db)
    disk = index.disk
    if damage == "truncate-lists":
        path = disk._path(disk.lists_id, "vec")
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size - 4096)
    elif damage == "truncate-tail":
        path = disk._path(disk.tail_id, "tail.vec")
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size - 64)
    elif damage == "foreign":  # another index's files and sidecar, same shape, other chunk ids
        other_db = Database(tmp_path / "other" / "index.db")
        other = VectorIndex(tmp_path / "other" / "vectors.faiss", DIMS, flat_limit=1000)
        other.load(other_db)
        other.update(*write(other_db, "/x", vectors[:7]), other_db.generation)  # shifts the ids by 7
        fill(other_db, other.path, vectors[:5000], index=other)
        other.update(*write(other_db, "/tail", vectors[5000:5100]), other_db.generation)
        other.update(other_db.remove_files(["/x"]), [], other_db.generation)
        other.save(other_db)
        assert (tmp_path / "other" / "vectors.json").exists()
        other_db.set_meta({"index_id": db.get_meta("index_id")})  # even a copied index id must not fool it
        for path in (tmp_path / "other").glob("vectors.*"):
            shutil.copy(path, tmp_path / path.name)
        other_db.close()
    elif damage == "unsaved-commit":  # a crash after the SQLite commit, before the cache was saved
        write(db, "/late", vectors[:3])
    elif damage == "sidecar":
        (tmp_path / "vectors.json").write_text("{not json")
    assert rebuilds(tmp_path / "vectors.faiss", db)
