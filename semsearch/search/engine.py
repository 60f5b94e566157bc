"""One query end to end: candidates from the chosen mode, fused, re-ranked, filtered, turned into results.

Modes: `dense` (embedding cosine), `keyword` (BM25 over text, identifiers, symbols, paths),
`hybrid` (a fixed convex fusion of both) and `auto`: the fusion weight follows
the query's shape (a bare name leans keyword, a question leans dense), then signals from the
chunks' symbol paths and file paths adjust the order (semsearch.search.signals).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semsearch.errors import SemsearchError
from semsearch.paths import PathPattern
from semsearch.search.keywords import keyword_candidates
from semsearch.search.results import SearchResult, to_results

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.collection import Collection, Scope

SEARCH_MODES = ("auto", "dense", "keyword", "hybrid")
# auto is the default because it does not lose to dense on any question set (benchmarks/QUALITY.md, auto).
DEFAULT_MODE = "auto"


@dataclass(frozen=True)
class AutoSettings:
    """The `auto` ranker's knobs (tuned on the question sets named in semsearch.search.signals)."""

    symbol_dense_weight: float = 0.2  # a bare identifier or error code: keyword carries most
    # Words and questions: dense weight = text_dense_weight - peak, where peak = (BM25 top 1 - top 10) / top 1.
    # A query whose keyword evidence singles out a few chunks (rare terms) leans keyword; one whose words
    # match everywhere leans dense. Chosen on SciFact train, checked on the docs questions (the grid and the
    # numbers: benchmarks/QUALITY.md, auto).
    text_dense_weight: float = 0.8
    min_dense_weight: float = 0.3
    # Questions over source code: BM25 over identifiers, symbols and paths is strong there, so the weight is
    # fixed, applied when most of the dense top 10 are code chunks (None: treat code like prose).
    code_text_dense_weight: float | None = 0.4
    rerank_depth: int = 100  # fused candidates the signals look at
    # Signals, each kept for what leaving it out cost (benchmarks/QUALITY.md, "How auto's parts were chosen"):
    defines: bool = True  # the chunk defines a name the query asks for
    file_name: bool = True  # the file is named after it
    coherence: bool = False  # off: no gain measured (kept for experiments)
    declares: bool = True  # "class Context": the chunk declaring it (tests/search/test_definition_queries.py)
    secondary: bool = True  # tests, vendored and generated files, release notes step back


AUTO = AutoSettings()


def search(
    collection: Collection,
    text: str,
    k: int = 10,
    *,
    mode: str = DEFAULT_MODE,
    path: str | PathPattern | None = None,
    min_score: float | None = None,
    files: bool = False,
    settings: AutoSettings = AUTO,
) -> list[SearchResult]:
    """The k chunks of the collection that best match `text`, best first.

    path: a path pattern (semsearch.paths), applied inside candidate generation, so a filtered
    search never loses a match to files outside the filter.
    files=True: the k best files instead, each as its best chunk (see `group_by_file`).
    Each result's score is its cosine similarity to the query (BM25 in keyword mode; None for a
    chunk whose vector a running index has not made yet); min_score is a floor on that score.
    """
    if mode not in SEARCH_MODES:
        raise SemsearchError(f"unknown search mode {mode!r}: choose one of {', '.join(SEARCH_MODES)}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise SemsearchError(f"k must be a positive number of results, not {k!r}")
    if not text.strip():
        raise SemsearchError("the query is empty")
    pattern = path if isinstance(path, PathPattern) or path is None else PathPattern.of(path)
    collection.check_model()
    if not collection.has_model:
        return []
    # The query is embedded on a worker thread while SQLite answers the keyword half (both release the GIL).
    # The embedder is opened here first: opening it reads the index's meta, which the snapshot below locks.
    if mode != "keyword":
        collection.open_embedder()
    vector = None
    if mode == "dense":  # nothing to overlap: a thread would only add its hand-off (p50 1.2 ms more)
        vector = _embed_one(collection, text)
    elif mode != "keyword":
        vector = _EMBEDDING.submit(_embed_one, collection, text)
    want = k * 5 if files else k
    # One read transaction: every id, vector and row below comes from the same committed state.
    with collection.snapshot():
        if collection.file_count() == 0:
            return []
        scope = collection.scope(pattern)
        ranked = rank(collection, text, want, mode=mode, scope=scope, query_vector=vector, settings=settings)
        if files:
            ranked = best_per_file(ranked, collection.chunk_paths([i for i, _ in ranked]))
        if min_score is None:
            ranked = ranked[:k]  # the ranking holds every candidate (up to 200): only the shown need a cosine
        # What a person sees, and what --min-score filters on: the chunk's cosine similarity to the
        # query (BM25 in keyword mode). The order stays the ranking's, which weighs keywords too.
        shown = dict(ranked) if mode in ("keyword", "dense") else _similarities(collection, vector, ranked)
        if min_score is not None:
            ranked = [(i, s) for i, s in ranked if shown.get(i) is None or shown[i] >= min_score]
        ranked = ranked[:k]
        rows = collection.chunks([i for i, _ in ranked])
    return to_results([(i, shown.get(i)) for i, _ in ranked], rows)


def rank(
    collection: Collection,
    text: str,
    depth: int,
    *,
    mode: str = DEFAULT_MODE,
    scope: Scope | None = None,
    query_vector: np.ndarray | Future | None = None,
    settings: AutoSettings = AUTO,
) -> list[tuple[int, float]]:
    """(chunk id, score) for a query, best first: the one ranking every caller (CLI, eval, MCP) shares.

    query_vector: the query's embedding (or a Future of it) when the caller embedded it already.
    Call inside `collection.snapshot()` when the ids are read again afterwards.
    """
    if mode == "keyword":
        return keyword_candidates(collection, text, depth, scope)
    if query_vector is None:
        query_vector = _embed_one(collection, text)
    if mode == "dense":
        return collection.dense_candidates(_resolved(query_vector), depth, scope)
    from semsearch.search.fusion import HYBRID_DEPTH, fuse

    pool = max(HYBRID_DEPTH, depth)
    from semsearch.search.query import analyze

    # The dense half (the query's embedding, then the vector scan) runs on a worker beside the keyword half,
    # which reads what it can before the dense half is done.
    with collection.dense_alongside(query_vector, pool, scope) as dense_search:
        keyword = keyword_candidates(collection, text, pool, scope)
        unembedded = collection.unembedded([i for i, _ in keyword[:HYBRID_DEPTH]])
        shape = analyze(text)
    dense = dense_search.ranking
    if mode == "hybrid":
        return fuse([dense, keyword], unembedded=unembedded)
    if shape.is_symbol:
        weight = settings.symbol_dense_weight
    elif settings.code_text_dense_weight is not None and _mostly_code(collection, dense[:10]):
        weight = settings.code_text_dense_weight
    else:
        weight = max(settings.min_dense_weight, settings.text_dense_weight - keyword_peak(keyword))
    fused = fuse([dense, keyword], dense_weight=weight, unembedded=unembedded)
    return rerank(collection, fused, shape, settings)


_EMBEDDING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="semsearch-query")


