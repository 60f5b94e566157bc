"""The FAISS side of an index: a derived, rebuildable cache of the vectors in SQLite.

A small JSON sidecar says what the file mirrors: the index's id, the SQLite generation, the
count and id sum of the chunks, and the file's length and CRC-32s of sampled blocks (its head,
its tail and 16 between: a whole-file CRC cost a query process 0.07 s per 100,000 vectors). Both
files are written to a temp file, fsynced and renamed. When anything disagrees (a crash between a SQLite commit
and the save, a torn file, a cache copied from another index) the cache is rebuilt from
SQLite, which holds every vector too: it is never trusted on its word.

The kind of index follows the size: exact (flat) search in memory up to FLAT_LIMIT vectors,
where a scan takes a few milliseconds (a loaded flat file is mapped, not read, and copied only
when this process changes it); above it an inverted-file index (IVF) whose vectors
live on disk (store/disk_ivf.py), which reads only the clusters nearest the query, so memory
stays flat however large the corpus grows. A flat index growing past the limit moves to disk
at once; the IVF lists are (re)built when saved. The on-disk kind's sidecar checks sizes,
sampled CRC-32s and the ids' count and sum too.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semsearch.settings import env_int
from semsearch.store.db import Database
from semsearch.store.disk_ivf import DiskIVF, DiskIVFError, fsync_path, sampled_crc32
from semsearch.store.pausepoints import pause_point

FLAT_LIMIT = 100_000  # the default; $SEMSEARCH_FLAT_LIMIT overrides it, read where used (tests put vectors on disk)
SCAN_COPY_FROM = 20_000  # a flat index this large gets an 8-bit copy to scan, from a process's second search
SCAN_WIDTH = 3  # the copy finds 3x the neighbours wanted; their exact scores choose among them


class VectorIndex:
    """Inner-product search over unit vectors, keyed by chunk id."""

    def __init__(self, path: Path, dimensions: int, *, flat_limit: int | None = None):
        self.path = path
        self.sidecar = path.with_suffix(".json")
        self.dimensions = dimensions
        self.flat_limit = flat_limit if flat_limit is not None else env_int("SEMSEARCH_FLAT_LIMIT", FLAT_LIMIT)
        self.index = None  # faiss flat index (in memory), or None
        # A saved flat file's (ids, vectors), mapped read-only in place of `index` until this process changes them
        self.mapped: tuple[np.ndarray, np.ndarray] | None = None
        self.disk: DiskIVF | None = None  # on-disk IVF above the flat limit
        self.index_id: str | None = None
        self.generation = -1
        self.trained_on = 0
        self.dirty = False
        self.stale = False  # missed a commit: must be rebuilt from SQLite, never saved
        self.scan: ScanCopy | None = None  # an 8-bit copy of the flat vectors, scanned in their place (see search)
        self.searches = 0  # since the vectors last changed

    @property
    def state(self) -> tuple[str | None, int]:
        """(index id, generation) of the SQLite state these vectors mirror (compare with Database.state())."""
        return self.index_id, self.generation

    @property
    def kind(self) -> str:
        return "ivf" if self.disk is not None else "flat"

    def load(self, db: Database) -> None:
        """Load the saved index if it matches the database's generation, else rebuild it."""
        for _ in range(3):  # a writer may replace the files between our reading the sidecar and opening them
            try:
                saved = json.loads(self.sidecar.read_text())
            except (OSError, ValueError):
                break
            if saved.get("kind") != "ivf-disk" or saved.get("mirrors") != _mirrors(db, self.dimensions):
                break
            try:
                disk = DiskIVF.open(self.path, self.dimensions, saved["disk"])
                if disk.id_summary() == (saved["mirrors"]["count"], saved["mirrors"]["id_sum"]):
                    self._drop()
                    self.disk, self.generation = disk, saved["mirrors"]["generation"]
                    self.index_id, self.stale, self.dirty = saved["mirrors"]["index_id"], False, False
                    self.trained_on = disk.trained_on
                    return
                disk.close()
                break
            except (DiskIVFError, KeyError, TypeError):
                continue
        if self.path.exists() and self.sidecar.exists():
            try:
                saved = json.loads(self.sidecar.read_text())
                if (
                    saved.get("kind") == "flat"
                    and saved.get("mirrors") == _mirrors(db, self.dimensions)
                    and _intact(self.path, saved)
                ):
                    # Mapped, not read: a query process starts in milliseconds, and the page cache is shared.
                    count = saved["mirrors"]["count"]
                    mapped = map_flat_file(self.path, self.dimensions, count)
                    index = None if mapped is not None else _read_faiss(self.path)
                    if mapped is not None or index.ntotal == count:
                        self._drop()
                        self.mapped, self.index, self.generation = mapped, index, saved["mirrors"]["generation"]
                        self.index_id, self.stale, self.dirty = saved["mirrors"]["index_id"], False, False
                        return
            except (OSError, ValueError, RuntimeError, KeyError, TypeError):
                pass  # unreadable or stale: fall through to a rebuild
        self.rebuild(db)

    def rebuild(self, db: Database) -> None:
        """From SQLite, labelled with the state the vectors were read in (one read snapshot);
        above the flat limit streamed straight to disk, never all in memory."""
        count, _ = db.chunk_id_summary()
        if count <= self.flat_limit:
            index_id, generation, ids, vectors = db.vector_snapshot()
            if not len(ids):
                vectors = np.zeros((0, self.dimensions), np.float32)
            self.build(ids, vectors)
        else:
            self._drop()
            self.disk = DiskIVF(self.path, self.dimensions)
            with db.read_snapshot():
                index_id, generation = db.state()
                for ids, vectors in db.all_vectors():
                    self.disk.append(ids, vectors)
            self.disk.merge()
            self.trained_on = self.disk.trained_on
            self.dirty = True
        self.index_id, self.generation, self.stale = index_id, generation, False

    def build(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """A fresh index of the right kind for this many vectors."""
        import faiss

        self._drop()
        count = len(ids)
        if count <= self.flat_limit:
            # IndexIDMap, not IndexIDMap2: no id -> position table to rebuild when a process maps it (0.4 ms, not 7)
            self.index = faiss.IndexIDMap(faiss.IndexFlatIP(self.dimensions))
            if count:
                self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        else:
            self.disk = DiskIVF(self.path, self.dimensions)
            for start in range(0, count, 65_536):
                self.disk.append(ids[start : start + 65_536], vectors[start : start + 65_536])
            self.disk.merge()
            self.trained_on = self.disk.trained_on
        self.dirty = True

    def _drop(self) -> None:
        """Forget the current index (its on-disk files stay until a save no longer names them)."""
        if self.disk is not None:
            self.disk.close()
        self.index, self.disk, self.trained_on, self.mapped = None, None, 0, None
        self.scan, self.searches = None, 0

    def close(self) -> None:
        """Close the on-disk files; a replaced or finished cache must not keep them open."""
        self._drop()

    @property
    def nprobe(self) -> int:
        return self.disk.nprobe if self.disk is not None else 0

    @property
    def count(self) -> int:
        if self.disk is not None:
            return self.disk.count
        return len(self._arrays()[0])

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
        self.scan, self.searches = None, 0
        if self.mapped is not None:  # the saved file stays as it is: this process changes a copy of its own
            self.build(*self._all())
        if self.index is None and self.disk is None:
            self.build(np.zeros(0, np.int64), np.zeros((0, self.dimensions), np.float32))
        target = self.disk if self.disk is not None else None
        if removed:
            ids = np.asarray(removed, dtype=np.int64)
            target.remove(ids) if target is not None else self.index.remove_ids(ids)
        if added:
            ids = np.fromiter((i for i, _ in added), dtype=np.int64, count=len(added))
            vectors = np.vstack([v for _, v in added]).astype(np.float32)
            if target is not None:
                target.append(ids, vectors)
            else:
                self.index.add_with_ids(vectors, ids)
                if self.index.ntotal > self.flat_limit:
                    self._to_disk()  # memory stays bounded: past the limit, vectors go to disk
        self.generation = generation
        self.dirty = True

    def _to_disk(self) -> None:
        """Move a flat index to disk block by block, reading its arrays in place (no full copy)."""
        ids, vectors = self._arrays()
        count = len(ids)
        disk = DiskIVF(self.path, self.dimensions)
        for start in range(0, count, 8_192):
            disk.append(ids[start : start + 8_192], vectors[start : start + 8_192])
        generation = self.generation
        self._drop()
        self.disk, self.generation = disk, generation

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest (chunk id, inner product), best first; exact on a flat index.

        A flat scan reads every vector (154 MB for 100,000): it is bound by memory, not arithmetic.
        It runs in numpy, so a one-shot query never imports FAISS. From a process's second search, a
        flat index of SCAN_COPY_FROM vectors or more is scanned in an 8-bit copy, a quarter of the bytes
        (0.2 s to build for 100,000; dropped when the vectors change), for SCAN_WIDTH times the neighbours
        wanted, and those are ranked by their exact inner products: the same k as the full scan
        unless 8 bits moved one of them from the top k past SCAN_WIDTH * k (tests/store: none did).
        """
        if self.disk is not None:
            return self.disk.search(query, min(k, self.disk.count)) if self.disk.count else []
        ids, vectors = self._arrays()  # read once: on a FAISS index each read goes through SWIG
        count = len(ids)
        if count == 0:
            return []
        k = min(k, count)
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        self.searches += 1
        if self.scan is None and self.searches > 1 and count >= SCAN_COPY_FROM:
            self.scan = _scan_copy(vectors)
        if self.scan is None:
            rows = _top_rows(np.einsum("ij,j->i", vectors, query[0]), k)  # numpy: no FAISS import for one query
        else:
            rows = self.scan.rows(query, min(count, k * SCAN_WIDTH))
        exact = vectors[rows] @ query[0]
        best = np.argsort(-exact, kind="stable")[:k]
        return [(int(i), float(s)) for i, s in zip(ids[rows[best]], exact[best], strict=True)]

    @property
    def scans_a_copy(self) -> bool:
        """Whether searches scan the 8-bit copy (then rank its candidates exactly)."""
        return self.scan is not None

    def fit_kind(self) -> None:
        """Convert to the kind of index this many vectors call for (flat <-> IVF), or merge the IVF's tail."""
        if self.disk is not None:
            if self.count <= self.flat_limit // 2:
                generation = self.generation
                self.build(*self._all())
                self.generation = generation
            elif self.disk.centroids is None or self.disk.needs_merge():
                self.disk.merge()
                self.trained_on = self.disk.trained_on
                self.dirty = True
        elif self.count > self.flat_limit:
            self._to_disk()
            self.fit_kind()

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """A flat index's (ids, vectors) in place, in the same order: valid until it changes."""
        if self.mapped is not None:
            return self.mapped
        if self.index is None:
            return np.zeros(0, np.int64), np.zeros((0, self.dimensions), np.float32)
        return _flat_ids(self.index), _flat_vectors(self.index)

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) the index holds, for converting it to another kind."""
        if self.disk is None:
            ids, vectors = self._arrays()
            return np.array(ids, dtype=np.int64), np.array(vectors, dtype=np.float32)
        parts = [(ids, vectors) for _, ids, vectors in self.disk.iter_live()]
        if not parts:
            return np.zeros(0, np.int64), np.zeros((0, self.dimensions), np.float32)
        return np.concatenate([i for i, _ in parts]), np.concatenate([v for _, v in parts])

    def save(self, db: Database) -> None:
        """Write atomically (temp file, fsync, rename), the sidecar last, only by the index's writer.

        The sidecar records what SQLite held when the cache was written; a crash anywhere
        leaves either the old pair, or a pair whose sidecar disagrees with SQLite or the bytes.
        """
        import faiss

        if (self.index is None and self.disk is None) or not self.dirty or self.stale:
            return  # nothing, or the saved file itself (mapped), or a cache that missed a commit
        self.fit_kind()
        mirrors = _mirrors(db, self.dimensions)
        held = {"index_id": self.index_id, "generation": self.generation, "dimensions": self.dimensions}
        held["count"], held["id_sum"] = self._id_summary()
        if held != mirrors:
            return  # this cache does not hold exactly what SQLite holds: never save it
        if self.disk is not None:
            self.disk.flush()
            sidecar = {"mirrors": mirrors, "kind": "ivf-disk", "disk": self.disk.state()}
            pause_point("vectors-written")
            _replace_text(self.sidecar, json.dumps(sidecar))
            fsync_path(self.path.parent)
            self._remove_unused({p.name for p in self.disk.files()})
            self.dirty = False
            return
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        faiss.write_index(self.index, str(tmp))
        fsync_path(tmp)
        length = tmp.stat().st_size
        sidecar = {"mirrors": mirrors, "length": length, "sampled_crc32": sampled_crc32(tmp, length), "kind": "flat"}
        pause_point("vectors-written")
        os.replace(tmp, self.path)
        pause_point("vectors-renamed")
        _replace_text(self.sidecar, json.dumps(sidecar))
        fsync_path(self.path.parent)
        self._remove_unused(set())
        self.dirty = False

    def _remove_unused(self, keep: set[str]) -> None:
        """Delete on-disk IVF files the sidecar no longer names (readers holding them open keep reading)."""
        for path in self.path.parent.glob(f"{self.path.stem}.*.*"):
            if path.name not in keep and path.suffix != ".tmp" and path != self.path and path != self.sidecar:
                path.unlink(missing_ok=True)
        if keep:
            self.path.unlink(missing_ok=True)  # a flat file from before the move to disk

    def _id_summary(self) -> tuple[int, int]:
        """(count, sum) of the chunk ids this cache holds, to compare with SQLite's."""
        if self.disk is not None:
            return self.disk.id_summary()
        ids = self._arrays()[0]
        return int(len(ids)), int(ids.sum()) if len(ids) else 0


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


