"""all-minilm:static: distilled on this machine from all-minilm, cached, served in-process.

The tests distil only the SLICE most frequent tokens ($SEMSEARCH_STATIC_TOKENS), a few seconds
of model time; the texts below use only words inside that slice.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from semsearch.embed import get_embedder, local, static
from semsearch.embed.local import LOCAL_MODELS
from semsearch.embed.static import STATIC_MODELS, StaticEmbedder
from tests.console import cli_env, semsearch

SLICE = 3000  # the most frequent tokens: "the" ... "vote" (ids up to ~4,000 of 30,522)
SPEC = STATIC_MODELS["all-minilm:static"]
FILES = {
    "music.md": "The band played a new song from their album at the music festival.",
    "football.md": "The team won the league game. Every player trained hard all season.",
    "river.md": "Ships sailed up the river from the sea, carrying water and food to the city.",
    "election.md": "The party won the election and formed a new government after the vote.",
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache dir of the tests' own, sharing the already built ONNX graph (building it again is not tested here)."""
    root = tmp_path_factory.mktemp("cache")
    spec = LOCAL_MODELS["all-minilm"]
    graph = local.onnx_graph_path(spec, local.model_files(spec))
    (root / "models").mkdir()
    (root / "models" / graph.name).symlink_to(graph)
    return root


@pytest.fixture
def slice_env(cache, monkeypatch):
    monkeypatch.setenv("SEMSEARCH_CACHE_DIR", str(cache))
    monkeypatch.setenv(static.TOKENS_ENV, str(SLICE))
    static._TABLES.clear()
    yield
    static._TABLES.clear()


def test_distilling_a_slice_fills_its_rows_and_is_cached(slice_env, cache, monkeypatch, capfd):
    table = static.load_table(SPEC, SLICE)
    path = static.table_path(SPEC, LOCAL_MODELS["all-minilm"], SLICE)
    assert path.parent == cache / "models" and path.exists()
    ids = static.vocabulary_ids(local.load_tokenizer(LOCAL_MODELS["all-minilm"]), SLICE)
    assert table.shape == (30522, 256) and table.dtype == np.float32 and len(ids) == SLICE
    filled = np.flatnonzero(np.abs(table).sum(axis=1))
    assert set(filled) == set(ids) - {static.UNK_ID}  # [unused*] tokens and the rest of the vocabulary stay zero
    # Frequent tokens weigh less (Zipf/SIF): "," (rank ~12) counts for far less than "vote" (rank ~2,800).
    comma, vote = (local.load_tokenizer(LOCAL_MODELS["all-minilm"]).token_to_id(w) for w in (",", "vote"))
    assert np.linalg.norm(table[comma]) < 0.1 * np.linalg.norm(table[vote])
    capfd.readouterr()

    # A second process-level load reads the file and never runs the transformer.
    static._TABLES.clear()
    monkeypatch.setattr(static, "load_model", lambda *a, **k: pytest.fail("distilled again"))
    again = static.load_table(SPEC, SLICE)
    assert np.array_equal(again, table) and capfd.readouterr().err == ""


def test_a_damaged_cache_file_is_distilled_again(slice_env, capfd):
    static.load_table(SPEC, SLICE)
    path = static.table_path(SPEC, LOCAL_MODELS["all-minilm"], SLICE)
    good = np.load(path)
    path.write_bytes(b"not a numpy file")
    static._TABLES.clear()
    capfd.readouterr()
    assert np.array_equal(static.load_table(SPEC, SLICE), good)
    assert "semsearch: distilling all-minilm:static" in capfd.readouterr().err
    assert np.array_equal(np.load(path), good)


def test_vectors_are_normalized_means_of_token_vectors(slice_env):
    embedder = StaticEmbedder()
    assert (embedder.model, embedder.dimensions, embedder.limit) == ("all-minilm:static", 256, SLICE)
    texts = ["the river and the sea", "", "river sea", "the band played a song"]
    result = embedder.embed_result(texts)
    vectors = result.vectors
    assert vectors.shape == (4, 256) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1, 0, 1, 1], abs=1e-5)
    ids = local.load_tokenizer(LOCAL_MODELS["all-minilm"]).encode("the river and the sea", add_special_tokens=False).ids
    expected = embedder.table[ids].mean(axis=0)
    assert vectors[0] == pytest.approx(expected / np.linalg.norm(expected), abs=1e-6)
    assert result.token_counts == [5, 0, 2, 5]
    assert embedder.embed([texts[3]])[0] == pytest.approx(vectors[3], abs=1e-6)  # alone or in a batch: same
    assert float(vectors[0] @ vectors[2]) > float(vectors[0] @ vectors[3])
    assert embedder.count_tokens(["river sea"]) == [4]  # the base model's count, [CLS] and [SEP] included


