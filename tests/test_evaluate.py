"""Evaluation metrics agree with trec_eval; the eval command runs a BEIR folder end to end."""

from __future__ import annotations

import json

import pytest
import pytrec_eval
from click.testing import CliRunner

from semsearch.cli import cli
from semsearch.embed.local import LocalEmbedder
from semsearch.embed.ollama import OllamaEmbedder
from semsearch.evaluate import load_beir, mrr_at, ndcg_at, recall_at
from semsearch.index import Index
from tests.embed.fake_ollama import fake_ollama

QRELS = {"q1": {"a": 1, "b": 2, "z": 1}, "q2": {"c": 1}, "q3": {"d": 1}}
RUN = {
    "q1": {"b": 0.9, "x": 0.8, "a": 0.8, "y": 0.5, **{f"n{i}": 0.1 - i / 1000 for i in range(120)}},
    "q2": {"x": 3.0, "y": 2.0, **{f"n{i}": 1.0 for i in range(12)}, "c": 0.5},  # ties, and c below rank 10
    "q3": {},
}


def test_metrics_match_pytrec_eval():
    evaluator = pytrec_eval.RelevanceEvaluator(QRELS, {"ndcg_cut.10", "recall.100", "recip_rank"})
    reference = evaluator.evaluate(RUN)
    mean = {m: sum(q[m] for q in reference.values()) / len(reference) for m in ("ndcg_cut_10", "recall_100")}
    assert ndcg_at(RUN, QRELS, 10) == pytest.approx(mean["ndcg_cut_10"], abs=1e-9)
    assert recall_at(RUN, QRELS, 100) == pytest.approx(mean["recall_100"], abs=1e-9)
    # trec_eval's recip_rank has no cutoff; with every first hit inside the top 10 the two agree.
    top10 = {"q1": RUN["q1"], "q3": {}}
    ref = pytrec_eval.RelevanceEvaluator({q: QRELS[q] for q in top10}, {"recip_rank"}).evaluate(top10)
    assert mrr_at(top10, {q: QRELS[q] for q in top10}, 10) == pytest.approx(
        sum(v["recip_rank"] for v in ref.values()) / 2, abs=1e-9
    )


def make_beir(root):
    docs = [
        ("d1", "Volcanoes", "Magma rises through the crust and erupts as lava from volcanoes."),
        ("d2", "Photosynthesis", "Plants turn sunlight, water and carbon dioxide into sugar and oxygen."),
        ("d3", "Tides", "The moon's gravity pulls the oceans, causing high and low tides twice a day."),
        ("d4", "Vaccines", "Vaccines train the immune system to recognise a pathogen without disease."),
    ]
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w") as f:
        for doc_id, title, text in docs:
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    queries = {"q1": "how do plants make sugar from light", "q2": "why does the sea rise and fall", "q3": "lava"}
    with (root / "queries.jsonl").open("w") as f:
        for qid, text in queries.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\nq3\td1\t1\n")
    return root


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_eval_command_scores_a_tiny_beir_folder(tmp_path, mode, monkeypatch):
    monkeypatch.setenv("SEMSEARCH_EMBEDDER", "local")
    data = make_beir(tmp_path / "tiny")
    run_file = tmp_path / "run.trec"
    args = ["eval", str(data), "--mode", mode, "--index", str(tmp_path / "idx"), "--json", "--run-file", str(run_file)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["queries"] == 3 and scores["mode"] == mode
    # Dense gets all three right; a single shared word ("rises") can mislead keyword and hybrid once.
    assert scores["ndcg_at_10"] == pytest.approx(1.0) if mode == "dense" else scores["ndcg_at_10"] > 0.3
    first = run_file.read_text().splitlines()[0].split()
    assert first[1] == "Q0" and first[3] == "1" and first[5] == "semsearch"


def test_the_corpus_index_is_reused_on_a_second_run(tmp_path):
    dataset = load_beir(make_beir(tmp_path / "tiny"), "test")
    with Index(tmp_path / "idx", embedder=LocalEmbedder(), chunk_tokens=256) as index:
        assert index.add_texts(dataset.documents()).new == 4
        again = index.add_texts(dataset.documents())
        assert (again.new, again.unchanged, again.chunks_embedded) == (0, 4, 0)


def test_missing_qrels_split_is_a_clear_error(tmp_path):
    data = make_beir(tmp_path / "tiny")
    result = CliRunner().invoke(cli, ["eval", str(data), "--split", "dev"])
    assert result.exit_code == 1 and "no relevance judgments for split 'dev'" in result.output


def test_query_and_document_prefixes_reach_the_server(tmp_path):
    """nomic-embed-text needs 'search_document: ' on chunks and 'search_query: ' on queries."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Tides\n\nThe moon pulls the oceans.\n")
    with (
        fake_ollama([], dims=768) as (url, fake),
        Index(tmp_path / "idx", embedder=OllamaEmbedder(url, "nomic-embed-text"), model="nomic-embed-text") as index,
    ):
        index.add([docs])
        index.search("why are there tides", k=1)
        sent = [text for request in fake.requests for text in request["input"]]
        assert sent[0] == "search_document: Tides\n\nThe moon pulls the oceans."
        assert sent[-1] == "search_query: why are there tides"
        assert {r["model"] for r in fake.requests} == {"nomic-embed-text"}
