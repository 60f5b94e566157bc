"""One query end to end: candidates from the chosen mode, fused, filtered, turned into results."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from semsearch.errors import SemsearchError
from semsearch.search.results import SearchResult

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.index import Index

SEARCH_MODES = ("dense", "keyword", "hybrid")


def search(
    index: Index,
    text: str,
    k: int = 10,
    *,
    mode: str = "dense",
    path_glob: str | None = None,
    min_score: float | None = None,
) -> list[SearchResult]:
    """The k chunks of `index` that best match `text`, best first."""
    if mode not in SEARCH_MODES:
        raise SemsearchError(f"unknown search mode {mode!r}: choose one of {', '.join(SEARCH_MODES)}")
    if not isinstance(k, int) or k < 1:
        raise SemsearchError(f"k must be a positive number of results, not {k!r}")
    if not text.strip():
        raise SemsearchError("the query is empty")
    index._check_model()
    db = index.db
    if not db.get_meta("model") or db.file_count() == 0:
        return []
    allowed = db.chunk_ids_for_paths(_glob(path_glob)) if path_glob else None
    depth = k if allowed is None else k * 10
    if mode == "keyword":
        ranked = keyword_candidates(index, text, depth, allowed)
    elif mode == "dense":
        ranked = dense_candidates(index, text, depth, allowed)
    else:
        from semsearch.search.fusion import HYBRID_DEPTH, fuse

        pool = max(HYBRID_DEPTH, depth)
        ranked = fuse([dense_candidates(index, text, pool, allowed), keyword_candidates(index, text, pool, allowed)])
    if min_score is not None:
        ranked = [(i, s) for i, s in ranked if s >= min_score]
    ranked = ranked[:k]
    rows = db.chunks([i for i, _ in ranked])
    return [
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


def dense_candidates(index: Index, text: str, depth: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
    """(chunk id, cosine), best first; `allowed` restricts to those chunk ids (a path filter)."""
    query = index.embed_queries([text])[0]
    if allowed is None:
        return index.dense_ranking(query, depth)
    if len(allowed) == 0:
        return []
    scores = index.db.vectors_for(allowed.tolist()) @ query
    top = np.argsort(-scores)[:depth]
    return [(int(allowed[i]), float(scores[i])) for i in top]


def keyword_candidates(index: Index, text: str, depth: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
    """(chunk id, BM25), best first; `allowed` restricts to those chunk ids."""
    hits = index.keyword_ranking(text, depth if allowed is None else depth * 10)
    if allowed is not None:
        keep = set(allowed.tolist())
        hits = [h for h in hits if h[0] in keep]
    return hits[:depth]


def _glob(pattern: str) -> str:
    """Let users write `docs/*.md` or `*.md`; stored paths are absolute."""
    return pattern if pattern.startswith(("/", "*")) else "*/" + pattern
