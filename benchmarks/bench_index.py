"""Rows 2, 3, 6, 7: the indexing pipeline against the raw embedder, over HTTP, no-op re-index, memory.

python benchmarks/bench_index.py [--quick]
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import FASTAPI_DOCS, ROOT, Row, main, median_time  # noqa: E402


def corpus(quick: bool) -> Path:
    """Quick: the sample corpus; full: the FastAPI tutorial (Markdown, ~1,000 chunks)."""
    tutorial = FASTAPI_DOCS / "tutorial"
    return ROOT / "data" if quick or not tutorial.is_dir() else tutorial


def repeats(quick: bool) -> int:
    return 1 if quick else 3


def pipeline_rows(quick: bool) -> list[Row]:
    """Row 2: `Index.add` chunks/s vs `embed()` of exactly the chunks it stored (medians, alternating)."""
    from semsearch.collection import embedding_text
    from semsearch.embed.local import LocalEmbedder
    from semsearch.index import Index

    embedder = LocalEmbedder()
    embedder.embed(["warm up"])
    pipeline, raw = [], []
    for _ in range(repeats(quick)):
        with tempfile.TemporaryDirectory() as tmp:
            index = Index(Path(tmp) / "idx", embedder=embedder)
            report = index.add([corpus(quick)])
            frame = index.db.conn.execute(
                "SELECT c.heading, f.title, c.text FROM chunks c JOIN files f ON f.id = c.file_id"
            ).fetchall()
            texts = [embedding_text("", heading or title or "", text) for heading, title, text in frame]
            index.close()
        pipeline.append(report.chunks_per_second)
        started = time.perf_counter()
        for start in range(0, len(texts), 256):  # the pipeline's batch size
            embedder.embed(texts[start : start + 256])
        raw.append(len(texts) / (time.perf_counter() - started))
    return [Row("2. index pipeline vs raw embedder", statistics.median(pipeline), statistics.median(raw), "chunks/s",
                ">= 0.9x", note=f"{report.chunks_embedded} chunks of {corpus(quick).name}/; "
                                f"median of {repeats(quick)}")]  # fmt: skip


def server_model_batch() -> int:
    """The batch size `semsearch serve` runs its model at on a CPU."""
    from semsearch.serve.models import CPU_BATCH

    return CPU_BATCH


def http_rows(quick: bool) -> list[Row]:
    """Row 3: indexing with embeddings from a real `semsearch serve` vs in-process, the model at the same batch size."""
    from bench_serve import start_server

    from semsearch.embed.local import LocalEmbedder
    from semsearch.index import Index

    batch = server_model_batch()
    url, process = start_server()
    try:
        rates: dict[str, list[float]] = {"in-process": [], "http": []}
        for _ in range(repeats(quick)):
            for label, embedder in (("in-process", LocalEmbedder(batch_size=batch)), ("http", url)):
                with tempfile.TemporaryDirectory() as tmp, Index(Path(tmp) / "idx", embedder=embedder) as index:
                    rates[label].append(index.add([corpus(quick)]).chunks_per_second)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    return [Row("3. indexing over HTTP (semsearch serve) vs in-process", statistics.median(rates["http"]),
                statistics.median(rates["in-process"]), "chunks/s", ">= 0.85x",
                note=f"model batch {batch} on both sides; median of {repeats(quick)}")]  # fmt: skip


def noop_reindex_rows(quick: bool) -> list[Row]:
    """Row 6: re-indexing 10,000 unchanged small files; baseline: walking and stat-ing them."""
    from semsearch.embed.local import LocalEmbedder
    from semsearch.index import Index

    count = 1_000 if quick else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        for i in range(count):
            sub = folder / f"d{i // 500}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"note{i}.md").write_text(f"# Note {i}\n\nShort note number {i}.\n")
        with Index(Path(tmp) / "idx", embedder=LocalEmbedder()) as index:
            index.add([folder])
            seconds = median_time(lambda: index.add([folder]), 3)
        walk = median_time(lambda: [p.stat() for p in folder.rglob("*.md")], 3)
    return [Row(f"6. no-op re-index of {count:,} small files", seconds, walk, "s", "<= 3 s", higher_is_better=False,
                note="baseline = rglob + stat of the same files")]  # fmt: skip


_MEMORY_CHILD = """
import json, sys, numpy as np
from pathlib import Path
from semsearch.embed.base import Embedder, EmbedResult
from semsearch.embed.local import LocalEmbedder
from semsearch.index import Index

class RandomEmbedder(Embedder):
    # The model's own memory is fixed; this measures what indexing adds as the corpus grows.
    model, dimensions, context_length = "all-minilm", 384, 256
    tokenizer = LocalEmbedder()
    def count_tokens(self, texts):
        return self.tokenizer.count_tokens(texts)
    def embed_result(self, texts, *, truncate=True, dimensions=None):
        v = np.random.default_rng(len(texts)).standard_normal((len(texts), 384)).astype(np.float32)
        return EmbedResult(v / np.linalg.norm(v, axis=1, keepdims=True))

folder, index_dir = sys.argv[1], sys.argv[2]
with Index(index_dir, embedder=RandomEmbedder()) as index:
    report = index.add([folder])
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec.
status = Path("/proc/self/status").read_text()
peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
print(json.dumps({"chunks": report.chunks_embedded, "peak_mib": peak}))
"""


def memory_rows(quick: bool) -> list[Row]:
    """Row 7: peak RSS while indexing 10x more chunks should barely grow."""
    sizes = (1_000, 10_000) if quick else (10_000, 100_000)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for chunks in sizes:
            folder = Path(tmp) / f"c{chunks}"
            for f in range(chunks // 10):
                sub = folder / f"d{f // 500}"
                sub.mkdir(parents=True, exist_ok=True)
                paragraphs = [f"# File {f}"] + [
                    f"## Part {p}\n\nParagraph {p} of file {f} " + "with some words " * 20 for p in range(10)
                ]
                (sub / f"f{f}.md").write_text("\n\n".join(paragraphs))
            runs = []
            for attempt in range(repeats(quick)):
                out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(folder),
                                      str(Path(tmp) / f"i{chunks}-{attempt}")],
                                     capture_output=True, text=True, check=True)  # fmt: skip
                runs.append(json.loads(out.stdout))
            results[chunks] = {"chunks": runs[0]["chunks"], "peak_mib": statistics.median(r["peak_mib"] for r in runs)}
    small, large = sizes
    vectors_mib = results[large]["chunks"] * (384 * 4 + 8) / 2**20  # float32 vector + int64 id, in FAISS
    return [Row(f"7. peak RSS indexing {results[large]['chunks']:,} chunks", results[large]["peak_mib"],
                results[small]["peak_mib"], "MiB", "bounded (ratio ~1x)", higher_is_better=False,
                note=f"baseline = {results[small]['chunks']:,} chunks; median of {repeats(quick)}; at or under "
                     f"the flat limit the in-memory FAISS index holds {vectors_mib:.0f} MiB; "
                     "above it vectors go to disk (row 7b)")]  # fmt: skip


def run(quick: bool = False) -> list[Row]:
    return pipeline_rows(quick) + http_rows(quick) + noop_reindex_rows(quick) + memory_rows(quick)


if __name__ == "__main__":
    main(run, __doc__)
