"""all-minilm:static: a static token-vector model distilled from all-minilm on the user's machine.

The model2vec recipe, in numpy and ONNX Runtime alone (no torch, nothing downloaded):

1. every vocabulary token goes through all-minilm as "[SEP] token [CLS]" (model2vec's order,
   which beat "[CLS] token [SEP]" here too: SciFact train dense nDCG@10 0.463 vs 0.408); its
   vector is the model's mean-pooled output for that input;
2. PCA (centered, eigendecomposition of the covariance) cuts the vectors to 256 dimensions;
3. each token is weighted by SIF, a / (a + p(token)), with p estimated from Zipf's law on the
   vocabulary rank (WordPiece vocabularies are roughly frequency-ordered), so frequent tokens
   ("the", punctuation) count for little in a text's mean.

A text's vector is then the normalized mean of its tokens' vectors: a table lookup, no network.
The table is distilled once (~30 s on two quiet cores) and cached beside the ONNX graph.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semsearch.embed.base import Embedder, EmbedResult, check_texts, cut_dimensions, normalize
from semsearch.embed.local import (
    CLS_ID,
    SEP_ID,
    LocalModelSpec,
    cache_dir,
    load_model,
    load_tokenizer,
    resolve_local_model,
    unload_model,
)
from semsearch.errors import SemsearchError

DISTILL_VERSION = 1  # bump when the recipe changes, so cached tables are rebuilt
DISTILL_BATCH = 512  # vocabulary tokens per model run (each input is 3 tokens long)
UNK_ID = 100  # [UNK] in all-minilm's vocabulary, as CLS_ID and SEP_ID in local.py
MAX_TOKENS = 512  # tokens of a text that count, as model2vec's default max_length
# Tokens no text produces: model2vec drops them from the vocabulary before PCA and ranking.
UNUSED_TOKEN = re.compile(r"\[unused\d+\]")
TOKENS_ENV = "SEMSEARCH_STATIC_TOKENS"  # distill only the N most frequent tokens: fast, for tests


@dataclass(frozen=True)
class StaticModelSpec:
    """A static model: the transformer it is distilled from and the recipe's settings."""

    name: str
    base: str  # a LOCAL_MODELS name
    dimensions: int = 256
    sif_coefficient: float = 1e-4
    context_length: int = 256  # for chunk sizing only: the same chunks as the base model


STATIC_MODELS: dict[str, StaticModelSpec] = {"all-minilm:static": StaticModelSpec("all-minilm:static", "all-minilm")}


def sif_weights(count: int, sif_coefficient: float) -> np.ndarray:
    """SIF weight per vocabulary rank, token frequencies estimated by Zipf's law (p ~ 1 / rank)."""
    inverse_rank = 1.0 / np.arange(2, count + 2, dtype=np.float64)
    probability = inverse_rank / inverse_rank.sum()
    return (sif_coefficient / (sif_coefficient + probability)).astype(np.float32)