def _embed_one(collection: Collection, text: str) -> np.ndarray:
    return collection.embed_queries([text])[0]


def _resolved(vector: np.ndarray | Future) -> np.ndarray:
    return vector.result() if isinstance(vector, Future) else vector


def _similarities(collection: Collection, vector, ranked: list[tuple[int, float]]) -> dict[int, float | None]:
    """Cosine similarity of each ranked chunk to the query; None for a chunk not embedded yet."""
    cosines = collection.cosines(_resolved(vector), [i for i, _ in ranked])
    return {i: cosines.get(i) for i, _ in ranked}


def _mostly_code(collection: Collection, top: list[tuple[int, float]]) -> bool:
    labels = collection.chunk_labels([i for i, _ in top])
    return sum(kind == "code" for _, _, kind in labels.values()) * 2 > len(top)


def keyword_peak(keyword: list[tuple[int, float]], depth: int = 10) -> float:
    """How far BM25's best candidate stands above its 10th, relative to the best: 0 (flat) to 1."""
    if not keyword or keyword[0][1] <= 0:
        return 0.0
    top, last = keyword[0][1], keyword[min(depth, len(keyword)) - 1][1]
    return (top - last) / top


def rerank(
    collection: Collection, fused: list[tuple[int, float]], shape, settings: AutoSettings
) -> list[tuple[int, float]]:
    """Add the signals' adjustments to the fused scores of the top candidates."""
    from semsearch.search import signals

    head, tail = fused[: settings.rerank_depth], fused[settings.rerank_depth :]
    labels = collection.chunk_labels([i for i, _ in head])
    candidates = [signals.Candidate(i, s, *labels[i]) for i, s in head if i in labels]
    # Coherence is for source files (many small definitions); on prose it would favour long overview pages.
    bonus = signals.coherence([c for c in candidates if c.kind == "code"]) if settings.coherence else {}
    wanted = settings.declares and shape.definition_kind
    texts = {i: r.text for i, r in collection.chunks([c.chunk_id for c in candidates]).items()} if wanted else {}
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


def best_per_file(ranked: list[tuple[int, float]], paths: dict[int, str]) -> list[tuple[int, float]]:
    """Each file's best chunk, in ranking order (chunks with no path, deleted meanwhile, are left out)."""
    seen: set[str] = set()
    best = []
    for chunk_id, score in ranked:
        path = paths.get(chunk_id)
        if path is not None and path not in seen:
            seen.add(path)
            best.append((chunk_id, score))
    return best
