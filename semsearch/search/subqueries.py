"""Typed sub-queries: an agent hands over the query variants it is good at writing, fused into one ranking.

    lex   words and identifiers for the keyword index (BM25): `ProgressBar render eta`
    vec   a question or topic for the embedding: "how is the progress bar's ETA computed?"
    hyde  a hypothetical answer passage (code or prose), embedded as a document is (no query
          prefix), so it lands next to chunks that look like the answer

Each sub-query gives one candidate list; the lists are fused by a weighted sum of their min-max
normalized scores (the fusion `hybrid` uses), then `auto`'s code-aware signals adjust the order using
the names in the lex and vec sub-queries. benchmarks/QUALITY.md compares this with one plain query
and with reciprocal rank fusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semsearch.errors import SemsearchError
from semsearch.search.results import SearchResult, to_results

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.collection import Collection, Scope

SUBQUERY_TYPES = ("lex", "vec", "hyde")
TYPED_DEPTH = 100  # candidates taken from each sub-query's list before fusing
RRF_K = 60


@dataclass(frozen=True)
class SubQuery:
    """One typed sub-query: `type` is "lex", "vec" or "hyde"; `query` its text."""

    type: str
    query: str

    def __post_init__(self) -> None:
        if self.type not in SUBQUERY_TYPES:
            raise SemsearchError(f"sub-query type must be one of {', '.join(SUBQUERY_TYPES)}, not {self.type!r}")
        if not isinstance(self.query, str) or not self.query.strip():
            raise SemsearchError(f"the {self.type} sub-query is empty")


@dataclass(frozen=True)
class TypedSettings:
    """How typed lists are fused (the defaults were chosen on benchmarks/code_questions.json)."""

    fusion: str = "convex"  # or "rrf"
    signals: bool = True  # auto's defines / file-name / secondary-file signals, on the lex and vec names
    lex_weight: float = 0.5  # convex: the keyword lists' share; the embedding lists share the rest
    # convex: BM25 scores divided by the list's best ("max"), or min-max normalized like hybrid's ("minmax").
    # Min-max gives a list's last match 0, which in a short list (a rare name that few chunks hold) erases it.
    lex_norm: str = "max"


TYPED = TypedSettings()


def rank_typed(
    collection: Collection,
    queries: Sequence[SubQuery],
    depth: int,
    *,
    scope: Scope | None = None,
    settings: TypedSettings = TYPED,
    vectors: list[np.ndarray] | None = None,
) -> list[tuple[int, float]]:
    """(chunk id, score) for a set of typed sub-queries, best first; `vectors`: the vec/hyde ones' embeddings."""
    from semsearch.search.keywords import keyword_candidates

    pool = max(TYPED_DEPTH, depth)
    lexical = [q.query for q in queries if q.type == "lex"]
    dense_texts = [q for q in queries if q.type != "lex"]
    vectors = embed_typed(collection, dense_texts) if vectors is None else vectors
    lists: list[tuple[str, list[tuple[int, float]]]] = [
        ("lex", keyword_candidates(collection, text, pool, scope)) for text in lexical
    ]
    for q, vector in zip(dense_texts, vectors, strict=True):
        lists.append((q.type, collection.dense_candidates(vector, pool, scope)))
    lists = [(kind, ranking) for kind, ranking in lists if ranking]
    if not lists:
        return []
    fused = _rrf(lists) if settings.fusion == "rrf" else _convex(lists, settings)
    if not settings.signals:
        return fused
    from semsearch.search.engine import AUTO, rerank
    from semsearch.search.query import analyze

    named = " ".join(q.query for q in queries if q.type != "hyde")  # a hypothetical passage invents names
    return rerank(collection, fused, analyze(named), AUTO) if named else fused


def embed_typed(collection: Collection, queries: Sequence[SubQuery]) -> list[np.ndarray]:
    """vec sub-queries as queries (with the model's query prefix), hyde ones as documents, one batch each."""
    vec = [q.query for q in queries if q.type == "vec"]
    hyde = [collection.embedding_text(None, q.query) for q in queries if q.type == "hyde"]
    vec_vectors = iter(collection.embed_queries(vec)) if vec else iter(())
    hyde_vectors = iter(collection.embedder.embed(hyde)) if hyde else iter(())
    return [next(vec_vectors) if q.type == "vec" else next(hyde_vectors) for q in queries]


