"""The one interface every embedding backend speaks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from semsearch.errors import InvalidInputError


@dataclass
class EmbedResult:
    """Vectors plus the bookkeeping Ollama reports (token counts, durations in ns)."""

    vectors: np.ndarray  # float32, shape (n, dims)
    token_counts: list[int] = field(default_factory=list)
    total_duration: int = 0
    load_duration: int = 0

    @property
    def prompt_eval_count(self) -> int:
        return int(sum(self.token_counts))


def check_texts(texts: object) -> list[str]:
    """Validate an input list, naming the first bad item so a user can find it."""
    if isinstance(texts, str):
        return [texts]
    if not isinstance(texts, Sequence):
        raise InvalidInputError("invalid input type")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidInputError(f"input item {i} is {type(text).__name__}, expected a string")
    return list(texts)


def normalize(vectors: np.ndarray) -> np.ndarray:
    """L2-normalize rows the way Ollama does (norm floored at 1e-12)."""
    norms = np.sqrt((vectors.astype(np.float32) ** 2).sum(axis=1, keepdims=True))
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def cut_dimensions(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """Ollama's `dimensions`: keep the first N values, then renormalize.

    Applied only when 0 < N < the vector length; any other value leaves vectors whole, as
    Ollama does (no error).
    """
    if dimensions is None or vectors.size == 0 or not 0 < dimensions < vectors.shape[1]:
        return vectors
    return normalize(vectors[:, :dimensions])


class Embedder(ABC):
    """Turns texts into unit vectors; local model and HTTP client alike."""

    model: str
    dimensions: int
    context_length: int

    @property
    def description(self) -> str:
        """One line for stderr saying what is doing the embedding."""
        return f"{self.model} ({self.dimensions} dims)"

    @abstractmethod
    def embed_result(
        self, texts: Sequence[str], *, truncate: bool = True, dimensions: int | None = None
    ) -> EmbedResult:
        """Embed texts, returning vectors with token counts and timings."""

    def embed(self, texts: Sequence[str], *, truncate: bool = True, dimensions: int | None = None) -> np.ndarray:
        """Embed texts into an (n, dims) float32 array of unit vectors."""
        return self.embed_result(texts, truncate=truncate, dimensions=dimensions).vectors

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (a few short texts, someone waiting): `embed` unless a model has a faster way."""
        return self.embed(texts)

    @abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens included, before any truncation."""
