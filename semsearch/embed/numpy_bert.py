"""The embedded model's encoder in plain numpy, for a process's first query.

A one-shot `semsearch query` spent a third of its time (0.14 s of 0.42 s) importing ONNX Runtime
and creating its session, to embed a dozen tokens. Here numpy runs them through the same weights,
mapped from the installed safetensors file: 8 ms for the first query. Only the first query of a
process comes here (semsearch.embed.local): ONNX Runtime, once loaded, is the better engine for
the rest, at 6 ms against 13 ms for a SciFact question beside a keyword search, whose core numpy's
many small steps, holding the GIL, would share (warm `auto` p50 20 ms against 40 ms,
benchmarks/README.md, row 13). The vectors agree with ONNX Runtime's to about 1e-6
(tests/embed/test_numpy_bert.py).
"""

from __future__ import annotations

import numpy as np


class NumpyBert:
    """Mean-pooled BERT sentence vectors (unnormalized), one text at a time, as the ONNX graph computes them."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict):
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self.weights = {name.removeprefix(prefix): value for name, value in weights.items()}
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))

    def pooled(self, ids: list[int]) -> np.ndarray:
        w = self.weights
        count = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:count]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        width = x.shape[1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._dense(x, f"{p}attention.self.{part}") for part in ("query", "key", "value"))
            q = q.reshape(count, self.heads, width).transpose(1, 0, 2)
            k = k.reshape(count, self.heads, width).transpose(1, 2, 0)
            v = v.reshape(count, self.heads, width).transpose(1, 0, 2)
            scores = q @ k / np.float32(np.sqrt(width))
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(count, -1)
            attended = self._dense(context, f"{p}attention.output.dense") + x
            attended = self._norm(attended, f"{p}attention.output.LayerNorm")
            hidden = _gelu(self._dense(attended, f"{p}intermediate.dense"))
            x = self._norm(self._dense(hidden, f"{p}output.dense") + attended, f"{p}output.LayerNorm")
        return x.mean(axis=0)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        """A torch Linear, weights stored (out, in): W @ xᵀ is the faster product for a few tokens (5.5 ms against
        9 ms for the 36 matrices of all-minilm, OpenBLAS)."""
        return (self.weights[f"{name}.weight"] @ x.T).T + self.weights[f"{name}.bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.weights[f"{name}.weight"] + self.weights[f"{name}.bias"]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), with erf to 1.5e-7 (Abramowitz and Stegun 7.1.26): numpy has no erf."""
    z = np.abs(x) / np.float32(np.sqrt(2.0))
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return (0.5 * x * (1.0 + erf)).astype(np.float32)
