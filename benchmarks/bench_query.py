"""Row 13: warm `Index.search` latency in `auto` mode on a 100,000-chunk index of real text, beside
dense-only search in the same run, with where the time goes; and a cold `semsearch query` on it.

    python benchmarks/bench_query.py [--quick]

Real text: SciFact abstracts cut into passages of about 60 words (tiled to the size wanted), so the
queries (SciFact test questions) share words with the chunks and BM25 does real work. Vectors are
synthetic (clustered like real embeddings): the vector search costs the same for any unit vectors,
and embedding 100,000 chunks would take an hour here. The query is embedded by the real model.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from bench_search import DIMS, clustered_vectors  # noqa: E402
from common import SHARED, Row, main, median_time  # noqa: E402

SCIFACT = SHARED / "eval" / "scifact"
PASSAGE_WORDS = 60


def passages(count: int) -> list[tuple[str, str]]:
    """(title, passage) pairs cut from SciFact abstracts, tiled to `count`."""
    found: list[tuple[str, str]] = []
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt") as f:
        for line in f:
            doc = json.loads(line)
            words = doc["text"].split()
            for start in range(0, len(words), PASSAGE_WORDS):
                found.append((doc.get("title", ""), " ".join(words[start : start + PASSAGE_WORDS])))
            if len(found) >= count:
                break
    return [found[i % len(found)] for i in range(count)]


def questions(count: int) -> list[str]:
    with open(SCIFACT / "queries.jsonl") as f:
        return [json.loads(line)["text"] for line in f][:count]


def real_text_index(folder: Path, chunks: int) -> Path:
    """An index folder with `chunks` chunk rows of real text, its keyword index, and synthetic vectors."""
    from semsearch.search.keywords import keyword_columns
    from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash
    from semsearch.store.vectors import VectorIndex

    db = Database(folder / "index.db", keyword_columns=keyword_columns)
    db.set_meta({"model": "all-minilm", "dimensions": str(DIMS), "embedder": "synthetic", "chunk_tokens": "200"})
    vectors = clustered_vectors(chunks)
    texts = passages(chunks)
    per_file = 10
    batch = []
    for f in range(chunks // per_file):
        rows = []
        for c in range(per_file):
            title, text = texts[f * per_file + c]
            rows.append(ChunkRecord(c, c + 1, c + 1, title, text, text_hash(f"{f}-{c}-{text}")))
        record = FileRecord(f"/corpus/part{f // 1000:03}/doc{f:06}.txt", 1000, 1, text_hash(str(f)), "text")
        batch.append((record, rows, vectors[f * per_file : (f + 1) * per_file]))
        if len(batch) == 500:
            db.write_files(batch)
            batch = []
    if batch:
        db.write_files(batch)
    index = VectorIndex(folder / "vectors.faiss", DIMS)
    index.load(db)
    index.save(db)
    db.close()
    return folder


def latencies(search, queries: list[str]) -> tuple[float, float]:
    """(p50, p95) in ms over the queries."""
    times = []
    for q in queries:
        started = time.perf_counter()
        search(q)
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 50)) * 1000, float(np.percentile(times, 95)) * 1000


def stage_profile(index, queries: list[str]) -> dict[str, float]:
    """Median ms of each stage of an `auto` search, timed one by one on the same queries."""
    from semsearch.search.engine import rank
    from semsearch.search.keywords import keyword_candidates

    collection = index.collection
    stages: dict[str, list[float]] = {"embed": [], "fts5": [], "dense": [], "rank (all)": [], "rows": []}
    for q in queries:
        t = time.perf_counter()
        vector = collection.embed_queries([q])[0]
        stages["embed"].append(time.perf_counter() - t)
        with collection.snapshot():
            t = time.perf_counter()
            keyword_candidates(collection, q, 100)
            stages["fts5"].append(time.perf_counter() - t)
            t = time.perf_counter()
            collection.dense_candidates(vector, 100)
            stages["dense"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ranked = rank(collection, q, 10, mode="auto", query_vector=vector)
            stages["rank (all)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            collection.chunks([i for i, _ in ranked[:10]])
            stages["rows"].append(time.perf_counter() - t)
    return {name: float(np.median(values)) * 1000 for name, values in stages.items()}


def run(quick: bool = False) -> list[Row]:
    from semsearch.index import Index

    if not SCIFACT.is_dir():
        return [Row("13. warm auto search on real text", None, None, "ms", "p50 <= 20 ms", note=f"{SCIFACT} missing")]
    chunks = 10_000 if quick else 100_000
    queries = questions(20 if quick else 200)
    with tempfile.TemporaryDirectory() as tmp:
        folder = real_text_index(Path(tmp) / "index", chunks)
        with Index(folder, embedder="local", create=False) as index:
            for q in queries[:5]:  # warm: model loaded, vectors cached, SQLite pages read
                index.search(q, k=10)
            auto = latencies(lambda q: index.search(q, k=10, mode="auto"), queries)
            dense = latencies(lambda q: index.search(q, k=10, mode="dense"), queries)
            keyword = latencies(lambda q: index.search(q, k=10, mode="keyword"), queries)
            profile = stage_profile(index, queries[:50])
        python = sys.executable
        args = ["--index", str(folder), "--embedder", "local"]
        # As an installed package runs: its bytecode compiled once (pip does it at install), not on every start.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        first = [python, "-m", "semsearch", "query", queries[0], *args]
        subprocess.run(first, check=True, capture_output=True, env=env)
        repeats = 2 if quick else 7
        cold = median_time(
            lambda: subprocess.run([python, "-m", "semsearch", "query", queries[1], *args], check=True,
                                   capture_output=True, env=env), repeats)  # fmt: skip
        bare = median_time(lambda: subprocess.run([python, "-c", "pass"], check=True), repeats)
    where = ", ".join(f"{name} {ms:.1f}" for name, ms in profile.items())
    real = f"{chunks:,} chunks of real text (SciFact passages), synthetic vectors, {len(queries)} SciFact questions"
    return [
        Row(f"13. warm auto search p50, {chunks:,} chunks", auto[0], dense[0], "ms", "p50 <= 20 ms",
            higher_is_better=False, note=f"{real}; baseline = dense-only p50 in the same run; "
                                         f"median ms per stage: {where}"),
        Row(f"13. warm auto search p95, {chunks:,} chunks", auto[1], dense[1], "ms", "p95 <= 60 ms",
            higher_is_better=False, note=f"baseline = dense-only p95; keyword-only p50 {keyword[0]:.1f} ms"),
        Row(f"13. cold `semsearch query`, {chunks:,} chunks of real text", cold, bare, "s", "<= 0.3 s",
            higher_is_better=False, note=f"a fresh process (median of {repeats}; OS page cache warm); "
                                         "baseline = python -c pass"),
    ]  # fmt: skip


if __name__ == "__main__":
    main(run, __doc__)
