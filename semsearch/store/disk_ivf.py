"""An inverted-file (IVF) vector index whose vectors live on disk, so memory stays flat as it grows.

Resident: the cluster centres (nlist x dims float32, a few MB) and the list offsets. On disk:

- the lists: every vector (float16) and its chunk id, sorted by cluster, written once per build;
- the tail: vectors added since the build, appended in arrival order (searched exhaustively);
- the deletions: (row position, chunk id) pairs, so a row is hidden without rewriting a list.

Files are read with pread, not mapped: mapped pages count as the process's resident memory,
read pages in the kernel's page cache do not, and the kernel drops them under pressure. A
query reads only the `nprobe` lists nearest to it plus the tail; a save merges a tail grown
past TAIL_FRACTION of the index into new lists (retraining the centres once the index has
grown RETRAIN_GROWTH-fold), streaming block by block so no step holds every vector.

The files are a cache of SQLite, named by a random build id; `state()` goes into the
sidecar, and `open()` checks sizes, sampled CRC-32s and the ids' count and sum against it,
reading a few MB rather than the whole vector file.
"""

from __future__ import annotations

import math
import os
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

DTYPE = np.float16  # on disk: half the bytes of float32; scores within ~1e-3
BLOCK = 8_192  # rows per streamed block (12 MiB as float32 at 384 dims)
TAIL_FRACTION = 0.02  # merge the tail into the lists once it passes 2% of the index ...
TAIL_MIN = 20_000  # ... and this many rows
RETRAIN_GROWTH = 4.0
NPROBE_FRACTION = 1 / 64
TRAIN_POINTS_PER_LIST = 32  # k-means sample: bounded memory, enough points per centre
SAMPLE_BLOCKS = 16  # 4 KiB blocks sampled per file for the integrity CRC


def ivf_lists(count: int) -> int:
    """2·√n lists (64 to 65,536), never more than there are vectors to train them on."""
    return max(1, min(count, int(min(65_536, max(64, 2 * math.sqrt(count))))))


class DiskIVFError(Exception):
    """The files do not match the state recorded for them (torn, foreign, missing): rebuild."""


