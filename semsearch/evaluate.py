"""Retrieval quality on BEIR-format datasets: nDCG@10, Recall@100, MRR@10.

    results = evaluate("../shared/eval/scifact", split="test", mode="hybrid")

The corpus is indexed once (title + text through `Index.add_texts`) into a stable folder
and reused; chunk hits are aggregated to documents by their best chunk.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semsearch.errors import SemsearchError
from semsearch.index import Index
from semsearch.search import rank

Run = dict[str, dict[str, float]]  # query id -> doc id -> score
Qrels = dict[str, dict[str, int]]  # query id -> doc id -> relevance


@dataclass
class BeirDataset:
    path: Path
    corpus_file: Path
    queries: dict[str, str]
    qrels: Qrels

    def documents(self) -> Iterator[tuple[str, str, str]]:
        opener = gzip.open if self.corpus_file.suffix == ".gz" else open
        with opener(self.corpus_file, "rt", encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                    doc_id, title, text = str(doc["_id"]), doc.get("title") or "", doc.get("text") or ""
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise SemsearchError(f"{self.corpus_file} line {number}: not a BEIR document ({e})") from None
                if not isinstance(title, str) or not isinstance(text, str):
                    raise SemsearchError(f"{self.corpus_file} line {number}: 'title' and 'text' must be strings")
                yield doc_id, title, text


def load_beir(path: str | Path, split: str = "test") -> BeirDataset:
    """A BEIR folder: corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv."""
    root = Path(path)
    corpus = next((root / n for n in ("corpus.jsonl", "corpus.jsonl.gz") if (root / n).exists()), None)
    if corpus is None:
        raise SemsearchError(f"{root}: no corpus.jsonl or corpus.jsonl.gz (is this a BEIR folder?)")
    qrels_file = root / "qrels" / f"{split}.tsv"
    if not qrels_file.exists():
        raise SemsearchError(f"{qrels_file}: no relevance judgments for split {split!r}")
    qrels: Qrels = {}
    with _open_text(qrels_file) as f:
        for number, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not row or (number == 1 and row[0] == "query-id"):
                continue
            try:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
            except (IndexError, ValueError):
                raise SemsearchError(
                    f"{qrels_file} line {number}: expected 'query-id<TAB>corpus-id<TAB>score' with an integer score"
                ) from None
    queries_file = root / "queries.jsonl"
    if not queries_file.exists():
        raise SemsearchError(f"{queries_file}: no queries (is this a BEIR folder?)")
    queries: dict[str, str] = {}
    with _open_text(queries_file) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                qid, text = str(item["_id"]), item["text"]
            except (ValueError, KeyError, TypeError):
                raise SemsearchError(f"{queries_file} line {number}: expected JSON with '_id' and 'text'") from None
            if not isinstance(text, str) or not text.strip():
                raise SemsearchError(f"{queries_file} line {number}: 'text' must be a non-empty string")
            if qid in qrels:
                queries[qid] = text
    if not queries:
        raise SemsearchError(f"{queries_file}: none of its queries is judged in {qrels_file}")
    return BeirDataset(root, corpus, queries, qrels)


def _open_text(path: Path):
    """A UTF-8 text file; bytes that are not UTF-8 become U+FFFD instead of a UnicodeDecodeError."""
    return path.open(encoding="utf-8", errors="replace", newline="")


# -- metrics (checked against pytrec_eval in the tests) --------------------------------------------


def _ranked(scores: dict[str, float]) -> list[str]:
    # trec_eval's order: score descending, then doc id descending for ties
    return [doc for doc, _ in sorted(scores.items(), key=lambda item: (-item[1], _reverse_key(item[0])))]


def _reverse_key(text: str) -> tuple:
    return tuple(-ord(c) for c in text) + (1,)


def ndcg_at(run: Run, qrels: Qrels, k: int = 10) -> float:
    """Mean nDCG@k with linear gains (trec_eval's ndcg_cut)."""
    values = []
    for qid, judged in qrels.items():
        ranking = _ranked(run.get(qid, {}))[:k]
        dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking))
        ideal = sorted((r for r in judged.values() if r > 0), reverse=True)[:k]
        idcg = sum(rel / math.log2(rank + 2) for rank, rel in enumerate(ideal))
        values.append(dcg / idcg if idcg > 0 else 0.0)
    return float(np.mean(values)) if values else 0.0


