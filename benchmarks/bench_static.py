"""Rows 11 and 11b: all-minilm:static against all-minilm, embedding and indexing the same real texts.

    python benchmarks/bench_static.py [--quick]

Texts: SciFact abstracts (title + abstract) from ../shared, else FastAPI docs passages. Both models
run in this process, warm (all-minilm loaded, the static table distilled and loaded before timing),
in batches of 256 (the indexing pipeline's batch size); the two sides alternate within each repeat,
so a change in machine load hits both. Median of 3 (1 in quick mode).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import SHARED, Row, cpu_flags, doc_texts, main  # noqa: E402

SCIFACT = SHARED / "eval" / "scifact"
BATCH = 256  # the indexing pipeline's batch size


def documents(count: int) -> tuple[list[tuple[str, str, str]], str]:
    """(id, title, text) triples: the first `count` SciFact abstracts, else FastAPI passages."""
    if SCIFACT.is_dir():
        from semsearch.evaluate import load_beir

        docs = []
        for doc in load_beir(SCIFACT, "test").documents():
            docs.append(doc)
            if len(docs) == count:
                break
        return docs, f"{len(docs)} SciFact abstracts"
    return [(f"p{i}", "", text) for i, text in enumerate(doc_texts(count))], f"{count} FastAPI docs passages"


def embed_all(embedder, texts: list[str]) -> None:
    for start in range(0, len(texts), BATCH):
        embedder.embed(texts[start : start + BATCH])


def index_all(embedder, docs: list[tuple[str, str, str]]) -> float:
    """Chunks/s of indexing `docs` into a fresh index."""
    from semsearch.index import Index

    with tempfile.TemporaryDirectory() as tmp, Index(Path(tmp) / "idx", embedder=embedder) as index:
        report = index.add_texts(docs)
        return report.chunks_embedded / report.seconds


def run(quick: bool = False) -> list[Row]:
    from semsearch.embed.local import LocalEmbedder
    from semsearch.embed.static import StaticEmbedder

    docs, what = documents(64 if quick else 500)
    texts = [f"{title} {text}".strip() for _, title, text in docs]
    repeats = 1 if quick else 3
    static, dense = StaticEmbedder(), LocalEmbedder(batch_size=16)
    started = time.perf_counter()
    static.embed(["warm up"])  # distils on first use on this machine, then loads the cached table
    load = time.perf_counter() - started
    dense.embed(["warm up"])
    embed_rates: dict[str, list[float]] = {"static": [], "dense": []}
    index_rates: dict[str, list[float]] = {"static": [], "dense": []}
    for _ in range(repeats):
        for name, embedder in (("static", static), ("dense", dense)):
            started = time.perf_counter()
            embed_all(embedder, texts)
            embed_rates[name].append(len(texts) / (time.perf_counter() - started))
            index_rates[name].append(index_all(embedder, docs))
    flags = f"CPU flags: {cpu_flags()}; {os.cpu_count()} cores"
    return [
        Row("11. all-minilm:static vs all-minilm, embedding", statistics.median(embed_rates["static"]),
            statistics.median(embed_rates["dense"]), "texts/s", ">= 30x",
            note=f"{what}, batches of {BATCH}, warm, median of {repeats}; first static use here took {load:.1f} s; "
                 f"{flags}"),
        Row("11b. all-minilm:static vs all-minilm, indexing (Index.add_texts, fresh index)",
            statistics.median(index_rates["static"]), statistics.median(index_rates["dense"]), "chunks/s", ">= 30x",
            note=f"same texts, chunked alike (same tokenizer and context), median of {repeats}; {flags}"),
    ]  # fmt: skip


if __name__ == "__main__":
    main(run, __doc__)