class DiskIVF:
    """IVF over on-disk lists plus an append-only tail; positions: lists rows first, then tail rows."""

    def __init__(self, base: Path, dimensions: int):
        self.base = base
        self.dimensions = dimensions
        self.row_bytes = dimensions * np.dtype(DTYPE).itemsize
        self.lists_id: str | None = None
        self.centroids: np.ndarray | None = None
        self.offsets = np.zeros(1, np.int64)
        self.trained_on = 0
        self.tail_id = uuid.uuid4().hex[:12]
        self.tail_rows = 0
        self.deleted_pos = np.zeros(0, np.int64)  # sorted
        self.deleted_ids = np.zeros(0, np.int64)  # same order as deleted_pos
        self._fds: dict[str, int] = {}

    # -- files --------------------------------------------------------------------------------------

    def _path(self, build: str, suffix: str) -> Path:
        return self.base.with_name(f"{self.base.stem}.{build}.{suffix}")

    def files(self) -> list[Path]:
        names = [self._path(self.tail_id, "tail.ids"), self._path(self.tail_id, "tail.vec")]
        names.append(self._path(self.tail_id, "del"))
        if self.lists_id:
            names += [self._path(self.lists_id, s) for s in ("ids", "vec", "centroids.npy", "offsets.npy")]
        return names

    def _fd(self, path: Path, write: bool = False) -> int:
        key = f"{path}:{'w' if write else 'r'}"
        if key not in self._fds:
            flags = (os.O_RDWR | os.O_CREAT) if write else os.O_RDONLY
            self._fds[key] = os.open(path, flags, 0o644)
        return self._fds[key]

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    @property
    def lists_rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def rows(self) -> int:
        return self.lists_rows + self.tail_rows

    @property
    def count(self) -> int:
        return self.rows - len(self.deleted_pos)

    @property
    def nlist(self) -> int:
        return 0 if self.centroids is None else len(self.centroids)

    @property
    def nprobe(self) -> int:
        return min(self.nlist, max(16, int(self.nlist * NPROBE_FRACTION)))

    # -- writing ------------------------------------------------------------------------------------

    def append(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add rows at the end of the tail (ids int64, vectors float32 unit rows)."""
        if not len(ids):
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        data = np.ascontiguousarray(vectors, dtype=DTYPE)
        os.pwrite(self._fd(self._path(self.tail_id, "tail.ids"), True), ids.tobytes(), self.tail_rows * 8)
        vec_fd = self._fd(self._path(self.tail_id, "tail.vec"), True)
        os.pwrite(vec_fd, data.tobytes(), self.tail_rows * self.row_bytes)
        self.tail_rows += len(ids)

    def remove(self, ids: np.ndarray) -> None:
        """Hide every live row holding one of these ids (a scan of the ids files: 8 bytes a row)."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        if not len(ids) or not self.rows:
            return
        found_pos, found_ids = [], []
        for start, block in self._id_blocks():
            hit = np.flatnonzero(np.isin(block, ids))
            if len(hit):
                found_pos.append(hit + start)
                found_ids.append(block[hit])
        if not found_pos:
            return
        pos, pid = np.concatenate(found_pos), np.concatenate(found_ids)
        fresh = ~np.isin(pos, self.deleted_pos)
        pos, pid = pos[fresh], pid[fresh]
        if not len(pos):
            return
        fd = self._fd(self._path(self.tail_id, "del"), True)
        os.pwrite(fd, np.stack([pos, pid], axis=1).astype(np.int64).tobytes(), len(self.deleted_pos) * 16)
        order = np.argsort(np.concatenate([self.deleted_pos, pos]), kind="stable")
        self.deleted_pos = np.concatenate([self.deleted_pos, pos])[order]
        self.deleted_ids = np.concatenate([self.deleted_ids, pid])[order]

    def needs_merge(self) -> bool:
        return self.tail_rows > max(TAIL_MIN, TAIL_FRACTION * self.lists_rows) or len(self.deleted_pos) > max(
            TAIL_MIN, 0.1 * self.rows
        )

    def merge(self) -> None:
        """Write new lists from every live row (lists + tail), a fresh empty tail, no deletions."""
        total = self.count
        retrain = self.centroids is None or total > self.trained_on * RETRAIN_GROWTH or total < self.trained_on / 4
        centroids = self._train(total) if retrain else self.centroids
        build = uuid.uuid4().hex[:12]
        quantizer = _quantizer(centroids)
        # Pass 1: the list of every live row (4 bytes a row), hence the list offsets.
        assignment = np.empty(total, np.int32)
        done = 0
        for _, _, vectors in self.iter_live():
            assignment[done : done + len(vectors)] = _assign(quantizer, vectors)
            done += len(vectors)
        counts = np.bincount(assignment, minlength=len(centroids)).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        cursor = offsets[:-1].copy()
        ids_path, vec_path = self._path(build, "ids"), self._path(build, "vec")
        ids_fd = os.open(ids_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        vec_fd = os.open(vec_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            # Pass 2: scatter each block's rows to their lists, one write per (block, list).
            done = 0
            for _, ids, vectors in self.iter_live(as_stored=True):
                lists = assignment[done : done + len(ids)]
                done += len(ids)
                order = np.argsort(lists, kind="stable")
                lists, ids, vectors = lists[order], ids[order], vectors[order]
                bounds = np.flatnonzero(np.diff(lists)) + 1
                for start, end in zip(np.r_[0, bounds], np.r_[bounds, len(lists)], strict=True):
                    lst = lists[start]
                    at = int(cursor[lst])
                    os.pwrite(ids_fd, ids[start:end].tobytes(), at * 8)
                    os.pwrite(vec_fd, vectors[start:end].tobytes(), at * self.row_bytes)
                    cursor[lst] += end - start
            os.fsync(ids_fd)
            os.fsync(vec_fd)
        finally:
            os.close(ids_fd)
            os.close(vec_fd)
        for name, array in (("centroids.npy", centroids), ("offsets.npy", offsets)):
            np.save(self._path(build, name), array)
            fsync_path(self._path(build, name))
        self.close()
        self.lists_id, self.centroids, self.offsets = build, centroids, offsets
        if retrain:
            self.trained_on = total
        self.tail_id, self.tail_rows = uuid.uuid4().hex[:12], 0
        self.deleted_pos = np.zeros(0, np.int64)
        self.deleted_ids = np.zeros(0, np.int64)

    def _train(self, total: int) -> np.ndarray:
        """k-means centres from a sample of at most TRAIN_POINTS_PER_LIST rows per list."""
        import faiss

        nlist = ivf_lists(total)
        wanted = min(total, nlist * TRAIN_POINTS_PER_LIST)
        picks = np.sort(np.random.default_rng(0).choice(total, wanted, replace=False))
        sample = np.empty((wanted, self.dimensions), np.float32)
        done = filled = 0
        for _, _, vectors in self.iter_live():
            inside = picks[(picks >= done) & (picks < done + len(vectors))] - done
            sample[filled : filled + len(inside)] = vectors[inside]
            filled += len(inside)
            done += len(vectors)
        kmeans = faiss.Kmeans(self.dimensions, nlist, niter=12, seed=1, spherical=True, verbose=False)
        kmeans.train(sample)
        return np.ascontiguousarray(kmeans.centroids, dtype=np.float32)

    def flush(self) -> None:
        """fsync what was appended (the tail and deletions) before the sidecar points at it."""
        for fd in self._fds.values():
            os.fsync(fd)

    # -- reading ------------------------------------------------------------------------------------

    def _read(self, path: Path, start: int, rows: int, dtype, width: int) -> np.ndarray:
        size = rows * width * np.dtype(dtype).itemsize
        buffer = os.pread(self._fd(path), size, start * width * np.dtype(dtype).itemsize)
        if len(buffer) != size:
            raise DiskIVFError(f"{path.name} is shorter than recorded")
        return np.frombuffer(buffer, dtype=dtype).reshape(rows, width) if width > 1 else np.frombuffer(buffer, dtype)

    def _segments(self) -> Iterator[tuple[int, Path, Path, int, int]]:
        """(first position, ids file, vec file, first row in file, rows) for lists then tail."""
        if self.lists_rows:
            yield 0, self._path(self.lists_id, "ids"), self._path(self.lists_id, "vec"), 0, self.lists_rows
        if self.tail_rows:
            tail = (self._path(self.tail_id, "tail.ids"), self._path(self.tail_id, "tail.vec"))
            yield self.lists_rows, *tail, 0, self.tail_rows

    def _id_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        for first, ids_path, _, row, rows in self._segments():
            for start in range(0, rows, BLOCK * 8):
                n = min(BLOCK * 8, rows - start)
                yield first + start, self._read(ids_path, row + start, n, np.int64, 1)

    def iter_live(self, as_stored: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(positions, ids, vectors) of live rows in blocks; vectors float32 unless as_stored."""
        for first, ids_path, vec_path, row, rows in self._segments():
            for start in range(0, rows, BLOCK):
                n = min(BLOCK, rows - start)
                positions = np.arange(first + start, first + start + n, dtype=np.int64)
                ids = self._read(ids_path, row + start, n, np.int64, 1)
                vectors = self._read(vec_path, row + start, n, DTYPE, self.dimensions)
                if len(self.deleted_pos):
                    live = ~np.isin(positions, self.deleted_pos)
                    positions, ids, vectors = positions[live], ids[live], vectors[live]
                yield positions, ids, (vectors if as_stored else vectors.astype(np.float32))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The nprobe lists nearest the query, gathered into one scan, then the tail block by block."""
        query = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        found_ids, found_scores = [], []
        if self.lists_rows:
            nearest = self.centroids @ query[0]  # numpy: FAISS's threads cost more than this on one query
            probe = np.argpartition(-nearest, self.nprobe - 1)[: self.nprobe] if self.nprobe < self.nlist else None
            ids_path, vec_path = self._path(self.lists_id, "ids"), self._path(self.lists_id, "vec")
            parts = []
            for lst in np.sort(probe if probe is not None else np.arange(self.nlist)):
                start, end = int(self.offsets[lst]), int(self.offsets[lst + 1])
                if end > start:
                    parts.append(self._rows(ids_path, vec_path, start, end - start, start))
            if parts:
                self._scan(found_ids, found_scores, *(np.concatenate(p) for p in zip(*parts, strict=True)), query, k)
        if self.tail_rows:
            ids_path, vec_path = self._path(self.tail_id, "tail.ids"), self._path(self.tail_id, "tail.vec")
            for start in range(0, self.tail_rows, BLOCK):
                n = min(BLOCK, self.tail_rows - start)
                self._scan(found_ids, found_scores, *self._rows(ids_path, vec_path, start, n, self.lists_rows + start),
                           query, k)  # fmt: skip
        if not found_ids:
            return []
        ids, scores = np.concatenate(found_ids), np.concatenate(found_scores)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def _rows(self, ids_path, vec_path, row, n, position) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, raw float16 codes as bytes rows, positions) of n stored rows."""
        ids = self._read(ids_path, row, n, np.int64, 1)
        codes = self._read(vec_path, row, n, np.uint8, self.row_bytes)
        return ids, codes, np.arange(position, position + n, dtype=np.int64)

    def _scan(self, out_ids, out_scores, ids, codes, positions, query, k) -> None:
        """Top k of these rows by inner product, computed by FAISS on the float16 codes (SIMD, no conversion)."""
        import faiss

        if len(self.deleted_pos):
            live = ~np.isin(positions, self.deleted_pos)
            ids, codes = ids[live], codes[live]
        if not len(ids):
            return
        # A FAISS float16 flat index as the scan kernel; one per call, so concurrent searches never share it.
        scanner = faiss.IndexScalarQuantizer(self.dimensions, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        faiss.copy_array_to_vector(np.ascontiguousarray(codes).ravel(), scanner.codes)
        scanner.ntotal = len(ids)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one query over a few thousand rows: OpenMP's hand-offs cost more than they give
        try:
            scores, rows = scanner.search(query, min(k, len(ids)))
        finally:
            faiss.omp_set_num_threads(threads)
        keep = rows[0] >= 0
        out_ids.append(ids[rows[0][keep]])
        out_scores.append(scores[0][keep])

    # -- the sidecar's view -------------------------------------------------------------------------

    def state(self) -> dict:
        """What the sidecar records: file ids, row counts, sizes and sampled CRCs."""
        files = {}
        for path in self.files():
            if path.exists():
                length = self._expected_length(path)
                files[path.name] = {"length": length, "crc32": sampled_crc32(path, length)}
        return {
            "lists_id": self.lists_id,
            "nlist": self.nlist,
            "trained_on": self.trained_on,
            "tail_id": self.tail_id,
            "tail_rows": self.tail_rows,
            "deleted": len(self.deleted_pos),
            "files": files,
        }

    def _expected_length(self, path: Path) -> int:
        name = path.name
        if name.endswith(".tail.ids"):
            return self.tail_rows * 8
        if name.endswith(".tail.vec"):
            return self.tail_rows * self.row_bytes
        if name.endswith(".del"):
            return len(self.deleted_pos) * 16
        return path.stat().st_size

    @classmethod
    def open(cls, base: Path, dimensions: int, state: dict) -> DiskIVF:
        """The index a sidecar describes, after checking its files; DiskIVFError if they disagree."""
        store = cls(base, dimensions)
        try:
            store.lists_id = state["lists_id"]
            store.tail_id = state["tail_id"]
            store.tail_rows = int(state["tail_rows"])
            store.trained_on = int(state["trained_on"])
            for path in store.files():
                recorded = state["files"].get(path.name)
                if recorded is None:
                    if path.name.endswith(".del") and not state["deleted"]:
                        continue
                    if path.name.endswith((".tail.ids", ".tail.vec")) and not store.tail_rows:
                        continue
                    raise DiskIVFError(f"{path.name} is not recorded")
                if (
                    path.stat().st_size < recorded["length"]
                    or sampled_crc32(path, recorded["length"]) != recorded["crc32"]
                ):
                    raise DiskIVFError(f"{path.name} does not match its record")
            if store.lists_id:
                store.centroids = np.load(store._path(store.lists_id, "centroids.npy"))
                store.offsets = np.load(store._path(store.lists_id, "offsets.npy"))
                rows = store._path(store.lists_id, "ids").stat().st_size // 8
                if int(store.offsets[-1]) != rows or len(store.offsets) != len(store.centroids) + 1:
                    raise DiskIVFError("list offsets do not match the lists")
            if state["deleted"]:
                pairs = store._read(store._path(store.tail_id, "del"), 0, int(state["deleted"]), np.int64, 2)
                order = np.argsort(pairs[:, 0], kind="stable")
                store.deleted_pos, store.deleted_ids = pairs[order, 0].copy(), pairs[order, 1].copy()
        except (OSError, KeyError, ValueError, TypeError) as e:
            store.close()
            raise DiskIVFError(str(e)) from None
        except DiskIVFError:
            store.close()
            raise
        return store

    def id_summary(self) -> tuple[int, int]:
        """(count, sum) of live ids, read from the ids files: what SQLite's chunk ids must equal."""
        total = 0
        for _, block in self._id_blocks():
            total += int(block.sum())
        return self.count, total - int(self.deleted_ids.sum())


def sampled_crc32(path: Path, length: int) -> int:
    """CRC-32 of the first and last 64 KiB and SAMPLE_BLOCKS 4 KiB blocks spread between:
    catches a torn tail, a truncated or foreign file, without reading gigabytes."""
    crc = zlib.crc32(length.to_bytes(8, "little"))
    if length <= 0:
        return crc
    with path.open("rb") as f:
        spans = [(0, 65_536), (max(0, length - 65_536), 65_536)]
        spans += [(length * i // (SAMPLE_BLOCKS + 1), 4096) for i in range(1, SAMPLE_BLOCKS + 1)]
        for start, size in spans:
            f.seek(start)
            crc = zlib.crc32(f.read(min(size, length - start)), crc)
    return crc


def _quantizer(centroids: np.ndarray):
    import faiss

    quantizer = faiss.IndexFlatIP(centroids.shape[1])
    quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    return quantizer


def _assign(quantizer, vectors: np.ndarray) -> np.ndarray:
    _, nearest = quantizer.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)
    return nearest[:, 0].astype(np.int32)


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder: so a rename into it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
