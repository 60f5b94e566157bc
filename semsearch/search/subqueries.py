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
from semsearch.search.results import SearchResult

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.index import Index

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
    index: Index,
    queries: Sequence[SubQuery],
    depth: int,
    *,
    allowed: np.ndarray | None = None,
    settings: TypedSettings = TYPED,
) -> list[tuple[int, float]]:
    """(chunk id, score) for a set of typed sub-queries, best first."""
    from semsearch.search.engine import dense_candidates, keyword_candidates

    pool = max(TYPED_DEPTH, depth)
    lexical = [q.query for q in queries if q.type == "lex"]
    dense_texts = [q for q in queries if q.type != "lex"]
    vectors = _embed(index, dense_texts)
    lists: list[tuple[str, list[tuple[int, float]]]] = [
        ("lex", keyword_candidates(index, text, pool, allowed)) for text in lexical
    ]
    for q, vector in zip(dense_texts, vectors, strict=True):
        lists.append((q.type, dense_candidates(index, q.query, pool, allowed, vector)))
    lists = [(kind, ranking) for kind, ranking in lists if ranking]
    if not lists:
        return []
    fused = _rrf(lists) if settings.fusion == "rrf" else _convex(lists, settings)
    if not settings.signals:
        return fused
    from semsearch.search.engine import AUTO, rerank
    from semsearch.search.query import analyze

    named = " ".join(q.query for q in queries if q.type != "hyde")  # a hypothetical passage invents names
    return rerank(index, fused, analyze(named), AUTO) if named else fused


def _embed(index: Index, queries: Sequence[SubQuery]) -> list[np.ndarray]:
    """vec sub-queries as queries (with the model's query prefix), hyde ones as documents, one batch each."""
    from semsearch.embed.registry import document_prefix

    vec = [q.query for q in queries if q.type == "vec"]
    hyde = [document_prefix(index.model) + q.query for q in queries if q.type == "hyde"]
    vec_vectors = iter(index.embed_queries(vec)) if vec else iter(())
    hyde_vectors = iter(index.embedder.embed(hyde)) if hyde else iter(())
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
    index: Index,
    queries: Sequence[SubQuery],
    k: int = 10,
    *,
    path_glob: str | Sequence[str] | None = None,
    min_score: float | None = None,
    files: bool = False,
    settings: TypedSettings = TYPED,
) -> list[SearchResult]:
    """The k chunks (or files, each as its best chunk) that best match the sub-queries, best first.

    min_score: a floor on the fused score shown (0..1 before the signals' adjustments).
    """
    from semsearch.search.engine import allowed_chunks

    queries = [q if isinstance(q, SubQuery) else SubQuery(*q) for q in queries]
    if not queries:
        raise SemsearchError("no sub-queries given: pass at least one lex, vec or hyde sub-query")
    if not isinstance(k, int) or k < 1:
        raise SemsearchError(f"k must be a positive number of results, not {k!r}")
    db = index.db
    if not db.get_meta("model") or db.file_count() == 0:
        return []
    allowed = allowed_chunks(index, path_glob)
    want = k * 5 if files else k
    depth = want if allowed is None else want * 10
    ranked = rank_typed(index, queries, depth, allowed=allowed, settings=settings)
    if min_score is not None:
        ranked = [(i, s) for i, s in ranked if s >= min_score]
    if files:
        paths = db.chunk_paths([i for i, _ in ranked])
        ranked = [(i, s) for i, s in ranked if paths.get(i) is not None]
        firsts = {paths[i]: i for i, _ in reversed(ranked)}  # each file's best chunk
        ranked = [(i, s) for i, s in ranked if firsts[paths[i]] == i]
    ranked = ranked[:k]
    rows = db.chunks([i for i, _ in ranked])
    results = [
        SearchResult(
            path=r.path or "",
            start_line=r.start_line,
            end_line=r.end_line,
            heading=r.heading,
            text=r.text,
            score=score,
            page=r.page,
            chunk_id=i,
        )
        for i, score in ranked
        if (r := rows.get(i)) is not None
    ]
    return results