def recall_at(run: Run, qrels: Qrels, k: int = 100) -> float:
    values = []
    for qid, judged in qrels.items():
        relevant = {d for d, r in judged.items() if r > 0}
        if relevant:
            retrieved = set(_ranked(run.get(qid, {}))[:k])
            values.append(len(relevant & retrieved) / len(relevant))
    return float(np.mean(values)) if values else 0.0


def mrr_at(run: Run, qrels: Qrels, k: int = 10) -> float:
    values = []
    for qid, judged in qrels.items():
        ranking = _ranked(run.get(qid, {}))[:k]
        values.append(next((1 / (rank + 1) for rank, doc in enumerate(ranking) if judged.get(doc, 0) > 0), 0.0))
    return float(np.mean(values)) if values else 0.0


# -- running a dataset ----------------------------------------------------------------------------


@dataclass
class EvalResult:
    dataset: str
    split: str
    mode: str
    queries: int
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    index_seconds: float
    search_seconds: float
    index: str
    run: Run = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "run"}
        for key in ("ndcg_at_10", "recall_at_100", "mrr_at_10"):
            data[key] = round(data[key], 4)
        return data


def default_eval_index(dataset: Path, model: str, chunk_tokens: int) -> Path:
    from semsearch.embed.local import cache_dir

    key = hashlib.blake2b(str(dataset.resolve()).encode(), digest_size=4).hexdigest()
    return cache_dir() / "eval" / f"{dataset.resolve().name}-{key}-{model.replace(':', '_')}-c{chunk_tokens}"


def build_index(
    dataset: BeirDataset,
    *,
    index_path: str | Path | None = None,
    model: str = "all-minilm",
    embedder=None,
    chunk_tokens: int = 256,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[Index, float]:
    """Index (or reuse) the corpus; returns the index and the seconds spent indexing."""
    path = Path(index_path) if index_path else default_eval_index(dataset.path, model, chunk_tokens)
    index = Index(path, model=model, embedder=embedder, chunk_tokens=chunk_tokens)
    report = index.add_texts(dataset.documents(), on_progress=on_progress)
    return index, report.seconds


def doc_rankings(index: Index, queries: dict[str, str], mode: str, depth: int = 100) -> Run:
    """Document scores per query: each document scores as its best chunk, ranked as `Index.search` ranks."""
    run: Run = {}
    ids = list(queries)
    vectors = index.embed_queries([queries[q] for q in ids]) if mode != "keyword" else None
    for n, qid in enumerate(ids):
        vector = vectors[n] if vectors is not None else None
        ranking = rank(index.collection, queries[qid], depth * 3, mode=mode, query_vector=vector)
        run[qid] = dict(_to_docs(index, ranking, depth))
    return run


def _to_docs(index: Index, ranking: list[tuple[int, float]], depth: int) -> list[tuple[str, float]]:
    paths = index.collection.chunk_paths([i for i, _ in ranking])
    best: dict[str, float] = {}
    for chunk_id, score in ranking:
        doc = paths.get(chunk_id)
        if doc is not None and doc not in best:
            best[doc] = score
    return list(best.items())[:depth]


def evaluate(
    path: str | Path,
    *,
    split: str = "test",
    mode: str = "hybrid",
    k: int = 100,
    index_path: str | Path | None = None,
    model: str = "all-minilm",
    embedder=None,
    chunk_tokens: int = 256,
    on_progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    dataset = load_beir(path, split)
    index, index_seconds = build_index(
        dataset,
        index_path=index_path,
        model=model,
        embedder=embedder,
        chunk_tokens=chunk_tokens,
        on_progress=on_progress,
    )
    started = time.perf_counter()
    run = doc_rankings(index, dataset.queries, mode, depth=max(k, 100))
    search_seconds = time.perf_counter() - started
    result = EvalResult(
        dataset=dataset.path.name,
        split=split,
        mode=mode,
        queries=len(dataset.queries),
        ndcg_at_10=ndcg_at(run, dataset.qrels, 10),
        recall_at_100=recall_at(run, dataset.qrels, 100),
        mrr_at_10=mrr_at(run, dataset.qrels, 10),
        index_seconds=round(index_seconds, 2),
        search_seconds=round(search_seconds, 2),
        index=str(index.path),
        run=run,
    )
    index.close()
    return result


def write_run(run: Run, path: str | Path, tag: str = "semsearch") -> None:
    """A TREC run file: qid Q0 docid rank score tag."""
    with Path(path).open("w", encoding="utf-8") as f:
        for qid, scores in run.items():
            for rank, doc in enumerate(_ranked(scores)[:1000], start=1):
                f.write(f"{qid} Q0 {doc} {rank} {scores[doc]:.6f} {tag}\n")
