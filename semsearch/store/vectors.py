"""The FAISS side of an index: a derived, rebuildable cache of the vectors in SQLite.

The file carries the SQLite generation it was written at (in a small JSON sidecar). When
the two disagree (a crash between a SQLite commit and the FAISS save, or a file copied
from elsewhere) the index is rebuilt from SQLite, which holds every vector too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from semsearch.store.db import Database


class VectorIndex:
    """Inner-product search over unit vectors, keyed by chunk id."""

    def __init__(self, path: Path, dimensions: int):
        self.path = path
        self.sidecar = path.with_suffix(".json")
        self.dimensions = dimensions
        self.index = None
        self.generation = -1
        self.dirty = False

    def _empty(self):
        import faiss

        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimensions))

    def load(self, db: Database) -> None:
        """Load the saved index if it matches the database's generation, else rebuild it."""
        import faiss

        generation = db.generation
        if self.path.exists() and self.sidecar.exists():
            try:
                saved = json.loads(self.sidecar.read_text())
                if saved.get("generation") == generation and saved.get("dimensions") == self.dimensions:
                    self.index = faiss.read_index(str(self.path))
                    self.generation = generation
                    if self.index.ntotal == saved.get("count"):
                        return
            except (OSError, ValueError, RuntimeError):
                pass  # unreadable or stale: fall through to a rebuild
        self.rebuild(db)

    def rebuild(self, db: Database) -> None:
        self.index = self._empty()
        for ids, vectors in db.all_vectors():
            self.index.add_with_ids(vectors, ids)
        self.generation = db.generation
        self.dirty = True

    @property
    def count(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def update(self, removed: list[int], added: list[tuple[int, np.ndarray]], generation: int) -> None:
        """Follow a committed SQLite write."""
        if self.index is None:
            self.index = self._empty()
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

    def save(self) -> None:
        """Write atomically: index first, sidecar last, so a crash leaves a detectable mismatch."""
        import faiss

        if self.index is None or not self.dirty:
            return
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, self.path)
        sidecar = {"generation": self.generation, "count": self.count, "dimensions": self.dimensions}
        tmp_sidecar = self.sidecar.with_suffix(f".{os.getpid()}.tmp")
        tmp_sidecar.write_text(json.dumps(sidecar))
        os.replace(tmp_sidecar, self.sidecar)
        self.dirty = False