def test_static_model_is_in_process_even_when_ollama_answers(monkeypatch, live_server):
    monkeypatch.delenv("SEMSEARCH_EMBEDDER", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", live_server)
    assert isinstance(get_embedder(model="all-minilm:static"), StaticEmbedder)
    assert isinstance(get_embedder(live_server, model="all-minilm:static"), StaticEmbedder)


def test_bad_token_limit_is_a_one_line_error(tmp_path, cache):
    env = cli_env(tmp_path / "home", SEMSEARCH_CACHE_DIR=str(cache), SEMSEARCH_STATIC_TOKENS="many")
    result = semsearch("embed", "-m", "all-minilm:static", "hello", env=env)
    assert result.returncode == 1
    assert result.stderr == "Error: invalid SEMSEARCH_STATIC_TOKENS 'many': expected a positive number of tokens\n"


def test_index_and_query_with_the_static_model_through_the_console_script(tmp_path, cache):
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text + "\n")
    # A slice of its own, so this process distils it: the first use shows it on stderr.
    env = cli_env(tmp_path / "home", SEMSEARCH_CACHE_DIR=str(cache), SEMSEARCH_STATIC_TOKENS=str(SLICE - 1))
    first = semsearch("index", str(folder), "-m", "all-minilm:static", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert lines[0] == "semsearch: embedding with in-process all-minilm:static (static token vectors distilled " \
                       f"from all-minilm, 256 dims, first {SLICE - 1:,} tokens only)"  # fmt: skip
    assert lines[1] == f"semsearch: distilling all-minilm:static from all-minilm's weights, once " \
                       f"(cached in {cache / 'models'})"  # fmt: skip
    assert lines[2].startswith(f"semsearch: distilled all-minilm:static ({SLICE - 1:,} tokens) in "), lines
    assert first.stdout.startswith("4 new, 0 changed")

    status = json.loads(semsearch("status", "--json", env=env).stdout)
    assert (status["model"], status["dimensions"]) == ("all-minilm:static", 256)

    (folder / "more.md").write_text("The army won the battle of the war.\n")
    second = semsearch("index", str(folder), "-m", "all-minilm:static", env=env)
    assert second.returncode == 0 and second.stderr.splitlines() == lines[:1]  # cached: no second distillation

    for question, expected in [
        ("which team won the league", "football.md"),
        ("a song by the band", "music.md"),
        ("ships on the river", "river.md"),
        ("who won the vote", "election.md"),
    ]:
        hits = semsearch("query", question, "--mode", "dense", "--json", "-k", "1", env=env)
        assert hits.returncode == 0, hits.stderr
        assert json.loads(hits.stdout.splitlines()[0])["path"].endswith(expected), (question, hits.stdout)

    refused = semsearch("index", str(folder), "-m", "all-minilm", env=env)
    assert refused.returncode == 1
    index_dir = tmp_path / "home" / "indexes" / "default"
    assert refused.stderr.splitlines()[-1] == (
        f"Error: index {index_dir} was built with model all-minilm:static (256 dims), not all-minilm; "
        "rebuild it with `semsearch index --reindex -m all-minilm PATH...` or choose another --index"
    )
    assert json.loads(semsearch("status", "--json", env=env).stdout)["files"] == 5  # nothing lost


def test_static_table_path_depends_on_weights_recipe_and_slice():
    base = LOCAL_MODELS["all-minilm"]
    full, part = static.table_path(SPEC, base, None), static.table_path(SPEC, base, 100)
    assert full != part and base.sha256["model.safetensors"][:16] in full.name
    assert f"-static-v{static.DISTILL_VERSION}-256d" in full.name and full.name.endswith(".npy")
    assert os.fspath(part).endswith("-n100.npy")
