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
    check_paths_exist,
    index_options,
    open_index,
)
from semsearch.cli.output import print_files, print_hits, printable, result_record, say
from semsearch.cli.progress import ProgressBar
from semsearch.words import plural


def typed_query_options(command):
    """--lex, --vec and --hyde: typed sub-queries, fused into one ranking (repeatable)."""
    helps = {
        "lex": "A keyword sub-query: identifiers and exact words (repeatable).",
        "vec": "A question for the embedding (repeatable).",
        "hyde": "A hypothetical answer passage (text or code), embedded as a document (repeatable).",
    }
    for kind in reversed(list(helps)):
        command = click.option(f"--{kind}", f"typed_{kind}", multiple=True, metavar="TEXT", help=helps[kind])(command)
    return command


def typed_subqueries(typed: dict) -> list:
    """The SubQuery list from --lex/--vec/--hyde, in that order."""
    if not any(typed.values()):
        return []
    from semsearch.search.subqueries import SubQuery

    return [SubQuery(kind, text) for kind in ("lex", "vec", "hyde") for text in typed.get(f"typed_{kind}", ())]


def refresh_paths(idx, paths) -> list[str]:
    """Bring the index of `paths` up to date (as `index` does, quietly) and return patterns matching only them."""
    from semsearch.cli.progress import DelayedProgress
    from semsearch.paths import PathPattern

    with DelayedProgress("Indexing") as progress:
        report = idx.add(paths, on_progress=progress)
    if report.new or report.changed or report.deleted:
        say(f"indexed {', '.join(map(printable, paths))}: {report.summary()}")
    return list(PathPattern.exactly(paths).patterns)


@click.command()
@click.argument("arguments", nargs=-1, metavar="[TEXT] [PATH]...")
@index_options
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="How many results.")
@click.option(
    "--path",
    "path_glob",
    metavar="PATTERN",
    help="Only results from files PATTERN selects: a folder and below (docs/ops), ops/*.md, *.pdf, **/test_*.py.",
)
@click.option(
    "--min-score",
    type=float,
    default=None,
    help="Drop results whose score is below this: the score shown, cosine similarity to the query "
    "(-1 to 1; BM25 in keyword mode).",
)
@click.option("--mode", type=click.Choice(SEARCH_MODES), default=SEARCH_DEFAULT_MODE, show_default=True, help=MODE_HELP)
@click.option(
    "--queries",
    "queries_file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Answer many queries (lines, or JSONL with id/text; any encoding; '-': standard input).",
)
@click.option("--files", "by_file", is_flag=True, help="One line per file: its best chunk's lines and score.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines output, one result per line.")
@typed_query_options
@friendly_errors
def query(
    arguments, index_name, model, embedder_spec, k, path_glob, min_score, mode, queries_file, by_file, as_json, **typed
):
    """Search the index for TEXT by meaning; with PATHs, bring their index up to date and search only them.

    With --lex/--vec/--hyde or --queries, every argument is a PATH.
    """
    from semsearch.errors import SemsearchError

    subqueries = typed_subqueries(typed)
    if subqueries and queries_file is not None:
        raise SemsearchError("give --lex/--vec/--hyde sub-queries or --queries FILE, not both")
    if subqueries or queries_file is not None:
        text, paths = None, arguments
    elif arguments:
        text, paths = arguments[0], arguments[1:]
    else:
        raise SemsearchError("give a query TEXT, --lex/--vec/--hyde sub-queries or --queries FILE")
    if text is not None and not text.strip():
        raise SemsearchError("the query is empty")
    if text is not None and printable(text) != text:
        raise SemsearchError(f"the query is not valid UTF-8 text: {printable(text)}")
    if paths and path_glob:
        raise SemsearchError("give PATH arguments or --path, not both")
    check_paths_exist(paths)
    queries = None
    if queries_file is not None:
        from semsearch.cli.queries import read_queries

        queries = read_queries(queries_file)  # checked whole before the first search
    with open_index(index_name, model, embedder_spec, create=bool(paths)) as idx:
        if mode != "keyword" or subqueries:
            announce(idx)
        if paths:
            path_glob = refresh_paths(idx, paths)
        options = {"mode": mode, "path": path_glob, "min_score": min_score, "files": by_file}
        if subqueries:
            options["queries"] = subqueries
        if queries is not None:
            answer_queries(idx, queries, k, **options)
        elif by_file:
            print_files(idx.search(text, k, **options), as_json)
        else:
            print_hits(idx.search(text, k, **options), as_json)


@click.command()
@click.argument("target", metavar="PATH[:LINE]")
@index_options
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="How many files.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines output, one file per line.")
@friendly_errors
def related(target, index_name, model, embedder_spec, k, as_json):
    """Indexed files most like PATH (or like its passage at LINE), each with its closest passage."""
    import os
    import re

    path, line = target, None
    if (match := re.fullmatch(r"(.+):(\d+)", target)) and not os.path.exists(target):
        path, line = match[1], int(match[2])
    with open_index(index_name, model, embedder_spec, create=False) as idx:
        print_files(idx.related(path, line, k), as_json)


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
