"""Ranking helpers shared by the index and the evaluation: fusing keyword and dense results."""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[tuple[int, float]]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Fuse ranked lists of (id, score) by summing weight / (k + rank); best first.

    Rank-based, so it needs no score calibration between BM25 and cosine similarity.
    """
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (item, _score) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: -pair[1])


# Hybrid defaults, chosen on SciFact train queries (see benchmarks/QUALITY.md).
HYBRID_DEPTH = 100  # candidates taken from each ranking before fusing
HYBRID_RRF_K = RRF_K
HYBRID_WEIGHTS = (1.0, 1.0)  # dense, keyword


def fuse(rankings: Sequence[Sequence[tuple]], *, k: int | None = None, weights: Sequence[float] | None = None):
    """The hybrid mode's fusion of (dense, keyword) rankings."""
    return reciprocal_rank_fusion(rankings, k=k or HYBRID_RRF_K, weights=weights or HYBRID_WEIGHTS)
