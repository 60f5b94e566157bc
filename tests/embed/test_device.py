"""The in-process model on an NVIDIA GPU (`--embedder local:cuda`, `serve --device cuda`).

Where ONNX Runtime has the CUDA provider (the `semsearch[gpu]` extra on a GPU machine) these tests
compare the GPU's vectors with the CPU's; elsewhere they check the one-line error that says what to
install. Either way they run: there is no skip.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests

from semsearch.embed import get_embedder
from semsearch.embed.local import NO_CUDA, cuda_provider_available
from semsearch.errors import SemsearchError
from tests.conftest import running_server
from tests.console import cli_env, semsearch

TEXTS = ["how do I rotate the logs?", "FAISS keeps the vectors", "x" * 3000]
HAS_CUDA = cuda_provider_available()
INSTALL = "pip install 'semsearch[gpu]'"


def test_local_cuda_gives_the_cpu_vectors_or_says_what_to_install():
    cpu = get_embedder("local").embed(TEXTS)
    gpu = get_embedder("local:cuda")
    assert gpu.device == "cuda" and gpu.batch_size > 16  # a GPU is only busy with big batches
    if not HAS_CUDA:
        with pytest.raises(SemsearchError, match=INSTALL.replace("[", r"\[").replace("]", r"\]")):
            gpu.embed(TEXTS)
        return
    assert float(np.min(np.sum(gpu.embed(TEXTS) * cpu, axis=1))) >= 0.9999


def test_local_cpu_is_local_and_an_unknown_device_is_one_line():
    assert get_embedder("local:cpu").device == "cpu"
    with pytest.raises(SemsearchError, match="unknown device 'tpu'"):
        get_embedder("local:tpu")


def test_serve_on_cuda_answers_with_the_cpu_vectors_or_refuses_to_start(tmp_path):
    if HAS_CUDA:
        with running_server("--device", "cuda") as url:
            reply = requests.post(url + "/api/embed", json={"model": "all-minilm", "input": TEXTS}, timeout=60)
        vectors = np.asarray(reply.json()["embeddings"], np.float32)
        assert float(np.min(np.sum(vectors * get_embedder("local").embed(TEXTS), axis=1))) >= 0.9999
        return
    done = semsearch("serve", "--device", "cuda", "--port", "0", env=cli_env(tmp_path), timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"Error: {NO_CUDA}"]  # refused before binding: nothing else
    assert INSTALL in NO_CUDA