def _intact(path: Path, saved: dict) -> bool:
    """The flat file is the one the sidecar describes: its length and sampled CRC-32 (as the on-disk IVF's
    files), or the whole file's CRC-32 in a sidecar written before the sampled one."""
    if "sampled_crc32" in saved:
        length = path.stat().st_size
        return length == saved.get("length") and sampled_crc32(path, length) == saved["sampled_crc32"]
    return saved.get("crc32") == _crc32(path)


def _crc32(path: Path) -> int:
    crc = 0
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with path.open("rb") as f:
        while n := f.readinto(buffer):
            crc = zlib.crc32(view[:n], crc)
    return crc


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    fsync_path(tmp)
    os.replace(tmp, path)


def _flat_vectors(index) -> np.ndarray:
    """A flat IndexIDMap's vectors in place, (count, dimensions): valid until the index changes."""
    import faiss

    count, dimensions = int(index.ntotal), index.d
    codes = faiss.downcast_index(index.index).codes
    return faiss.rev_swig_ptr(codes.data(), count * dimensions * 4).view(np.float32).reshape(count, dimensions)


def _flat_ids(index) -> np.ndarray:
    """A flat IndexIDMap's chunk ids in place, in the order of its vectors."""
    import faiss

    return faiss.rev_swig_ptr(index.id_map.data(), int(index.ntotal))


