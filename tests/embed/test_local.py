"""The in-process all-minilm gives Ollama's vectors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from semsearch.cli import cli
from semsearch.embed import local
from semsearch.embed.local import LocalEmbedder
from semsearch.errors import ContextLengthError, InvalidInputError, ModelIntegrityError, ModelNotFoundError
from tests.serve.test_api import GRASS, SKY

LONG = " ".join(f"word{i % 97}" for i in range(1000))


@pytest.fixture(scope="module")
def embedder():
    return LocalEmbedder()


def test_reference_vectors_match(embedder):
    result = embedder.encode(["Why is the sky blue?", "Why is the grass green?"])
    assert result.vectors.shape == (2, 384) and result.vectors.dtype == np.float32
    assert result.vectors[0, :10] == pytest.approx(SKY, abs=1e-3)
    assert result.vectors[1, :10] == pytest.approx(GRASS, abs=1e-3)
    assert np.linalg.norm(result.vectors, axis=1) == pytest.approx([1, 1], abs=1e-5)
    assert result.token_counts == [8, 8] and result.prompt_eval_count == 16


def test_same_text_alone_and_in_a_mixed_batch_agree(embedder):
    text = "The quick brown fox jumps over the lazy dog."
    alone = embedder.embed([text])[0]
    batch = [LONG, "short", text, "a medium length sentence about indexing folders " * 3, ""]
    inside = embedder.embed(batch)[2]
    assert float(alone @ inside) >= 0.99999


def test_long_text_is_cut_to_the_context_by_default(embedder):
    ids = local.load_tokenizer(embedder.spec).encode(LONG).ids
    first_256 = local.load_tokenizer(embedder.spec).decode(ids[1:255])
    default = embedder.encode([LONG])
    assert default.token_counts == [256]
    assert float(default.vectors[0] @ embedder.embed([first_256])[0]) > 0.9999


def test_long_text_with_truncation_off_is_an_error(embedder):
    with pytest.raises(ContextLengthError, match="exceeds the context length"):
        embedder.encode([LONG], truncate=False)


def test_num_ctx_changes_the_context(embedder):
    assert embedder.encode([LONG], num_ctx=64).token_counts == [64]
    assert LocalEmbedder(num_ctx=512).encode([LONG]).token_counts == [512]


def test_empty_list_gives_an_empty_result(embedder):
    assert embedder.embed([]).shape == (0, 384)


def test_non_string_item_names_its_index(embedder):
    with pytest.raises(InvalidInputError, match="item 1 is int"):
        embedder.embed(["ok", 3])


def test_unknown_model_is_ollamas_404():
    with pytest.raises(ModelNotFoundError) as info:
        LocalEmbedder("llama3")
    assert info.value.status == 404 and str(info.value) == 'model "llama3" not found, try pulling it first'


def test_dimensions_cut_and_renormalize(embedder):
    vectors = embedder.embed(["Why is the sky blue?"], dimensions=16)
    assert vectors.shape == (1, 16) and np.linalg.norm(vectors[0]) == pytest.approx(1, abs=1e-5)


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    files = local.model_files(local.LOCAL_MODELS["all-minilm"])
    copy = tmp_path / "model_files"
    shutil.copytree(files, copy)
    with (copy / "tokenizer.json").open("a") as f:
        f.write(" ")
    monkeypatch.setattr(local, "model_files", lambda spec: copy)
    monkeypatch.setenv("SEMSEARCH_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ModelIntegrityError, match="expected be50c3628f2b"):
        local.LocalModel(local.LOCAL_MODELS["all-minilm"])


def test_embed_command_prints_an_api_embed_response(monkeypatch):
    monkeypatch.setenv("SEMSEARCH_EMBEDDER", "local")
    result = CliRunner().invoke(cli, ["embed", "Why is the sky blue?", "Why is the grass green?"])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.stdout)
    assert reply["model"] == "all-minilm" and reply["prompt_eval_count"] == 16
    assert reply["embeddings"][1][:10] == pytest.approx(GRASS, abs=1e-3)
    assert "in-process all-minilm" in result.stderr


def test_embed_command_over_long_input_is_one_line_error(monkeypatch):
    monkeypatch.setenv("SEMSEARCH_EMBEDDER", "local")
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "embed", "--no-truncate", LONG], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "Error: the input length exceeds the context length"
    assert "Traceback" not in result.stderr


def test_embed_command_reads_stdin_and_cuts_dimensions(monkeypatch):
    monkeypatch.setenv("SEMSEARCH_EMBEDDER", "local")
    result = CliRunner().invoke(cli, ["embed", "--stdin", "--dimensions", "32"], input="one\ntwo\n\nthree\n")
    reply = json.loads(result.stdout)
    assert [len(v) for v in reply["embeddings"]] == [32, 32, 32]


def test_int8_variant_stays_close_to_fp32_and_has_its_own_graph(embedder):
    int8 = LocalEmbedder("all-minilm:int8")
    texts = ["Why is the sky blue?", "Rotate the logs daily and keep fourteen compressed files.", LONG]
    cosine = (embedder.embed(texts) * int8.embed(texts)).sum(axis=1)
    assert cosine.min() > 0.99 and cosine.max() < 0.99999  # close (FFN outputs kept fp32), but really quantized
    fp32_graph = local.onnx_graph_path(embedder.spec, local.model_files(embedder.spec))
    int8_graph = local.onnx_graph_path(int8.spec, local.model_files(int8.spec))
    assert int8_graph != fp32_graph and int8_graph.stat().st_size < 0.85 * fp32_graph.stat().st_size


@pytest.mark.parametrize("num_ctx", [1, 2, 3])
def test_tiny_num_ctx_keeps_the_first_content_token(embedder, num_ctx):
    """Ollama's integration test: num_ctx 1 embeds "why is the sky blue?" exactly as "why"."""
    cut = embedder.encode(["why is the sky blue?"], num_ctx=num_ctx)
    why = embedder.encode(["why"])
    assert cut.token_counts == [3] == why.token_counts  # [CLS] why [SEP]
    assert cut.vectors[0] == pytest.approx(why.vectors[0], abs=1e-6)


def test_tiny_num_ctx_leaves_an_empty_input_alone(embedder):
    assert local.truncate_ids([local.CLS_ID, local.SEP_ID], 1) == [local.CLS_ID, local.SEP_ID]
    assert local.truncate_ids([101, 7, 8, 9, 102], 4) == [101, 7, 8, 102]
    assert local.truncate_ids([101, 7, 8, 9, 102], 5) == [101, 7, 8, 9, 102]


@pytest.mark.parametrize("dimensions", [0, -3, 384, 1000])
def test_dimensions_outside_1_to_n_minus_1_leave_vectors_whole(embedder, dimensions):
    whole = embedder.embed(["Why is the sky blue?"])
    assert embedder.embed(["Why is the sky blue?"], dimensions=dimensions) == pytest.approx(whole, abs=1e-7)


def test_prepare_tokenizes_in_groups_without_changing_anything(embedder):
    texts = [f"text {i} " * (1 + i % 7) for i in range(local.TOKENIZE_GROUP * 2 + 5)] + [LONG]
    whole = [local.truncate_ids(x, 256) for x in embedder.loaded.tokenize(texts)]
    assert embedder.prepare(texts) == whole
    with pytest.raises(ContextLengthError):
        embedder.prepare(texts, truncate=False)  # the long text is in the last group
