"""Exploring an index from Python: its vectors, a map with named clusters, results as a table in Jupyter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import semsearch
from semsearch.explore import default_clusters, distinctive_words, kmeans

ROOT = Path(__file__).resolve().parents[1]


def test_kmeans_finds_separated_groups_and_is_reproducible():
    rng = np.random.default_rng(1)
    centres = np.eye(3, 16) * 5
    points = np.vstack([c + rng.normal(0, 0.3, (40, 16)) for c in centres])
    labels, found = kmeans(points, 3, seed=0)
    assert found.shape == (3, 16)
    groups = [set(labels[n * 40 : (n + 1) * 40].tolist()) for n in range(3)]
    assert all(len(g) == 1 for g in groups) and len(set.union(*groups)) == 3  # one cluster per group
    assert np.array_equal(kmeans(points, 3, seed=0)[0], labels)
    assert kmeans(points[:2], 5)[0].tolist() in ([0, 1], [1, 0])  # never more clusters than points


def test_distinctive_words_name_what_sets_a_group_apart_in_its_most_common_form():
    docs = [
        ["certificate", "certificates", "certificates", "tls", "server", "server"],
        ["docker", "container", "containers", "image", "server", "server"],
    ]
    assert distinctive_words(docs, top=2) == [["certificates", "tls"], ["container", "docker"]]
    assert default_clusters(96) == 3 and default_clusters(338) == 6 and default_clusters(10**6) == 8


@pytest.fixture(scope="module")
def handbook(tmp_path_factory):
    index = semsearch.Index(tmp_path_factory.mktemp("explore") / "index", embedder="local")
    index.add([ROOT / "data"])
    yield index
    index.close()


def test_chunk_vectors_are_every_chunk_as_a_unit_row(handbook):
    ids, vectors = handbook.chunk_vectors()
    assert len(ids) == handbook.status()["chunks"] == len(set(ids.tolist()))
    assert vectors.shape == (len(ids), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)


def test_the_map_places_every_chunk_and_names_its_clusters(handbook):
    corpus = handbook.map()
    assert list(corpus.columns) == ["chunk_id", "path", "folder", "heading", "x", "y", "cluster", "label", "typical"]
    assert len(corpus) == handbook.status()["chunks"]
    assert corpus[["x", "y"]].min().min() == 0 and corpus[["x", "y"]].max().max() == 1
    assert not corpus["path"].str.startswith("/").any()  # relative to the folder the files share
    logging = corpus[corpus["path"] == "docs/ops/logging.md"]
    assert set(logging["folder"]) == {"docs/ops"} and "Logging > Rotating the logs" in set(logging["heading"])
    labels = corpus.groupby("cluster")["label"].first()
    assert len(labels) == default_clusters(len(corpus)) and labels.is_unique
    sizes = corpus["cluster"].value_counts().sort_index()
    assert sizes.is_monotonic_decreasing  # cluster 0 is the largest
    for cluster, label in labels.items():
        words = label.split(" · ")
        assert len(words) == 3
        members = corpus[corpus["cluster"] == cluster]
        text = (
            " ".join(members["heading"]).lower()
            + " "
            + " ".join(handbook.to_dataframe().set_index("chunk_id").loc[members["chunk_id"], "text"]).lower()
        )
        assert all(w in text for w in words), (label, cluster)  # named by its own words
        assert members["typical"].iloc[0] in set(members["heading"])
    assert len(handbook.map(5, max_points=40)) == 40 and handbook.map(5)["cluster"].nunique() == 5


def test_search_results_show_as_an_escaped_table_in_jupyter(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evil.md").write_text("# Quokka <b>care</b>\n\nFeed the quokka <script>alert(1)</script> leaves.\n")
    with semsearch.Index(tmp_path / "index", embedder="local") as index:
        index.add([corpus])
        hits = index.search("quokka", k=3)
        assert isinstance(hits, list) and isinstance(hits, semsearch.SearchResults)
        table = hits._repr_html_()
    assert table.startswith("<table>") and table.count("<tr>") == 2  # a header and one result
    assert "Quokka &lt;b&gt;care&lt;/b&gt;" in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "<script>" not in table and "<b>" not in table
