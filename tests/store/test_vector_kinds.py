"""The vector index picks flat or IVF by size, converts as it grows, and stays exact enough."""

from __future__ import annotations

import numpy as np

from semsearch.store.vectors import VectorIndex
from tests.store.synthetic import DIMS, clustered


def recall_at_10(index: VectorIndex, vectors: np.ndarray, queries: np.ndarray) -> float:
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    hits = [len({i for i, _ in index.search(q, 10)} & set(row.tolist())) for q, row in zip(queries, exact, strict=True)]
    return sum(hits) / (10 * len(queries))


def test_small_indexes_are_flat_and_large_ones_ivf(tmp_path):
    everything = clustered(3050)
    vectors, queries = everything[:3000], everything[3000:]
    small = VectorIndex(tmp_path / "a.faiss", DIMS, flat_limit=5000)
    small.build(np.arange(3000), vectors)
    assert small.kind == "flat"
    large = VectorIndex(tmp_path / "b.faiss", DIMS, flat_limit=1000)
    large.build(np.arange(3000), vectors)
    assert large.kind == "ivf"
    assert recall_at_10(large, vectors, queries) >= 0.95


def test_growing_past_the_limit_converts_on_save_and_keeps_every_vector(tmp_path):
    vectors = clustered(2500)
    index = VectorIndex(tmp_path / "v.faiss", DIMS, flat_limit=1000)
    index.build(np.arange(800), vectors[:800])
    index.update([], [(i, vectors[i]) for i in range(800, 2500)], generation=1)
    assert index.kind == "ivf" and index.disk.centroids is None  # on disk at once, lists built on save
    assert index.search(vectors[2400], 1)[0][0] == 2400
    index.fit_kind()
    assert index.kind == "ivf" and index.count == 2500 and index.disk.centroids is not None
    assert index.search(vectors[2400], 1)[0][0] == 2400
    index.update(list(range(0, 2000)), [], generation=2)  # shrinking far below the limit goes back to flat
    index.fit_kind()
    assert index.kind == "flat" and index.count == 500
    assert index.search(vectors[2100], 1)[0][0] == 2100


def test_removed_ids_never_come_back_from_an_ivf_index(tmp_path):
    vectors = clustered(3000)
    index = VectorIndex(tmp_path / "v.faiss", DIMS, flat_limit=1000)
    index.build(np.arange(3000), vectors)
    index.update([7], [], generation=1)
    assert all(i != 7 for i, _ in index.search(vectors[7], 10))
