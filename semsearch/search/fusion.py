"""Fusing ranked candidate lists (dense and keyword) into one ranking."""

from __future__ import annotations

from collections.abc import Collection, Sequence

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
        for item, score in normalized(ranking).items():
            fused[item] = fused.get(item, 0.0) + weight * score
    return sorted(fused.items(), key=lambda pair: -pair[1])


def normalized(ranking: Sequence[tuple]) -> dict:
    """Min-max normalized scores of a ranking (a flat one: 1.0 each)."""
    if not ranking:
        return {}
    scores = [score for _, score in ranking]
    low, high = min(scores), max(scores)
    return {item: (score - low) / (high - low) if high > low else 1.0 for item, score in ranking}


def fuse(
    rankings: Sequence[Sequence[tuple]],
    *,
    dense_weight: float = HYBRID_DENSE_WEIGHT,
    unembedded: Collection = frozenset(),
) -> list[tuple]:
    """The hybrid mode: fuse (dense, keyword) rankings.

    unembedded: keyword candidates that have no vector yet (a run is still embedding them). Their
    meaning is unknown, not poor: they take their keyword score for the dense half too, so a file
    indexed a moment ago ranks by its words instead of sinking below every embedded chunk.
    """
    dense, keyword = rankings[0][:HYBRID_DEPTH], rankings[1][:HYBRID_DEPTH]
    fused = convex_fusion([dense, keyword], [dense_weight, 1.0 - dense_weight])
    if not unembedded:
        return fused
    words = normalized(keyword)
    fused = [(item, score + dense_weight * words[item] if item in unembedded else score) for item, score in fused]
    return sorted(fused, key=lambda pair: -pair[1])
