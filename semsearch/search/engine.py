"""One query end to end: candidates from the chosen mode, fused, re-ranked, filtered, turned into results.

Modes: `dense` (embedding cosine), `keyword` (BM25 over text, identifiers, symbols, paths),
`hybrid` (a fixed convex fusion of both) and `auto`: the fusion weight follows
the query's shape (a bare name leans keyword, a question leans dense), then signals from the
chunks' symbol paths and file paths adjust the order (semsearch.search.signals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semsearch.errors import SemsearchError
from semsearch.search.results import SearchResult, anchor_fields

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.index import Index

SEARCH_MODES = ("auto", "dense", "keyword", "hybrid")
# auto becomes the default once it is measured not to lose to dense on any question set (benchmarks/QUALITY.md).
DEFAULT_MODE = "auto"  # never worse than dense by more than one question on any set; see README


@dataclass(frozen=True)
class AutoSettings:
    """The `auto` ranker's knobs (tuned on the question sets named in semsearch.search.signals)."""

    symbol_dense_weight: float = 0.2  # a bare identifier or error code: keyword carries most
    # Words and questions: dense weight = text_dense_weight - peak, where peak = (BM25 top 1 - top 10) / top 1.
    # A query whose keyword evidence singles out a few chunks (rare terms) leans keyword; one whose words
    # match everywhere leans dense. Chosen on SciFact train (best of 0.7-1.0), checked on the docs questions
    # (benchmarks/QUALITY.md).
    text_dense_weight: float = 0.8
    min_dense_weight: float = 0.3
    # Questions over source code: BM25 over identifiers, symbols and paths is strong there, so the weight is
    # fixed, applied when most of the dense top 10 are code chunks (None: treat code like prose).
    code_text_dense_weight: float | None = 0.4
    rerank_depth: int = 100  # fused candidates the signals look at
    # Signals, each measured by leaving it out on benchmarks/code_questions.json (file nDCG@10, auto 0.954):
    defines: bool = True  # without it and file_name: 0.942
    file_name: bool = True  # without it: 0.948
    coherence: bool = False  # with it: -0.0004, so off (kept for experiments)
    secondary: bool = True  # without it: 0.948
    declares: bool = True  # "class Context": the chunk declaring it (tests/search/test_definition_queries.py)


AUTO = AutoSettings()


def search(
    index: Index,
    text: str,
    k: int = 10,
    *,
    mode: str = DEFAULT_MODE,
    path_glob: str | None = None,
    min_score: float | None = None,
    files: bool = False,
    settings: AutoSettings = AUTO,
) -> list[SearchResult]:
    """The k chunks of `index` that best match `text`, best first.

    files=True: the k best files instead, each as its best chunk (see `group_by_file`).
    min_score: a floor on the score; in `auto` mode, on the chunk's cosine similarity (its own
    scores are relative to the other candidates).
    """
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
    want = k * 5 if files else k
    depth = want if allowed is None else want * 10
    vector = index.embed_queries([text])[0] if mode != "keyword" else None
    ranked = rank(index, text, depth, mode=mode, allowed=allowed, query_vector=vector, settings=settings)
    if min_score is not None and mode == "auto" and ranked:
        # auto's scores are relative (fused and adjusted); the floor is on meaning: the chunk's cosine.
        cosines = db.vectors_for([i for i, _ in ranked]) @ vector
        ranked = [pair for pair, cosine in zip(ranked, cosines, strict=True) if cosine >= min_score]
    elif min_score is not None:
        ranked = [(i, s) for i, s in ranked if s >= min_score]
    if files:
        paths = db.chunk_paths([i for i, _ in ranked])
        ranked = _best_per_file(ranked, paths)
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
            **anchor_fields(r.anchor),
        )
        for i, score in ranked
        if (r := rows.get(i)) is not None
    ]


