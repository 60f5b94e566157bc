"""Scale rows: bounded memory at 1M chunks, the on-disk IVF on real embeddings, 2 embed hosts vs 1,
and Ray indexing with a GPU actor vs CPU actors (where ONNX Runtime has the CUDA provider).

    python benchmarks/bench_scale.py [--quick]

Memory rows feed synthetic vectors (the model excluded) through the index's real write path
(SQLite transaction, then the vector store follows, then the save), each size in a fresh
subprocess that reports its own VmHWM.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from common import ROOT, Row, doc_texts, main  # noqa: E402

DIMS = 384

_CHILD = r"""
import json, sys, time
import numpy as np
from pathlib import Path

def peak_mib():
    status = Path("/proc/self/status").read_text()
    return int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM"))) / 1024

def vectors(rng, centres, n):
    block = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, centres.shape[1]), dtype=np.float32)
    return block / np.linalg.norm(block, axis=1, keepdims=True)

mode, folder, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
centres = np.random.default_rng(0).standard_normal((2000, 384), dtype=np.float32)
if mode == "index":
    from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash
    from semsearch.store.vectors import VectorIndex
    rng = np.random.default_rng(1)
    db = Database(folder / "index.db")
    db.set_meta({"model": "all-minilm", "dimensions": "384", "embedder": "synthetic"})
    store = VectorIndex(folder / "vectors.faiss", 384)
    store.load(db)
    started = time.perf_counter()
    per_file, files_per_batch = 10, 26  # ~256 chunks a transaction, as the indexer writes
    for first in range(0, count // per_file, files_per_batch):
        batch = []
        block = vectors(rng, centres, per_file * files_per_batch)
        for j, f in enumerate(range(first, min(first + files_per_batch, count // per_file))):
            chunks = [ChunkRecord(c, c + 1, c + 1, "", f"chunk {f}-{c}", text_hash(f"{f}-{c}"))
                      for c in range(per_file)]
            record = FileRecord(f"/s/{f:07}.md", 1, 1, text_hash(str(f)))
            batch.append((record, chunks, block[j * per_file : (j + 1) * per_file]))
        removed, added = db.write_files(batch)
        store.update(removed, added, db.generation)
    store.save(db)
    print(json.dumps({"peak_mib": peak_mib(), "kind": store.kind, "count": store.count,
                      "seconds": time.perf_counter() - started}))
else:
    from semsearch.index import Index
    rng = np.random.default_rng(2)
    queries = vectors(rng, centres, 200)
    with Index(folder, embedder="local", create=False) as index:
        started = time.perf_counter()
        for q in queries:
            with index.collection.snapshot():
                hits = index.collection.dense_candidates(q, 10)
                index.collection.chunks([i for i, _ in hits])
        seconds = time.perf_counter() - started
        print(json.dumps({"peak_mib": peak_mib(), "kind": index.vectors.kind, "ms_per_query": seconds * 5}))
"""


def _child(*args: str, env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})  # fmt: skip
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_rows(quick: bool) -> list[Row]:
    """Peak RSS indexing and querying N chunks vs N/10: bounded means the ratio stays near 1."""
    small, large = (2_000, 20_000) if quick else (100_000, 1_000_000)
    env = {"SEMSEARCH_FLAT_LIMIT": "5000"} if quick else {}
    results = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("SEMSEARCH_BENCH_TMP")) as tmp:
        for count in (small, large):
            folder = Path(tmp) / f"i{count}"
            folder.mkdir()
            indexing = _child("index", str(folder), str(count), env=env)
            querying = _child("query", str(folder), str(count), env=env)
            disk = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
            results[count] = (indexing, querying, disk)
    rows = []
    for label, which in (("indexing", 0), ("querying", 1)):
        big, base = results[large][which], results[small][which]
        extra = (f"; {results[large][0]['seconds']:.0f} s to index, disk {results[large][2]:,.0f} MiB "
                 f"(SQLite + vectors) vs {results[small][2]:,.0f} MiB") if which == 0 else (
                 f"; {big['ms_per_query']:.1f} ms/query incl. chunk rows")  # fmt: skip
        rows.append(Row(f"7b. peak RSS {label} {large:,} synthetic chunks ({big['kind']})", big["peak_mib"],
                        base["peak_mib"], "MiB", "<= 1.3x (bounded)", higher_is_better=False,
                        note=f"baseline = {small:,} chunks ({base['kind']}){extra}; model excluded"))  # fmt: skip
    return rows


def real_embedding_rows(quick: bool) -> list[Row]:
    """Row 5b: the on-disk IVF on real embeddings (FastAPI passages, tiled with noise), real questions."""
    import faiss

    from semsearch.embed.local import LocalEmbedder
    from semsearch.store.vectors import VectorIndex

    embedder = LocalEmbedder()
    passages = embedder.embed(doc_texts(100 if quick else 3_000, 40, 160))
    questions = json.loads((ROOT / "benchmarks" / "docs_questions.json").read_text())
    queries = embedder.embed([q for corpus_questions in questions.values() for q in corpus_questions][:100])
    count = 20_000 if quick else 1_000_000
    rng = np.random.default_rng(3)
    data = np.empty((count, DIMS), np.float32)
    for start in range(0, count, 100_000):  # each copy: a real passage moved by noise ~0.35 of its length
        n = min(100_000, count - start)
        block = passages[rng.integers(0, len(passages), n)] + rng.normal(0, 0.35 / np.sqrt(DIMS), (n, DIMS))
        data[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory(dir=os.environ.get("SEMSEARCH_BENCH_TMP")) as tmp:
        index = VectorIndex(Path(tmp) / "v.faiss", DIMS, flat_limit=count // 10)
        started = time.perf_counter()
        index.build(np.arange(count), data)
        build = time.perf_counter() - started
        exact = faiss.IndexFlatIP(DIMS)
        exact.add(data)
        _, truth = exact.search(queries, 10)
        del exact
        found = [[i for i, _ in index.search(q, 10)] for q in queries]
        recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth.tolist(), strict=True)]))
        latencies = []
        for q in queries:
            t = time.perf_counter()
            index.search(q, 10)
            latencies.append(time.perf_counter() - t)
        nlist, nprobe = index.disk.nlist, index.disk.nprobe
    return [Row(f"5b. warm search, {count:,} tiled real vectors (on-disk IVF)", statistics.median(latencies) * 1000,
                None, "ms", "<= 20 ms, recall >= 0.95", higher_is_better=False,
                note=f"{len(passages):,} real FastAPI passages tiled with noise; {len(queries)} real questions; "
                     f"recall@10 {recall:.3f}; {nlist} lists, nprobe {nprobe}; build {build:.0f} s; "
                     f"page cache warm")]  # fmt: skip


def hosts_rows(quick: bool) -> list[Row]:
    """Indexing throughput with 2 `semsearch serve` hosts vs 1, same machine (the row is for bigger ones)."""
    from bench_index import corpus
    from bench_serve import start_server

    from semsearch.embed.pool import PooledEmbedder
    from semsearch.index import Index

    folder = ROOT / "data" / "docs" if quick else corpus(quick)
    servers = [start_server(), start_server()]
    try:
        rates: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(1 if quick else 3):
            for hosts in (1, 2):
                pool = PooledEmbedder([url for url, _ in servers[:hosts]])
                with tempfile.TemporaryDirectory() as tmp, Index(Path(tmp) / "idx", embedder=pool) as index:
                    rates[hosts].append(index.add([folder]).chunks_per_second)
    finally:
        for _, process in servers:
            process.terminate()
            process.wait(30)
    two, one = statistics.median(rates[2]), statistics.median(rates[1])
    return [Row("10. indexing with 2 embed hosts vs 1 (same machine)", two, one, "chunks/s", "~1x on 2 cores",
                note=f"{folder.name}/; both `semsearch serve` on this machine share its cores")]  # fmt: skip


def gpu_rows(quick: bool) -> list[Row]:
    """Row 10b: `index --ray` with one GPU actor (`local:cuda`) vs CPU actors (`local:cpu`), same cluster and folder."""
    from semsearch.embed.local import cuda_provider_available

    name = "10b. Ray indexing, GPU actors vs CPU actors (same cluster, same folder)"
    if not cuda_provider_available():
        return [Row(name, None, None, "chunks/s", "> 1x",
                    note="not run: this ONNX Runtime has no CUDA provider (no GPU machine was lent; "
                         "on one: pip install 'semsearch[gpu]', see the README)")]  # fmt: skip
    import ray
    from bench_index import corpus

    from semsearch.distributed.ray_index import RayOptions, add_paths_ray
    from semsearch.embed.local import LocalEmbedder
    from semsearch.index import Index

    folder = corpus(quick)
    ray.init(include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")  # GPUs detected by Ray
    try:
        resources = ray.cluster_resources()
        rates: dict[str, list[float]] = {"local:cuda": [], "local:cpu": []}
        for _ in range(1 if quick else 3):
            for spec, found in rates.items():
                with tempfile.TemporaryDirectory() as tmp, Index(Path(tmp) / "idx", embedder=LocalEmbedder()) as index:
                    found.append(add_paths_ray(index, [folder], RayOptions(embedder_spec=spec)).chunks_per_second)
    finally:
        ray.shutdown()
    gpu, cpu = statistics.median(rates["local:cuda"]), statistics.median(rates["local:cpu"])
    return [Row(name, gpu, cpu, "chunks/s", "> 1x",
                note=f"{folder.name}/; cluster {resources.get('GPU', 0):.0f} GPU, {resources.get('CPU', 0):.0f} CPUs "
                     "(a CPU actor per 4); each run starts its actors, model load included")]  # fmt: skip


def run(quick: bool = False) -> list[Row]:
    return memory_rows(quick) + real_embedding_rows(quick) + hosts_rows(quick) + gpu_rows(quick)


if __name__ == "__main__":
    main(run, __doc__)
