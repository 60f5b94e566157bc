"""Retrieval quality: SciFact (BEIR) nDCG@10 / Recall@100 per mode, and hit@1/hit@3 on real docs.

    python benchmarks/bench_quality.py [--scifact] [--docs] [--quick]

Indexes are built once in the cache dir and reused. Parameters were tuned on SciFact
*train* queries only; test numbers are reported, never tuned on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import SHARED  # noqa: E402

SCIFACT = SHARED / "eval" / "scifact"
DOCS = SHARED / "eval" / "docs-corpus"
QUESTIONS = Path(__file__).with_name("docs_questions.json")
MODES = ("dense", "keyword", "hybrid")
PUBLISHED = {"dense": "0.645 (all-MiniLM-L6-v2, MTEB)", "keyword": "0.665 (BM25, BEIR)", "hybrid": "-"}


def scifact_table() -> str:
    from semsearch.evaluate import evaluate

    lines = ["| mode | train nDCG@10 | test nDCG@10 | test Recall@100 | test MRR@10 | published test nDCG@10 |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for mode in MODES:
        train = evaluate(SCIFACT, split="train", mode=mode, embedder="local")
        test = evaluate(SCIFACT, split="test", mode=mode, embedder="local")
        lines.append(
            f"| {mode} | {train.ndcg_at_10:.4f} | {test.ndcg_at_10:.4f} | {test.recall_at_100:.4f} | "
            f"{test.mrr_at_10:.4f} | {PUBLISHED[mode]} |"
        )
        print(f"  {mode}: indexing {test.index_seconds:.0f} s (0 = reused), search {test.search_seconds:.1f} s",
              file=sys.stderr)  # fmt: skip
    lines.append("")
    lines.append(
        f"Without chunking (each abstract cut at 256 tokens, as MTEB does): {unchunked_dense():.4f} test nDCG@10"
    )
    return "\n".join(lines)


def unchunked_dense() -> float:
    """Dense retrieval the way MTEB scores it: title + ' ' + text, truncated to 256 tokens, exact search."""
    import numpy as np

    from semsearch.embed.local import LocalEmbedder
    from semsearch.evaluate import load_beir, ndcg_at

    dataset = load_beir(SCIFACT, "test")
    ids, texts = [], []
    for doc_id, title, text in dataset.documents():
        ids.append(doc_id)
        texts.append(f"{title} {text}".strip())
    embedder = LocalEmbedder(batch_size=32)
    docs = embedder.embed(texts)
    qids = list(dataset.queries)
    queries = embedder.embed([dataset.queries[q] for q in qids])
    scores = queries @ docs.T
    run = {}
    for n, qid in enumerate(qids):
        top = np.argsort(-scores[n])[:100]
        run[qid] = {ids[i]: float(scores[n, i]) for i in top}
    return ndcg_at(run, dataset.qrels)


def docs_table(quick: bool = False) -> str:
    from semsearch.embed.local import LocalEmbedder, cache_dir
    from semsearch.index import Index

    questions = json.loads(QUESTIONS.read_text())
    lines = ["| folder | mode | hit@1 | hit@3 |", "|---|---|---|---|"]
    for folder, items in questions.items():
        root = DOCS / folder
        with Index(cache_dir() / "eval" / f"docs-{folder}", embedder=LocalEmbedder()) as index:
            started = time.perf_counter()
            report = index.add([root])
            print(f"  {folder}: {report.summary()} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
            for mode in MODES:
                hit1 = hit3 = 0
                for question, targets in list(items.items())[: 5 if quick else None]:
                    files: list[str] = []
                    for hit in index.search(question, k=30, mode=mode):
                        rel = Path(hit.path).relative_to(root).as_posix()
                        if rel not in files:
                            files.append(rel)
                    hit1 += files[:1] != [] and files[0] in targets
                    hit3 += any(f in targets for f in files[:3])
                total = min(len(items), 5) if quick else len(items)
                lines.append(f"| {folder} | {mode} | {hit1}/{total} | {hit3}/{total} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scifact", action="store_true")
    parser.add_argument("--docs", action="store_true")
    parser.add_argument("--quick", action="store_true", help="docs: only 5 questions per folder")
    args = parser.parse_args()
    if not (args.scifact or args.docs):
        args.scifact = args.docs = True
    if args.scifact:
        print("## SciFact (BEIR), all-minilm\n")
        print(scifact_table() + "\n", flush=True)
    if args.docs:
        print("## Documentation folders: own questions (benchmarks/docs_questions.json), file-level hits\n")
        print(docs_table(args.quick), flush=True)