def rank(
    index: Index,
    text: str,
    depth: int,
    *,
    mode: str = DEFAULT_MODE,
    allowed: np.ndarray | None = None,
    query_vector: np.ndarray | None = None,
    settings: AutoSettings = AUTO,
) -> list[tuple[int, float]]:
    """(chunk id, score) for a query, best first: the one ranking every caller (CLI, eval, MCP) shares.

    query_vector: the query's embedding when the caller embedded a batch of queries at once.
    """
    if mode == "keyword":
        return keyword_candidates(index, text, depth, allowed)
    if mode == "dense":
        return dense_candidates(index, text, depth, allowed, query_vector)
    from semsearch.search.fusion import HYBRID_DEPTH, fuse

    pool = max(HYBRID_DEPTH, depth)
    dense = dense_candidates(index, text, pool, allowed, query_vector)
    keyword = keyword_candidates(index, text, pool, allowed)
    if mode == "hybrid":
        return fuse([dense, keyword])
    from semsearch.search.query import analyze

    shape = analyze(text)
    if shape.is_symbol:
        weight = settings.symbol_dense_weight
    elif settings.code_text_dense_weight is not None and _mostly_code(index, dense[:10]):
        weight = settings.code_text_dense_weight
    else:
        weight = max(settings.min_dense_weight, settings.text_dense_weight - keyword_peak(keyword))
    fused = fuse([dense, keyword], dense_weight=weight)
    return rerank(index, fused, shape, settings)


def _mostly_code(index: Index, top: list[tuple[int, float]]) -> bool:
    labels = index.db.chunk_labels([i for i, _ in top])
    return sum(kind == "code" for _, _, kind in labels.values()) * 2 > len(top)


def keyword_peak(keyword: list[tuple[int, float]], depth: int = 10) -> float:
    """How far BM25's best candidate stands above its 10th, relative to the best: 0 (flat) to 1."""
    if not keyword or keyword[0][1] <= 0:
        return 0.0
    top, last = keyword[0][1], keyword[min(depth, len(keyword)) - 1][1]
    return (top - last) / top


def rerank(index: Index, fused: list[tuple[int, float]], shape, settings: AutoSettings) -> list[tuple[int, float]]:
    """Add the signals' adjustments to the fused scores of the top candidates."""
    from semsearch.search import signals

    head, tail = fused[: settings.rerank_depth], fused[settings.rerank_depth :]
    labels = index.db.chunk_labels([i for i, _ in head])
    candidates = [signals.Candidate(i, s, *labels[i]) for i, s in head if i in labels]
    # Coherence is for source files (many small definitions); on prose it would favour long overview pages.
    bonus = signals.coherence([c for c in candidates if c.kind == "code"]) if settings.coherence else {}
    wanted = settings.declares and shape.definition_kind
    texts = {i: r.text for i, r in index.db.chunks([c.chunk_id for c in candidates]).items()} if wanted else {}
    scored = []
    for c in candidates:
        score = c.score + bonus.get(c.chunk_id, 0.0)
        if settings.defines:
            score += signals.defines_symbol(c, shape)
        if settings.file_name:
            score += signals.file_name_match(c, shape)
        if settings.secondary:
            score += signals.secondary_penalty(c, shape)
        if texts:
            score += signals.declares(texts.get(c.chunk_id, ""), shape)
        scored.append((c.chunk_id, score))
    scored.sort(key=lambda pair: -pair[1])
    floor = scored[-1][1] if scored else 0.0
    return scored + [(i, min(s, floor)) for i, s in tail]


def group_by_file(results: list[SearchResult]) -> list[SearchResult]:
    """One result per file, its best chunk, in the order of the files' best chunks."""
    seen: set[str] = set()
    best = []
    for result in results:
        if result.path not in seen:
            seen.add(result.path)
            best.append(result)
    return best


def _best_per_file(ranked: list[tuple[int, float]], paths: dict[int, str]) -> list[tuple[int, float]]:
    seen: set[str] = set()
    best = []
    for chunk_id, score in ranked:
        path = paths.get(chunk_id)
        if path is not None and path not in seen:
            seen.add(path)
            best.append((chunk_id, score))
    return best


def dense_candidates(
    index: Index, text: str, depth: int, allowed: np.ndarray | None, query_vector: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """(chunk id, cosine), best first; `allowed` restricts to those chunk ids (a path filter)."""
    query = query_vector if query_vector is not None else index.embed_queries([text])[0]
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
