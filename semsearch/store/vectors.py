"""The FAISS side of an index: a derived, rebuildable cache of the vectors in SQLite.

The file carries the SQLite generation it was written at (in a small JSON sidecar). When
the two disagree (a crash between a SQLite commit and the FAISS save, or a file copied
from elsewhere) the index is rebuilt from SQLite, which holds every vector too.

The kind of index follows the size: exact (flat) search up to FLAT_LIMIT vectors, where a
scan takes a few milliseconds; above it an inverted-file index (IVF), which scans only the
clusters nearest the query. An index that grows past the limit is converted when saved.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from semsearch.store.db import Database

FLAT_LIMIT = int(os.environ.get("SEMSEARCH_FLAT_LIMIT", 100_000))
IVF_NPROBE_FRACTION = 1 / 64  # clusters searched per query; recall@10 >= 0.95 on clustered data
RETRAIN_GROWTH = 4.0  # retrain the IVF clusters once the index is this many times its training size


def _ivf_lists(count: int) -> int:
    return int(min(16384, max(64, 4 * math.sqrt(count))))


class VectorIndex:
    """Inner-product search over unit vectors, keyed by chunk id."""

    def __init__(self, path: Path, dimensions: int, *, flat_limit: int | None = None):
        self.path = path
        self.sidecar = path.with_suffix(".json")
        self.dimensions = dimensions
        self.flat_limit = flat_limit if flat_limit is not None else FLAT_LIMIT
        self.index = None
        self.generation = -1
        self.trained_on = 0
        self.dirty = False

    @property
    def kind(self) -> str:
        return "ivf" if self.index is not None and "IVF" in type(self.index).__name__ else "flat"

    def load(self, db: Database) -> None:
        """Load the saved index if it matches the database's generation, else rebuild it."""
        import faiss

        generation = db.generation
        if self.path.exists() and self.sidecar.exists():
            try:
                saved = json.loads(self.sidecar.read_text())
                if saved.get("generation") == generation and saved.get("dimensions") == self.dimensions:
                    index = faiss.read_index(str(self.path))
                    if index.ntotal == saved.get("count"):
                        self.index, self.generation = index, generation
                        self.trained_on = int(saved.get("trained_on", 0))
                        self._tune()
                        return
            except (OSError, ValueError, RuntimeError):
                pass  # unreadable or stale: fall through to a rebuild
        self.rebuild(db)

    def rebuild(self, db: Database) -> None:
        batches = list(db.all_vectors())
        if batches:
            ids = np.concatenate([i for i, _ in batches])
            vectors = np.concatenate([v for _, v in batches])
        else:
            ids, vectors = np.zeros(0, np.int64), np.zeros((0, self.dimensions), np.float32)
        self.build(ids, vectors)
        self.generation = db.generation

    def build(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """A fresh index of the right kind for this many vectors."""
        import faiss

        count = len(ids)
        if count <= self.flat_limit:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimensions))
            self.trained_on = 0
        else:
            quantizer = faiss.IndexFlatIP(self.dimensions)
            lists = _ivf_lists(count)
            self.index = faiss.IndexIVFFlat(quantizer, self.dimensions, lists, faiss.METRIC_INNER_PRODUCT)
            sample = vectors
            if count > lists * 64:  # k-means needs ~40-256 points per cluster, not all of them
                picks = np.random.default_rng(0).choice(count, lists * 64, replace=False)
                sample = vectors[np.sort(picks)]
            self.index.train(np.ascontiguousarray(sample, dtype=np.float32))
            self.trained_on = count
            self._tune()
        if count:
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        self.dirty = True

    def _tune(self) -> None:
        if self.kind == "ivf":
            self.index.nprobe = max(16, int(self.index.nlist * IVF_NPROBE_FRACTION))

    @property
    def count(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def update(self, removed: list[int], added: list[tuple[int, np.ndarray]], generation: int) -> None:
        """Follow a committed SQLite write."""
        if self.index is None:
            self.build(np.zeros(0, np.int64), np.zeros((0, self.dimensions), np.float32))
        if removed:
            self.index.remove_ids(np.asarray(removed, dtype=np.int64))
        if added:
            ids = np.fromiter((i for i, _ in added), dtype=np.int64, count=len(added))
            self.index.add_with_ids(np.vstack([v for _, v in added]).astype(np.float32), ids)
        self.generation = generation
        self.dirty = True

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.index is None or self.index.ntotal == 0:
            return []
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), min(k, self.count))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _needs_new_kind(self) -> bool:
        if self.kind == "flat":
            return self.count > self.flat_limit
        return self.count <= self.flat_limit // 2 or self.count > self.trained_on * RETRAIN_GROWTH

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) the index holds, for converting it to another kind."""
        import faiss

        if self.kind == "flat":
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            codes = faiss.vector_to_array(faiss.downcast_index(self.index.index).codes)
            vectors = codes.view(np.float32).reshape(-1, self.dimensions)
            return ids, vectors
        invlists = self.index.invlists
        ids, vectors = [], []
        for lst in range(self.index.nlist):
            size = invlists.list_size(lst)
            if size:
                ids.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
                codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * self.dimensions * 4)
                vectors.append(np.frombuffer(codes.copy(), dtype=np.float32).reshape(size, self.dimensions))
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, self.dimensions), np.float32)
        return np.concatenate(ids), np.concatenate(vectors)

    def save(self) -> None:
        """Write atomically: index first, sidecar last, so a crash leaves a detectable mismatch."""
        import faiss

        if self.index is None or not self.dirty:
            return
        if self._needs_new_kind():
            generation = self.generation
            self.build(*self._all())
            self.generation = generation
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, self.path)
        sidecar = {
            "generation": self.generation,
            "count": self.count,
            "dimensions": self.dimensions,
            "kind": self.kind,
            "trained_on": self.trained_on,
        }
        tmp_sidecar = self.sidecar.with_suffix(f".{os.getpid()}.tmp")
        tmp_sidecar.write_text(json.dumps(sidecar))
        os.replace(tmp_sidecar, self.sidecar)
        self.dirty = False
