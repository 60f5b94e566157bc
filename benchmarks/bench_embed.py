"""Row 1: in-process all-minilm tokens/s vs sentence-transformers on torch (same texts, same batch size).

    python benchmarks/bench_embed.py [--quick]

sentence-transformers is measured only when the optional `bench` extra is installed.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, cpu_flags, doc_texts, main, median_time  # noqa: E402


def sentence_transformers_model():
    """all-MiniLM-L6-v2 from the same pip-installed files, or None without the bench extra."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    from semsearch.embed.local import LOCAL_MODELS, model_files

    model = SentenceTransformer(str(model_files(LOCAL_MODELS["all-minilm"])), device="cpu")
    model.max_seq_length = 256
    return model


def run(quick: bool = False) -> list[Row]:
    import numpy as np

    from semsearch.embed.local import LocalEmbedder

    texts = doc_texts(64 if quick else 256)
    repeats = 1 if quick else 5
    batch = 32
    local = LocalEmbedder(batch_size=batch)
    tokens = sum(local.count_tokens(texts))
    local.embed(texts[:batch])  # load and warm up
    local_seconds = median_time(lambda: local.embed(texts), repeats)
    rows = []
    st = sentence_transformers_model()
    st_rate = None
    note = "sentence-transformers not installed (pip install -e '.[bench]')"
    if st is not None:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        st.encode(texts[:batch], batch_size=batch)
        st_seconds = median_time(lambda: st.encode(texts, batch_size=batch, normalize_embeddings=True), repeats)
        st_rate = tokens / st_seconds
        cosine = (local.embed(texts) * st.encode(texts, batch_size=batch, normalize_embeddings=True)).sum(axis=1)
        note = f"torch {torch.__version__}; cosine to sentence-transformers min {np.min(cosine):.5f}"
    rows.append(Row("1. local embedder vs sentence-transformers", tokens / local_seconds, st_rate, "tokens/s",
                    ">= 1.2x", note=note + f"; CPU flags: {cpu_flags()}"))  # fmt: skip

    int8 = LocalEmbedder("all-minilm:int8", batch_size=batch)
    int8.embed(texts[:batch])
    int8_seconds = median_time(lambda: int8.embed(texts), repeats)
    cosine = (local.embed(texts) * int8.embed(texts)).sum(axis=1)
    rows.append(Row("1b. all-minilm:int8 vs fp32 all-minilm", tokens / int8_seconds, tokens / local_seconds,
                    "tokens/s", ">= 1.3x", note=f"cosine to fp32 min {np.min(cosine):.4f}, mean {np.mean(cosine):.4f}; "
                    f"CPU flags: {cpu_flags()}"))  # fmt: skip
    return rows


if __name__ == "__main__":
    main(run, __doc__)