def _convex(lists: list[tuple[str, list[tuple[int, float]]]], settings: TypedSettings) -> list[tuple[int, float]]:
    """Weighted sum of normalized scores, scaled to 0..1: keyword lists share `lex_weight`, embedding lists the rest."""
    lex = sum(kind == "lex" for kind, _ in lists)
    dense = len(lists) - lex
    share = {"lex": settings.lex_weight if dense else 1.0, "dense": (1.0 - settings.lex_weight) if lex else 1.0}
    fused: dict[int, float] = {}
    for kind, ranking in lists:
        weight = share["lex"] / lex if kind == "lex" else share["dense"] / dense
        scores = [score for _, score in ranking]
        high = max(scores)
        low = 0.0 if kind == "lex" and settings.lex_norm == "max" else min(scores)
        for chunk_id, score in ranking:
            normalized = (score - low) / (high - low) if high > low else 1.0
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight * normalized
    return sorted(fused.items(), key=lambda pair: -pair[1])


def _rrf(lists: list[tuple[str, list[tuple[int, float]]]]) -> list[tuple[int, float]]:
    """Reciprocal rank fusion, scaled so a chunk first in every list scores 1."""
    fused: dict[int, float] = {}
    for _, ranking in lists:
        for rank, (chunk_id, _) in enumerate(ranking):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    best = len(lists) / (RRF_K + 1)
    return sorted(((i, s / best) for i, s in fused.items()), key=lambda pair: -pair[1])


def search_typed(
    collection: Collection,
    queries: Sequence[SubQuery],
    k: int = 10,
    *,
    path: str | Sequence[str] | None = None,
    min_score: float | None = None,
    files: bool = False,
    settings: TypedSettings = TYPED,
) -> list[SearchResult]:
    """The k chunks (or files, each as its best chunk) that best match the sub-queries, best first.

    A result's score is its best cosine similarity to the vec/hyde sub-queries (BM25 of the first lex
    line when there are none), as plain search scores are; min_score is a floor on that score.
    """
    from semsearch.paths import PathPattern
    from semsearch.search.engine import best_per_file

    queries = [q if isinstance(q, SubQuery) else SubQuery(*q) for q in queries]
    if not queries:
        raise SemsearchError("no sub-queries given: pass at least one lex, vec or hyde sub-query")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise SemsearchError(f"k must be a positive number of results, not {k!r}")
    collection.check_model()
    if not collection.has_model:
        return []
    dense_queries = [q for q in queries if q.type != "lex"]
    vectors = embed_typed(collection, dense_queries)
    want = k * 5 if files else k
    with collection.snapshot():
        if collection.file_count() == 0:
            return []
        scope = collection.scope(PathPattern.of(path))
        ranked = rank_typed(collection, queries, want, scope=scope, settings=settings, vectors=vectors)
        if files:
            ranked = best_per_file(ranked, collection.chunk_paths([i for i, _ in ranked]))
        shown = _shown_scores(collection, queries, vectors, ranked)
        if min_score is not None:
            ranked = [(i, s) for i, s in ranked if shown.get(i) is None or shown[i] >= min_score]
        ranked = ranked[:k]
        rows = collection.chunks([i for i, _ in ranked])
    return to_results([(i, shown.get(i)) for i, _ in ranked], rows)


def _shown_scores(collection: Collection, queries, vectors, ranked) -> dict[int, float | None]:
    """Best cosine to the vec/hyde vectors (None: not embedded yet), else the first lex line's BM25."""
    from semsearch.search.keywords import keyword_candidates

    ids = [i for i, _ in ranked]
    if vectors:
        stored = collection.stored_vectors(ids)
        matrix = np.vstack(vectors)
        return {i: float(np.max(matrix @ stored[i])) if i in stored else None for i in ids}
    first = next(q.query for q in queries if q.type == "lex")
    bm25 = dict(keyword_candidates(collection, first, max(TYPED_DEPTH, len(ids))))
    return {i: bm25.get(i, 0.0) for i in ids}
