"""The numpy encoder that embeds a process's first query: ONNX Runtime's vectors, without loading it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from semsearch.embed.local import LocalEmbedder, model_files, numpy_encoder, resolve_local_model

TEXTS = [
    "how do I rotate the logs?",
    "x",
    "0-dimensional biomaterials show inductive properties " * 12,  # ~100 tokens
    "Ünïcödé, 日本語 and emoji 🎉 in one query",
]


def test_numpy_encoder_matches_onnx_runtime():
    embedder = LocalEmbedder()
    spec = resolve_local_model("all-minilm")
    encoder = numpy_encoder(spec, model_files(spec))
    reference = embedder.encode(TEXTS, normalized=False).vectors
    for ids, expected in zip(embedder.prepare(TEXTS), reference, strict=True):
        mine = encoder.pooled(ids)
        assert mine.dtype == np.float32
        np.testing.assert_allclose(mine, expected, atol=2e-5)


SCRIPT = """
import json, sys
from semsearch.index import Index
with Index(sys.argv[1], embedder="local", create=False) as index:
    first = index.search("rotate the log files", k=1)[0]
    loaded_after_first = sorted(m for m in ("onnxruntime", "faiss") if m in sys.modules)
    second = index.search("rotate the log files", k=1)[0]
print(json.dumps([first.path, first.score, loaded_after_first, second.path, second.score,
                  "onnxruntime" in sys.modules]))
"""


def test_a_process_first_query_loads_neither_onnx_runtime_nor_faiss(tmp_path):
    """A one-shot query embeds in numpy and scans the mapped vector file in numpy (store.vectors.map_flat_file)."""
    from semsearch.index import Index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "logs.md").write_text("# Logs\n\nRotate the log files every night with logrotate.\n")
    (docs / "cats.md").write_text("# Cats\n\nCats sleep most of the day.\n")
    with Index(tmp_path / "index", embedder="local") as index:
        index.add([docs])
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "index")], capture_output=True, text=True,
                         check=True)  # fmt: skip
    path, score, loaded_after_first, second_path, second_score, loaded = json.loads(out.stdout)
    assert path == second_path and path.endswith("logs.md")
    assert abs(score - second_score) < 1e-5  # the same vector, whichever runtime made it
    assert loaded_after_first == []
    assert loaded  # the second query runs on ONNX Runtime, faster once loaded
