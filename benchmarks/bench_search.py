"""Rows 4 and 5: cold `semsearch query` on a 100k-chunk index, and warm search at 1M vectors.

    python benchmarks/bench_search.py [--quick]

Vectors are synthetic (clustered like real embeddings); chunk rows are real SQLite rows whose
texts are one generated sentence that no word of row 4's query matches, so the keyword half of
`auto` finds nothing there (benchmarks/README.md, "How to read").
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from common import Row, main, median_time  # noqa: E402

DIMS = 384


def clustered_vectors(count: int, seed: int = 0, centres: int = 2000) -> np.ndarray:
    """Unit vectors around topic centres: IVF recall on uniform noise would say nothing about real data."""
    rng = np.random.default_rng(seed)
    centre_vectors = rng.standard_normal((centres, DIMS)).astype(np.float32)
    out = np.empty((count, DIMS), np.float32)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        noise = rng.standard_normal((n, DIMS)).astype(np.float32)  # as large as the centre: loose topics
        block = centre_vectors[rng.integers(0, centres, n)] + noise
        out[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def synthetic_index(folder: Path, chunks: int) -> Path:
    """An index folder with `chunks` real SQLite chunk rows and their (synthetic) vectors."""
    from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash
    from semsearch.store.vectors import VectorIndex

    db = Database(folder / "index.db")
    db.set_meta({"model": "all-minilm", "dimensions": str(DIMS), "embedder": "synthetic"})
    vectors = clustered_vectors(chunks)
    per_file = 100
    batch = []
    for f in range(chunks // per_file):
        rows = []
        for c in range(per_file):
            text = f"Synthetic chunk {f}-{c} about topic {(f * per_file + c) % 2000} in a large corpus."
            rows.append(ChunkRecord(c, c + 1, c + 1, f"File {f}", text, text_hash(text)))
        record = FileRecord(f"/synthetic/file{f:06}.md", 1000, 1, text_hash(str(f)))
        batch.append((record, rows, vectors[f * per_file : (f + 1) * per_file]))
        if len(batch) == 100:
            db.write_files(batch)
            batch = []
    if batch:
        db.write_files(batch)
    index = VectorIndex(folder / "vectors.faiss", DIMS)
    index.load(db)
    index.save(db)
    db.close()
    return folder


def command_seconds(args: list[str], repeats: int) -> float:
    return median_time(lambda: subprocess.run(args, check=True, capture_output=True), repeats)


def cold_query_rows(quick: bool) -> list[Row]:
    chunks = 5_000 if quick else 100_000
    repeats = 2 if quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        folder = synthetic_index(Path(tmp) / "index", chunks)
        python = sys.executable
        env_args = ["--index", str(folder), "--embedder", "local"]
        subprocess.run([python, "-m", "semsearch", "query", "warm the disk cache", *env_args], check=True,
                       capture_output=True)  # fmt: skip
        query = command_seconds([python, "-m", "semsearch", "query", "how do I rotate logs", *env_args], repeats)
        bare = command_seconds([python, "-c", "pass"], repeats)
        imports = command_seconds([python, "-c", "import semsearch.cli"], repeats)
        help_ = command_seconds([python, "-m", "semsearch", "--help"], repeats)
    return [
        Row(f"4. cold `semsearch query`, {chunks:,}-chunk index", query, bare, "s", "<= 0.5 s", higher_is_better=False,
            note=f"a fresh process each time (median of {repeats}); warm: the OS page cache (model and index "
                 f"files, after one untimed query); baseline = python -c pass; import-only {imports:.3f} s"),
        Row("4. `semsearch --help`", help_, bare, "s", "<= 0.3 s", higher_is_better=False,
            note="baseline = python -c pass"),
    ]  # fmt: skip


def warm_search_rows(quick: bool) -> list[Row]:
    import faiss

    from semsearch.store.vectors import VectorIndex

    count = 20_000 if quick else 1_000_000
    vectors = clustered_vectors(count + 200, seed=1)
    data, queries = vectors[:count], vectors[count:]
    with tempfile.TemporaryDirectory() as tmp:
        index = VectorIndex(Path(tmp) / "v.faiss", DIMS, flat_limit=min(100_000, count // 2))
        started = time.perf_counter()
        index.build(np.arange(count), data)
        build_seconds = time.perf_counter() - started
        exact = faiss.IndexFlatIP(DIMS)
        exact.add(data)
        _, truth = exact.search(queries, 10)
        found = [[i for i, _ in index.search(q, 10)] for q in queries]
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth.tolist(), strict=True)])
        latencies = []
        for q in queries:
            t = time.perf_counter()
            index.search(q, 10)
            latencies.append(time.perf_counter() - t)
        flat_latencies = []
        for q in queries[:50]:
            t = time.perf_counter()
            exact.search(q.reshape(1, -1), 10)
            flat_latencies.append(time.perf_counter() - t)
    ms, flat_ms = float(np.median(latencies)) * 1000, float(np.median(flat_latencies)) * 1000
    return [
        Row(f"5. warm vector search, {count:,} synthetic vectors ({index.kind})", ms, flat_ms, "ms",
            "<= 20 ms, recall >= 0.95", higher_is_better=False,
            note=f"synthetic: unit vectors around 2,000 random centres (real embeddings: row 5b); baseline = "
                 f"exact flat search; recall@10 {recall:.3f}; build {build_seconds:.0f} s"),
    ]  # fmt: skip


def run(quick: bool = False) -> list[Row]:
    return cold_query_rows(quick) + warm_search_rows(quick)


if __name__ == "__main__":
    main(run, __doc__)