# A flat cache as faiss.write_index writes an IndexIDMap over an IndexFlatIP: a header (fourcc, dimensions,
# count, two unused counts, trained, metric) for each of the two, the vectors' float count and floats, then
# the ids' count and ids.
_FAISS_HEADER = struct.Struct("<4siqqq?i")
_ID_MAPS, _FLAT_IP, _INNER_PRODUCT = (b"IxMp", b"IxM2"), b"IxFI", 0


def map_flat_file(path: Path, dimensions: int, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    """A saved flat cache's (ids, vectors), mapped read-only with numpy: a one-shot query searches it without
    importing FAISS (about 60 ms of a 0.3 s query). None if the file is not exactly that layout (FAISS
    reads it then) or cannot be read."""
    vectors_at = 2 * _FAISS_HEADER.size + 8
    ids_at = vectors_at + 4 * count * dimensions + 8
    try:
        with open(path, "rb") as f:
            head = f.read(vectors_at)
            f.seek(ids_at - 8)
            id_count = f.read(8)
            length = os.fstat(f.fileno()).st_size
    except OSError:
        return None
    if len(head) != vectors_at or len(id_count) != 8 or length != ids_at + 8 * count:
        return None
    outer, inner = _FAISS_HEADER.unpack_from(head), _FAISS_HEADER.unpack_from(head, _FAISS_HEADER.size)
    floats, id_total = struct.unpack_from("<Q", head, 2 * _FAISS_HEADER.size)[0], struct.unpack("<Q", id_count)[0]
    if (
        outer[0] not in _ID_MAPS
        or inner[0] != _FLAT_IP
        or any(h[1:3] != (dimensions, count) or h[6] != _INNER_PRODUCT for h in (outer, inner))
        or (floats, id_total) != (count * dimensions, count)
    ):
        return None
    if count == 0:
        return np.zeros(0, np.int64), np.zeros((0, dimensions), np.float32)
    return (
        np.memmap(path, np.int64, "r", offset=ids_at, shape=(count,)),
        np.memmap(path, np.float32, "r", offset=vectors_at, shape=(count, dimensions)),
    )


def _read_faiss(path: Path):
    """A flat cache in a layout map_flat_file does not know, read (not mapped) by FAISS."""
    import faiss

    return faiss.read_index(str(path))


def _top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k highest scores (in no particular order)."""
    return np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))


@dataclass(frozen=True)
class ScanCopy:
    """A flat index's vectors at 8 bits per component, rows in the same order: each component times one scale
    for all (unit vectors' components share a range), rounded to a signed byte. FAISS compares signed bytes
    with signed bytes, so the query is scaled and rounded the same way."""

    index: object  # faiss.IndexScalarQuantizer, QT_8bit_direct_signed
    scale: float

    def rows(self, query: np.ndarray, k: int) -> np.ndarray:
        """Rows of the k highest inner products with the query, by their 8-bit values."""
        _, rows = one_thread(self.index.search, np.clip(np.round(query * self.scale), -127, 127), k)
        return rows[0][rows[0] >= 0]


def _scan_copy(vectors: np.ndarray) -> ScanCopy:
    """Signed bytes are scanned without decoding them to floats: 2.0 ms for 100,000 vectors against 3.5 ms
    for FAISS's 8-bit uniform codes (4.7 ms with a range per dimension)."""
    import faiss

    scale = 127.0 / max(float(np.abs(vectors).max()), 1e-30)
    signed = faiss.ScalarQuantizer.QT_8bit_direct_signed
    copy = faiss.IndexScalarQuantizer(vectors.shape[1], signed, faiss.METRIC_INNER_PRODUCT)
    for start in range(0, len(vectors), 16_384):  # in blocks: the rounded floats are a copy
        copy.add(np.round(vectors[start : start + 16_384] * scale).astype(np.float32))
    return ScanCopy(copy, scale)


def one_thread(search, *args):
    """Run a FAISS search on this thread alone. One query's scan is memory-bound: a second OpenMP
    thread adds little, and on a busy machine its spin-waits cost several times the scan
    (benchmarks/README.md, row 13)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return search(*args)
    finally:
        faiss.omp_set_num_threads(before)
