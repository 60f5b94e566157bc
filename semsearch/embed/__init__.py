"""Embedding backends behind one interface, and the choice between them.

Kept import-light: numpy and onnxruntime load only when a backend is used.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.embed.base import Embedder

LOCAL = "local"


def get_embedder(spec: str | None = None, model: str = "all-minilm", *, probe_timeout: float = 0.3) -> Embedder:
    """The embedder for `spec`: "local", an Ollama URL/host, several of them comma-separated, or None.

    "local:cuda" runs the in-process model on an NVIDIA GPU (the `semsearch[gpu]` extra); "local:cpu" is "local".

    Several hosts ("http://a:11434,http://b:11434") give a PooledEmbedder spreading batches over them.

    Default ($SEMSEARCH_EMBEDDER unset): the Ollama server at $OLLAMA_HOST (127.0.0.1:11434)
    when it answers within `probe_timeout` seconds, else the in-process model; always the
    in-process model for semsearch's own tags (all-minilm:int8), which Ollama does not have.
    A static model (all-minilm:static) is a table lookup in this process, whatever `spec` says.
    """
    from semsearch.embed.ollama import OllamaClient, OllamaEmbedder
    from semsearch.embed.static import STATIC_MODELS, StaticEmbedder

    if model in STATIC_MODELS:
        return StaticEmbedder(model)
    spec = spec if spec is not None else os.environ.get("SEMSEARCH_EMBEDDER") or None
    if spec and spec.startswith(LOCAL + ":"):
        from semsearch.embed.local import LocalEmbedder

        return LocalEmbedder(model, device=spec.partition(":")[2])
    if spec and "," in spec:
        from semsearch.embed.pool import PooledEmbedder, split_hosts

        hosts = split_hosts(spec)
        return OllamaEmbedder(hosts[0], model) if len(hosts) == 1 else PooledEmbedder(hosts, model)
    if spec and spec != LOCAL:
        return OllamaEmbedder(spec, model)
    from semsearch.embed.local import LOCAL_MODELS, LocalEmbedder

    if spec == LOCAL or (model in LOCAL_MODELS and LOCAL_MODELS[model].int8):
        return LocalEmbedder(model)
    client = OllamaClient()
    if client.is_running(probe_timeout):
        return OllamaEmbedder(client.base_url, model)
    return LocalEmbedder(model)


__all__ = ["LOCAL", "get_embedder"]
