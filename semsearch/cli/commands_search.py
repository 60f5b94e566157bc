"""Commands that search an index or score retrieval: query, eval."""

from __future__ import annotations

import click

from semsearch.cli.errors import friendly_errors
from semsearch.cli.options import (
    EMBEDDER_HELP,
    MODE_HELP,
    SEARCH_DEFAULT_MODE,
    SEARCH_MODES,
    announce,
    check_index_folder,
    index_options,
    open_index,
)
from semsearch.cli.output import print_files, print_hits, printable, result_record
from semsearch.cli.progress import ProgressBar
from semsearch.words import plural


@click.command()
@click.argument("text", required=False)
@index_options
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="How many results.")
@click.option("--path", "path_glob", metavar="GLOB", help="Only results from files matching GLOB (e.g. 'docs/*.md').")
@click.option("--min-score", type=float, default=None, help="Drop results scoring below this.")
@click.option("--mode", type=click.Choice(SEARCH_MODES), default=SEARCH_DEFAULT_MODE, show_default=True, help=MODE_HELP)
@click.option(
    "--queries",
    "queries_file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Answer many queries (lines, or JSONL with id/text; any encoding; '-': standard input).",
)
@click.option("--files", "by_file", is_flag=True, help="One line per file: its best chunk's lines and score.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines output, one result per line.")
@friendly_errors
def query(text, index_name, model, embedder_spec, k, path_glob, min_score, mode, queries_file, by_file, as_json):
    """Search the index for TEXT by meaning."""
    from semsearch.errors import SemsearchError

    if (text is None) == (queries_file is None):
        raise SemsearchError("give a query TEXT or --queries FILE (one of the two)")
    if text is not None and not text.strip():
        raise SemsearchError("the query is empty")
    if text is not None and printable(text) != text:
        raise SemsearchError(f"the query is not valid UTF-8 text: {printable(text)}")
    queries = None
    if queries_file is not None:
        from semsearch.cli.queries import read_queries

        queries = read_queries(queries_file)  # checked whole before the first search
    with open_index(index_name, model, embedder_spec, create=False) as idx:
        if mode != "keyword":
            announce(idx)
        options = {"mode": mode, "path_glob": path_glob, "min_score": min_score, "files": by_file}
        if queries is not None:
            answer_queries(idx, queries, k, **options)
        elif by_file:
            print_files(idx.search(text, k, **options), as_json)
        else:
            print_hits(idx.search(text, k, **options), as_json)


def answer_queries(idx, queries, k: int, **options) -> None:
    """One JSON line per query: its id, text and results."""
    import json

    for item in queries:
        results = [result_record(rank, h) for rank, h in enumerate(idx.search(item.text, k, **options), 1)]
        click.echo(json.dumps({"id": item.id, "query": item.text, "results": results}))


@click.command(name="eval")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="test", show_default=True, help="Which qrels/<split>.tsv to score.")
@click.option("--mode", type=click.Choice(SEARCH_MODES), default=SEARCH_DEFAULT_MODE, show_default=True, help=MODE_HELP)
@click.option(
    "-k", "k", type=click.IntRange(min=1), default=100, show_default=True, help="Documents retrieved per query."
)
@click.option(
    "--index",
    "index_path",
    metavar="PATH",
    callback=check_index_folder,
    help="Where to build/reuse the corpus index (default: cache dir).",
)
@click.option("-m", "--model", default="all-minilm", show_default=True, help="Embedding model.")
@click.option("--embedder", "embedder_spec", metavar="SPEC", envvar="SEMSEARCH_EMBEDDER", help=EMBEDDER_HELP)
@click.option(
    "--chunk-tokens",
    type=click.IntRange(min=16),
    default=256,
    show_default=True,
    help="Chunk size for the corpus index.",
)
@click.option("--run-file", type=click.Path(dir_okay=False), help="Also write the TREC run file here.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as one JSON object.")
@friendly_errors
def eval_command(dataset, split, mode, k, index_path, model, embedder_spec, chunk_tokens, run_file, as_json):
    """Score retrieval on a BEIR-format DATASET folder (nDCG@10, Recall@100, MRR@10)."""
    import json

    from semsearch.evaluate import evaluate, write_run

    with ProgressBar("Indexing corpus") as progress:
        result = evaluate(
            dataset,
            split=split,
            mode=mode,
            k=k,
            index_path=index_path,
            model=model,
            embedder=embedder_spec,
            chunk_tokens=chunk_tokens,
            on_progress=progress,
        )
    if run_file:
        write_run(result.run, run_file)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(
        f"{result.dataset} {result.split} ({plural(result.queries, 'query', 'queries')}), {result.mode}: "
        f"nDCG@10 {result.ndcg_at_10:.4f}  Recall@100 {result.recall_at_100:.4f}  MRR@10 {result.mrr_at_10:.4f}  "
        f"(indexing {result.index_seconds:.1f}s, search {result.search_seconds:.1f}s)"
    )
