"""Fusing ranked candidate lists (dense and keyword) into one ranking."""

from __future__ import annotations

from collections.abc import Sequence

# Hybrid defaults, chosen on SciFact train queries (benchmarks/QUALITY.md has the grid and the numbers).
HYBRID_DEPTH = 100  # candidates taken from each ranking before fusing
HYBRID_DENSE_WEIGHT = 0.4  # keyword gets the rest


def convex_fusion(rankings: Sequence[Sequence[tuple]], weights: Sequence[float]) -> list[tuple]:
    """Fuse ranked lists by a weighted sum of their min-max normalized scores; best first.

    Unlike rank-based fusion (RRF), a clear winner in one list (a high BM25 for a rare exact
    term, or a cosine far above the rest) keeps its margin. On SciFact train it beat every
    RRF setting tried (see benchmarks/QUALITY.md).
    """
    fused: dict = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if not ranking:
            continue
        scores = [score for _, score in ranking]
        low, high = min(scores), max(scores)
        for item, score in ranking:
            normalized = (score - low) / (high - low) if high > low else 1.0
            fused[item] = fused.get(item, 0.0) + weight * normalized
    return sorted(fused.items(), key=lambda pair: -pair[1])


def fuse(rankings: Sequence[Sequence[tuple]], *, dense_weight: float = HYBRID_DENSE_WEIGHT) -> list[tuple]:
    """The hybrid mode: fuse (dense, keyword) rankings."""
    dense, keyword = rankings
    return convex_fusion([dense[:HYBRID_DEPTH], keyword[:HYBRID_DEPTH]], [dense_weight, 1.0 - dense_weight])