def pca(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """Project rows on their top principal components (centered; signs fixed so the result is deterministic)."""
    if dimensions >= vectors.shape[0]:
        raise SemsearchError(f"PCA to {dimensions} dimensions needs more than {dimensions} tokens, got {len(vectors)}")
    data = vectors.astype(np.float64)
    centered = data - data.mean(axis=0)
    covariance = centered.T @ centered / (len(data) - 1)
    _, eigenvectors = np.linalg.eigh(covariance)  # ascending eigenvalues
    components = eigenvectors[:, ::-1][:, :dimensions]
    projected = centered @ components
    largest = np.abs(projected).argmax(axis=0)
    projected *= np.sign(projected[largest, np.arange(dimensions)])
    return projected.astype(np.float32)


def vocabulary_ids(tokenizer, limit: int | None = None) -> list[int]:
    """Token ids in rank order (the vocabulary's own order), without [unused*] tokens; the first `limit`."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    ids = sorted(i for token, i in vocab.items() if not UNUSED_TOKEN.fullmatch(token))
    return ids[:limit] if limit else ids


def distill(
    run: Callable[[list[list[int]]], np.ndarray],
    token_ids: list[int],
    vocab_size: int,
    spec: StaticModelSpec,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The (vocab_size, dims) table: `run` maps id lists ([SEP] tok [CLS]) to pooled vectors.

    Rows of tokens not in `token_ids` stay zero, so such tokens add nothing to a text's mean.
    """
    outputs = []
    for start in range(0, len(token_ids), DISTILL_BATCH):
        batch = token_ids[start : start + DISTILL_BATCH]
        outputs.append(run([[SEP_ID, token, CLS_ID] for token in batch]))
        if on_progress:
            on_progress(start + len(batch), len(token_ids))
    reduced = pca(np.concatenate(outputs), spec.dimensions)
    reduced *= sif_weights(len(token_ids), spec.sif_coefficient)[:, None]
    table = np.zeros((vocab_size, spec.dimensions), dtype=np.float32)
    table[token_ids] = reduced
    table[UNK_ID] = 0  # unknown pieces say nothing (model2vec drops them); a zero row adds nothing to a mean
    return table


def table_path(spec: StaticModelSpec, base: LocalModelSpec, limit: int | None) -> Path:
    """The cached table: keyed by the base weights, the recipe version, dimensions and the token limit."""
    key = base.sha256["model.safetensors"][:16]
    part = f"-n{limit}" if limit else ""
    return cache_dir() / "models" / f"{base.name}-{key}-static-v{DISTILL_VERSION}-{spec.dimensions}d{part}.npy"


def token_limit() -> int | None:
    """$SEMSEARCH_STATIC_TOKENS as a positive int, else None (the whole vocabulary)."""
    value = os.environ.get(TOKENS_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) == 0:
        raise SemsearchError(f"invalid {TOKENS_ENV} {value!r}: expected a positive number of tokens")
    return int(value)


class _StderrProgress:
    """First-use progress on stderr: a line redrawn in place on a terminal, else a start and an end line."""

    def __init__(self, spec: StaticModelSpec, path: Path):
        self.name, self.path = spec.name, path
        self.tty = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.shown = -1
        print(f"semsearch: distilling {spec.name} from {spec.base}'s weights, once (cached in {path.parent})",
              end="" if self.tty else "\n", file=sys.stderr, flush=True)  # fmt: skip

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // total
        if self.tty and percent != self.shown:
            self.shown = percent
            print(f"\rsemsearch: distilling {self.name}: {done:,} of {total:,} tokens ({percent}%)",
                  end="", file=sys.stderr, flush=True)  # fmt: skip

    def done(self, tokens: int) -> None:
        seconds = time.perf_counter() - self.started
        line = f"semsearch: distilled {self.name} ({tokens:,} tokens) in {seconds:.0f} s"
        print(("\r\033[K" if self.tty else "") + line, file=sys.stderr, flush=True)


_TABLES: dict[Path, np.ndarray] = {}
_TABLES_LOCK = threading.Lock()


def load_table(spec: StaticModelSpec, limit: int | None = None) -> np.ndarray:
    """The distilled table from the cache, distilling it on first use (once per machine, then a file read).

    A cache file that does not load, or has the wrong shape, is distilled again.
    """
    base = resolve_local_model(spec.base)
    path = table_path(spec, base, limit)
    with _TABLES_LOCK:
        if path in _TABLES:
            return _TABLES[path]
        tokenizer = load_tokenizer(base)
        shape = (tokenizer.get_vocab_size(), spec.dimensions)
        try:
            table = np.load(path) if path.exists() else None
        except (OSError, ValueError):
            table = None
        if table is None or table.shape != shape or table.dtype != np.float32:
            ids = vocabulary_ids(tokenizer, limit)
            progress = _StderrProgress(spec, path)
            table = distill(load_model(base).run, ids, shape[0], spec, progress)
            unload_model(base.name)  # the transformer is not needed after this; free its memory
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                np.save(f, table)
            os.replace(tmp, path)  # atomic: a concurrent process never sees half a file
            progress.done(len(ids))
        _TABLES[path] = table
        return table


class StaticEmbedder(Embedder):
    """A text's vector is the normalized mean of its tokens' distilled vectors: no network at all.

    Not Ollama's vectors (no server has them), so always embedded in this process.
    """

    def __init__(self, model: str = "all-minilm:static", *, vocabulary_limit: int | None = None):
        if model not in STATIC_MODELS:
            from semsearch.errors import ModelNotFoundError

            raise ModelNotFoundError(model)
        self.spec = STATIC_MODELS[model]
        self.base = resolve_local_model(self.spec.base)
        self.model = model
        self.dimensions = self.spec.dimensions
        self.context_length = self.spec.context_length
        self.limit = vocabulary_limit if vocabulary_limit is not None else token_limit()
        self._table: np.ndarray | None = None

    @property
    def description(self) -> str:
        part = f", first {self.limit:,} tokens only" if self.limit else ""
        return f"in-process {self.model} (static token vectors distilled from {self.spec.base}, " \
               f"{self.dimensions} dims{part})"  # fmt: skip

    @property
    def table(self) -> np.ndarray:
        if self._table is None:
            self._table = load_table(self.spec, self.limit)
        return self._table

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The base model's count, special tokens included, so chunks come out as the base model's."""
        tokenizer = load_tokenizer(self.base)
        return [len(e.ids) for e in tokenizer.encode_batch(check_texts(texts), add_special_tokens=True)]

    def embed_result(
        self, texts: Sequence[str], *, truncate: bool = True, dimensions: int | None = None
    ) -> EmbedResult:
        """Mean of token vectors (first MAX_TOKENS when truncating; no context limit otherwise)."""
        started = time.perf_counter_ns()
        first_load = self._table is None
        table = self.table
        load_duration = time.perf_counter_ns() - started if first_load else 0
        texts = check_texts(texts)
        encodings = load_tokenizer(self.base).encode_batch(texts, add_special_tokens=False)
        rows = [e.ids[:MAX_TOKENS] if truncate else e.ids for e in encodings]
        vectors = np.zeros((len(rows), self.dimensions), dtype=np.float32)
        for i, row in enumerate(rows):
            # One text at a time: its rows stay in cache. (Gathering a whole batch and np.add.reduceat-ing
            # along axis 0 was 15x slower on 2,000 abstracts.) The sum's direction is the mean's.
            if row:
                vectors[i] = table[row].sum(axis=0)
        vectors = cut_dimensions(normalize(vectors), dimensions)
        elapsed = time.perf_counter_ns() - started
        return EmbedResult(vectors, [len(r) for r in rows], elapsed, load_duration)
