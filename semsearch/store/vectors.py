"""The FAISS side of an index: a derived, rebuildable cache of the vectors in SQLite.

A small JSON sidecar says what the file mirrors: the index's id, the SQLite generation, the
count and id sum of the chunks, and a CRC-32 of the file's bytes. Both files are written to a
temp file, fsynced and renamed. When anything disagrees (a crash between a SQLite commit
and the save, a torn file, a cache copied from another index) the cache is rebuilt from
SQLite, which holds every vector too: it is never trusted on its word.

The kind of index follows the size: exact (flat) search up to FLAT_LIMIT vectors, where a
scan takes a few milliseconds; above it an inverted-file index (IVF), which scans only the
clusters nearest the query. An index that grows past the limit is converted when saved.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import zlib
from pathlib import Path

import numpy as np

from semsearch.store.db import Database
from semsearch.store.pausepoints import pause_point

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
        self.index_id: str | None = None
        self.generation = -1
        self.trained_on = 0
        self.dirty = False
        self.stale = False  # missed a commit: must be rebuilt from SQLite, never saved

    @property
    def state(self) -> tuple[str | None, int]:
        """(index id, generation) of the SQLite state these vectors mirror (compare with Database.state())."""
        return self.index_id, self.generation

    @property
    def kind(self) -> str:
        return "ivf" if self.index is not None and "IVF" in type(self.index).__name__ else "flat"

    def load(self, db: Database) -> None:
        """Load the saved index if it matches the database's generation, else rebuild it."""
        import faiss

        if self.path.exists() and self.sidecar.exists():
            try:
                saved = json.loads(self.sidecar.read_text())
                if saved.get("mirrors") == _mirrors(db, self.dimensions) and saved.get("crc32") == _crc32(self.path):
                    index = faiss.read_index(str(self.path))
                    if index.ntotal == saved["mirrors"]["count"]:
                        self.index, self.generation = index, saved["mirrors"]["generation"]
                        self.index_id, self.stale, self.dirty = saved["mirrors"]["index_id"], False, False
                        self.trained_on = int(saved.get("trained_on", 0))
                        self._tune()
                        return
            except (OSError, ValueError, RuntimeError, KeyError, TypeError):
                pass  # unreadable or stale: fall through to a rebuild
        self.rebuild(db)

    def rebuild(self, db: Database) -> None:
        """Every vector SQLite holds, labelled with the state they were read in (one snapshot)."""
        index_id, generation, ids, vectors = db.vector_snapshot()
        if not len(ids):
            vectors = np.zeros((0, self.dimensions), np.float32)
        self.build(ids, vectors)
        self.index_id, self.generation, self.stale = index_id, generation, False

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
        """Follow a committed SQLite write, which took the generation from `generation - 1` to `generation`.

        A cache already at `generation` (rebuilt after the commit) has the write; one further
        behind missed another process's commit and is marked stale instead of guessed at.
        """
        if generation == self.generation and not self.stale:
            return
        if generation != self.generation + 1 and self.generation >= 0:  # -1: built by hand, following no database
            self.stale = True
            return
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

    def fit_kind(self) -> None:
        """Convert to the kind of index this many vectors call for (flat <-> IVF, or retrain IVF)."""
        if self.index is not None and self._needs_new_kind():
            generation = self.generation
            self.build(*self._all())
            self.generation = generation

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

    def save(self, db: Database) -> None:
        """Write atomically (temp file, fsync, rename), the sidecar last, only by the index's writer.

        The sidecar records what SQLite held when the cache was written; a crash anywhere
        leaves either the old pair, or a pair whose sidecar disagrees with SQLite or the bytes.
        """
        import faiss

        if self.index is None or not self.dirty or self.stale:
            return
        self.fit_kind()
        mirrors = _mirrors(db, self.dimensions)
        held = {"index_id": self.index_id, "generation": self.generation, "dimensions": self.dimensions}
        held["count"], held["id_sum"] = self._id_summary()
        if held != mirrors:
            return  # this cache does not hold exactly what SQLite holds: never save it
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        faiss.write_index(self.index, str(tmp))
        _fsync(tmp)
        sidecar = {"mirrors": mirrors, "crc32": _crc32(tmp), "kind": self.kind, "trained_on": self.trained_on}
        pause_point("vectors-written")
        os.replace(tmp, self.path)
        pause_point("vectors-renamed")
        _replace_text(self.sidecar, json.dumps(sidecar))
        _fsync(self.path.parent)
        self.dirty = False

    def _id_summary(self) -> tuple[int, int]:
        """(count, sum) of the chunk ids this cache holds, to compare with SQLite's."""
        ids, _ = self._all() if self.kind == "ivf" else (self._flat_ids(), None)
        return int(len(ids)), int(ids.sum()) if len(ids) else 0

    def _flat_ids(self) -> np.ndarray:
        import faiss

        return faiss.vector_to_array(self.index.id_map).astype(np.int64)


def remove_temp_files(folder: Path) -> None:
    """Delete what a save killed half-way left (call only under the writer lock: no save is running)."""
    for leftover in folder.glob("vectors.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _mirrors(db: Database, dimensions: int) -> dict:
    """What a saved cache must match in SQLite: index identity, generation, chunk count and id sum."""
    count, id_sum = db.chunk_id_summary()
    return {
        "index_id": db.get_meta("index_id"),
        "generation": db.generation,
        "count": count,
        "id_sum": id_sum,
        "dimensions": dimensions,
    }


def _crc32(path: Path) -> int:
    crc = 0
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with path.open("rb") as f:
        while n := f.readinto(buffer):
            crc = zlib.crc32(view[:n], crc)
    return crc


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    _fsync(tmp)
    os.replace(tmp, path)
