"""Synthetic vectors for the vector-store tests."""

from __future__ import annotations

import numpy as np

DIMS = 32


def clustered(count: int, seed: int = 0, *, topics: int = 20, noise: float = 0.3) -> np.ndarray:
    """Unit vectors around `topics` centres, like embeddings of a corpus with a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, DIMS))
    vectors = centres[rng.integers(0, topics, count)] + noise * rng.standard_normal((count, DIMS))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
