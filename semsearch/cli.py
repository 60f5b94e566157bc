"""The `semsearch` command: thin click commands over the Python API.

Heavy imports (numpy, onnxruntime, faiss) happen inside commands, so `--help` is fast.
"""

from __future__ import annotations

import functools
import sys

import click

from semsearch import __version__

SEARCH_DEFAULT_MODE = "auto"  # semsearch.search.DEFAULT_MODE, spelled out so `--help` imports no numpy


def friendly_errors(command):
    """Turn any failure into one line on stderr and a non-zero exit status, never a traceback.

    SemsearchError says what went wrong (exit 1, or its exit_code: 75 for a busy index);
    OS and SQLite errors name the file; anything else is a bug, reported in one line
    (SEMSEARCH_DEBUG=1 shows the traceback).
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        import os
        import sqlite3

        from semsearch.errors import IndexInterrupted, SemsearchError

        try:
            return command(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except SemsearchError as e:
            error = click.ClickException(one_line(str(e)))
            error.exit_code = getattr(e, "exit_code", 1)
            raise error from None
        except OSError as e:  # disk full, permissions: one line naming the file, never a traceback
            if isinstance(e, BrokenPipeError):
                raise
            where = f"{printable(e.filename)}: " if e.filename else ""
            raise click.ClickException(one_line(f"{where}{e.strerror or e}")) from None
        except sqlite3.Error as e:
            raise click.ClickException(one_line(f"index database error: {e}")) from None
        except IndexInterrupted as e:
            click.echo(f"Interrupted: {e.summary()}.", err=True)
            sys.exit(130)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Exception as e:
            if os.environ.get("SEMSEARCH_DEBUG"):
                raise
            raise click.ClickException(
                one_line(f"unexpected {type(e).__name__}: {e} (a bug: SEMSEARCH_DEBUG=1 shows where)")
            ) from None

    return wrapper


def one_line(message: str) -> str:
    return " ".join(printable(message).split()) or "failed"


def printable(text) -> str:
    """Text (or a file name) that any terminal can print: undecodable bytes become \\xNN escapes."""
    import os

    if isinstance(text, bytes | os.PathLike):
        text = os.fsdecode(text)
    return str(text).encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="semsearch")
def cli() -> None:
    """Search your folders by meaning.

    \b
    semsearch index ./docs
    semsearch query "how do I rotate the logs?"
    """


def main() -> None:
    """The console script: click's usage errors become one line too ("Error: ... (see --help)")."""
    import os

    try:
        status = cli.main(prog_name="semsearch", standalone_mode=False)
    except click.UsageError as e:
        command = e.ctx.command_path if e.ctx else "semsearch"
        click.echo(f"Error: {one_line(e.format_message())} (see '{command} --help')", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `semsearch query ... | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    sys.exit(status if isinstance(status, int) else 0)


@cli.command()
@click.argument("texts", nargs=-1)
@click.option("-m", "--model", default="all-minilm", show_default=True, help="Embedding model.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read one text per line from standard input.")
@click.option("--no-truncate", is_flag=True, help="Fail on texts longer than the context instead of cutting them.")
@click.option("--dimensions", type=int, default=None, help="Cut vectors to N values (then renormalize).")
@click.option(
    "--embedder", "embedder_spec", metavar="SPEC", envvar="SEMSEARCH_EMBEDDER", help="'local' or an Ollama URL."
)
@friendly_errors
def embed(texts, model, from_stdin, no_truncate, dimensions, embedder_spec):
    """Embed TEXTS and print the /api/embed response as JSON."""
    import json

    from semsearch.embed import get_embedder
    from semsearch.errors import SemsearchError

    items = list(texts)
    if from_stdin:
        items += [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not items:
        raise SemsearchError("nothing to embed: give TEXT arguments or --stdin")
    embedder = get_embedder(embedder_spec, model=model)
    click.echo(f"semsearch: embedding with {embedder.description}", err=True)
    result = embedder.embed_result(items, truncate=not no_truncate, dimensions=dimensions)
    reply = {"model": model, "embeddings": [[float(x) for x in row] for row in result.vectors]}
    for key in ("total_duration", "load_duration", "prompt_eval_count"):
        if value := getattr(result, key):
            reply[key] = int(value)
    click.echo(json.dumps(reply))


@cli.command()
@click.option("--host", default=None, help="Bind address (default: from OLLAMA_HOST, else 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port (default: from OLLAMA_HOST, else 11434)."
)
@click.option("--max-queue", default=512, show_default=True, help="Pending requests before answering 503.")
@click.option(
    "--max-batch", default=64, show_default=True, help="Requests run through the model together (1 = one at a time)."
)
@click.option(
    "--batch-wait-ms",
    default=0.0,
    show_default=True,
    help="Extra wait for company; 0 batches whatever queued up while the model was busy.",
)
@click.option("--max-body", default="32MB", show_default=True, help="Largest request body (413 above).")
@click.option("--threads", type=int, default=None, help="Model threads (default: all cores).")
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default="cpu",
    show_default=True,
    help="Run the model on the CPU or an NVIDIA GPU (cuda: pip install 'semsearch[gpu]').",
)
@click.option(
    "--max-inputs", type=click.IntRange(1), default=2048, show_default=True, help="Inputs in one request (413 above)."
)
@click.option(
    "--max-queued-tokens",
    type=click.IntRange(1),
    default=1 << 20,
    show_default=True,
    help="Tokens waiting for the model, all requests together (503 above).",
)
@click.option(
    "--max-pending-bytes",
    default="256MB",
    show_default=True,
    help="Request bodies held in memory at once, all requests together (503 above).",
)
@friendly_errors
def serve(
    host,
    port,
    max_queue,
    max_batch,
    batch_wait_ms,
    max_body,
    threads,
    device,
    max_inputs,
    max_queued_tokens,
    max_pending_bytes,
):
    """Serve the Ollama embedding API (/api/embed, /api/embeddings, /v1/embeddings) with the embedded models."""
    import os

    from semsearch.serve import parse_bind, run_server
    from semsearch.serve.hostcheck import is_loopback_bind

    if device == "cuda":
        from semsearch.embed.local import check_cuda

        check_cuda()  # before binding: a GPU server without its GPU is a one-line error, not a slow CPU one

    shown_host, shown_port = parse_bind(os.environ.get("OLLAMA_HOST"))
    shown_host = host or shown_host
    shown_port = port if port is not None else shown_port
    netloc = f"[{shown_host}]:{shown_port}" if ":" in shown_host else f"{shown_host}:{shown_port}"
    click.echo(f"semsearch: serving the Ollama embedding API on http://{netloc}", err=True)
    if not is_loopback_bind(shown_host):
        click.echo(
            f"semsearch: {shown_host} is not loopback: any Host header is accepted (as `ollama serve` does), "
            "and anyone who can reach this port can use the server",
            err=True,
        )
    run_server(
        host,
        port,
        max_pending=max_queue,
        max_batch_requests=max_batch,
        max_wait_ms=batch_wait_ms,
        max_body_bytes=parse_size(max_body),
        threads=threads,
        device=device,
        max_inputs=max_inputs,
        max_queued_tokens=max_queued_tokens,
        max_inflight_bytes=parse_size(max_pending_bytes),
    )


# -- indexing and searching ----------------------------------------------------------------------


def index_options(command):
    """--index, --model and --embedder, shared by every command that opens an index."""
    command = click.option(
        "--embedder",
        "embedder_spec",
        metavar="SPEC",
        envvar="SEMSEARCH_EMBEDDER",
        help="'local' (in-process model; 'local:cuda' on an NVIDIA GPU) or Ollama URL(s), comma-separated "
        "to spread work over hosts; default: Ollama if it answers, else local.",
    )(command)
    command = click.option(
        "-m", "--model", default=None, help="Embedding model (default: the index's, else all-minilm)."
    )(command)
    return click.option(
        "--index",
        "index_name",
        metavar="NAME|PATH",
        envvar="SEMSEARCH_INDEX",
        help="Index name (under the data dir) or folder. Default: 'default'.",
    )(command)


def open_index(index_name: str | None, model: str | None, embedder_spec: str | None, **settings):
    """The index named on the command line; settings go to `Index` (create=False for read-only use)."""
    from semsearch.index import Index

    return Index(index_name, model=model, embedder=embedder_spec, on_wait=say_waiting, **settings)


def check_paths_exist(paths) -> None:
    """Refuse a missing PATH before any work, in one line."""
    import os

    from semsearch.errors import SemsearchError

    for path in paths:
        if not os.path.lexists(path):
            raise SemsearchError(f"no such file or directory: {printable(path)}")


def say_waiting(line: str) -> None:
    click.echo(f"semsearch: {line}", err=True)


no_wait_option = click.option(
    "--no-wait",
    is_flag=True,
    help="If another semsearch is writing this index, exit at once (status 75) instead of waiting.",
)


def announce(index, *, check_model: bool = True) -> None:
    click.echo(f"semsearch: embedding with {index.open_embedder(check_model=check_model).description}", err=True)


class ProgressBar:
    """on_progress(done, total) callback drawing a bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty() or not total:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def display_path(path: str) -> str:
    """Paths under the current folder print relative to it, like grep does."""
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def parse_size(value: str) -> int:
    units = {"k": 1_000, "kb": 1_000, "m": 1_000_000, "mb": 1_000_000, "g": 1_000_000_000, "gb": 1_000_000_000}
    text = value.strip().lower()
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].strip().replace(".", "", 1).isdigit():
            return int(float(text[: -len(suffix)]) * units[suffix])
    if text.isdigit():
        return int(text)
    raise click.BadParameter(f"not a size: {value!r} (try 500k, 10MB)")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_options
@click.option("--include", multiple=True, metavar="GLOB", help="Index only files matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching GLOB (repeatable).")
@click.option("--max-file-size", default="10MB", show_default=True, help="Skip files larger than this.")
@click.option(
    "--reindex",
    is_flag=True,
    help="Build the index again from PATHS (e.g. with another -m model); the old one answers until it is done.",
)
@click.option("--chunk-tokens", type=click.IntRange(min=16), default=None, help="Chunk size in tokens (default 200).")
@click.option(
    "--overlap",
    "overlap_tokens",
    type=click.IntRange(min=0),
    default=None,
    help="Overlap between chunks in tokens (default 30).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="auto",
    default=None,
    metavar="[auto|ADDRESS]",
    help="Run the pipeline on a Ray cluster (pip install 'semsearch[ray]'); auto: the running one, else a local one.",
)
@no_wait_option
@friendly_errors
def index(
    paths,
    index_name,
    model,
    embedder_spec,
    include,
    exclude,
    max_file_size,
    reindex,
    chunk_tokens,
    overlap_tokens,
    as_json,
    no_wait,
    ray_address=None,
):
    """Index files under PATHS (incremental: unchanged files are skipped)."""
    import json

    check_paths_exist(paths)
    max_file_bytes = parse_size(max_file_size)
    idx = open_index(
        index_name,
        model,
        embedder_spec,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
        wait_for_writer=not no_wait,
    )

    def on_warning(line: str) -> None:
        click.echo(f"warning: {printable(line)}", err=True)

    try:
        with idx.writing():  # wait for (or refuse, with --no-wait) another writer before any other output
            announce(idx, check_model=not reindex)  # --reindex may switch the model
            add = idx.add if ray_address is None else ray_adder(idx, ray_address, embedder_spec)
            with ProgressBar("Indexing") as progress:
                report = add(
                    paths,
                    include=include,
                    exclude=exclude,
                    max_file_bytes=max_file_bytes,
                    reindex=reindex,
                    on_warning=on_warning,
                    on_progress=progress,
                )
    finally:
        idx.close()
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(report.summary())
    if report.indexed == 0 and report.failed > 0:
        sys.exit(1)  # nothing could be indexed


def ray_adder(idx, address: str, embedder_spec: str | None):
    """`Index.add` run as a Ray job (`index --ray`); a missing extra is one line, before any work."""
    from semsearch.distributed.ray_index import RayOptions, add_paths_ray, import_ray

    import_ray()
    click.echo(f"semsearch: indexing on Ray ({address}: the running cluster, else a local one)"
               if address == "auto" else f"semsearch: indexing on the Ray cluster at {address}", err=True)  # fmt: skip
    options = RayOptions(address=address, embedder_spec=embedder_spec)
    return functools.partial(add_paths_ray, idx, options=options)


def format_score(score: float | None) -> str:
    from semsearch.search.results import format_score

    return format_score(score)


# -- typed sub-queries and search without an index step (semsearch query ... PATH...) --------------------


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


class DelayedProgress(ProgressBar):
    """A progress bar that shows only once the work has taken more than `delay_s` (and stderr is a terminal)."""

    def __init__(self, label: str, delay_s: float = 1.0):
        import time

        super().__init__(label)
        self.started = time.monotonic()
        self.delay_s = delay_s

    def __call__(self, done: int, total: int) -> None:
        import time

        if self.bar is not None or time.monotonic() - self.started > self.delay_s:
            super().__call__(done, total)


def refresh_paths(idx, paths) -> list[str]:
    """Bring the index of `paths` up to date (as `index` does, quietly) and return patterns matching only them."""
    from semsearch.paths import PathPattern

    with DelayedProgress("Indexing") as progress:
        report = idx.add(paths, on_progress=progress)
    if report.new or report.changed or report.deleted:
        click.echo(f"semsearch: indexed {', '.join(map(printable, paths))}: {report.summary()}", err=True)
    return list(PathPattern.exactly(paths).patterns)


def result_record(rank: int, hit) -> dict:
    record = hit.to_dict()
    record["path"] = display_path(hit.path)
    record["rank"] = rank
    record["score"] = None if hit.score is None else round(hit.score, 6)
    return record


@cli.command()
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
@click.option(
    "--mode",
    type=click.Choice(["auto", "dense", "keyword", "hybrid"]),
    default=SEARCH_DEFAULT_MODE,
    show_default=True,
    help="auto: keyword-leaning for names and error codes, meaning-leaning for questions, then code-aware signals.",
)
@click.option(
    "--queries", "queries_file", type=click.File("r"), help="Answer many queries (lines, or JSONL with id/text)."
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
    with open_index(index_name, model, embedder_spec, create=bool(paths)) as idx:
        if mode != "keyword" or subqueries:
            announce(idx)
        if paths:
            path_glob = refresh_paths(idx, paths)
        options = {"mode": mode, "path": path_glob, "min_score": min_score, "files": by_file}
        if subqueries:
            options["queries"] = subqueries
        if queries_file is not None:
            answer_queries(idx, queries_file, k, **options)
        elif by_file:
            print_files(idx.search(text, k, **options), as_json)
        else:
            print_hits(idx.search(text, k, **options), as_json)


def print_files(hits, as_json: bool) -> None:
    """One line per file: path:first-last  score (JSON Lines with --json)."""
    import json

    if as_json:
        for rank, hit in enumerate(hits, start=1):
            record = result_record(rank, hit)
            click.echo(json.dumps({key: record[key] for key in ("rank", "path", "start_line", "end_line", "score",
                                                                 "heading")}))  # fmt: skip
        return
    if not hits:
        click.echo("No results.", err=True)
    for hit in hits:
        location = display_path(hit.path) + hit.location[len(hit.path) :]
        click.echo(f"{location}  {format_score(hit.score)}")


def answer_queries(idx, queries_file, k: int, **options) -> None:
    """One JSON line per query of the file (plain lines, or JSONL with id and text)."""
    import json

    from semsearch.errors import SemsearchError

    for number, line in enumerate(queries_file, start=1):
        if not line.strip():
            continue
        qid, qtext = str(number), line.strip()
        if qtext.startswith("{"):
            try:
                item = json.loads(qtext)
                qid, qtext = str(item.get("id", number)), item["text"]
            except (ValueError, KeyError, TypeError, AttributeError):
                raise SemsearchError(f"{queries_file.name} line {number}: expected JSON with 'text'") from None
            if not isinstance(qtext, str) or not qtext.strip():
                raise SemsearchError(
                    f"{queries_file.name} line {number}: 'text' must be a non-empty string, not {json.dumps(qtext)}"
                )
        results = [result_record(rank, h) for rank, h in enumerate(idx.search(qtext, k, **options), 1)]
        click.echo(json.dumps({"id": qid, "query": qtext, "results": results}))


def print_hits(hits, as_json: bool) -> None:
    """JSON Lines, or a numbered list with location, score, heading and a snippet."""
    import json

    if as_json:
        for rank, hit in enumerate(hits, start=1):
            click.echo(json.dumps(result_record(rank, hit)))
        return
    if not hits:
        click.echo("No results.", err=True)
    for rank, hit in enumerate(hits, start=1):
        location = display_path(hit.path) + hit.location[len(hit.path) :]
        heading = f"  {hit.heading}" if hit.heading else ""
        click.echo(f"{rank:>2}. {click.style(location, bold=True)}  [{format_score(hit.score)}]{heading}")
        click.echo(f"    {hit.snippet()}")


@cli.command()
@index_options
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def status(index_name, model, embedder_spec, as_json):
    """Show what an index holds and how it was built."""
    import json

    with open_index(index_name, model, embedder_spec, create=False) as idx:
        info = idx.status()
    if as_json:
        click.echo(json.dumps(info))
        return
    for key, value in info.items():
        click.echo(f"{key:>15}: {value if value is not None else '-'}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_options
@no_wait_option
@friendly_errors
def rm(paths, index_name, model, embedder_spec, no_wait):
    """Remove files (or everything under folders) from the index."""
    with open_index(index_name, model, embedder_spec, create=False, wait_for_writer=not no_wait) as idx:
        removed = idx.remove(paths)
    click.echo(f"removed {removed} file{'s' if removed != 1 else ''}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_options
@click.option("--include", multiple=True, metavar="GLOB", help="Index only files matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching GLOB (repeatable).")
@click.option("--max-file-size", default="10MB", show_default=True, help="Skip files larger than this.")
@click.option(
    "--quiet-ms", default=300, show_default=True, help="Apply a batch once the folders were quiet this long (ms)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per applied batch, for scripts.")
@no_wait_option
@friendly_errors
def watch(paths, index_name, model, embedder_spec, include, exclude, max_file_size, quiet_ms, as_json, no_wait):
    """Index PATHS, then keep the index up to date as files change (until Ctrl-C).

    Holds the index's writer lock while it runs: `semsearch index` on the same index waits,
    queries keep working.
    """
    from semsearch.watch import watch_command

    with open_index(index_name, model, embedder_spec, wait_for_writer=not no_wait) as idx:
        announce(idx)
        watch_command(
            idx,
            paths,
            as_json=as_json,
            include=include,
            exclude=exclude,
            max_file_bytes=parse_size(max_file_size),
            quiet_ms=quiet_ms,
            say=lambda line: click.echo(line, err=True),
        )


@cli.command()
@index_options
@click.option(
    "--watch",
    "watch_paths",
    multiple=True,
    type=click.Path(),
    metavar="PATH",
    help="Keep the index up to date with PATH while serving (repeatable).",
)
@friendly_errors
def mcp(index_name, model, embedder_spec, watch_paths):
    """Serve the index to AI agents and editors over the Model Context Protocol (stdio).

    Tools: search, get, related, status, index. Register it in an MCP client as the command
    `semsearch mcp --index NAME|PATH` (see the README).
    """
    from semsearch.mcp import serve_stdio

    serve_stdio(index_name, model=model, embedder=embedder_spec, watch=watch_paths)


@cli.command()
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


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def indexes(as_json):
    """List the named indexes in the data dir."""
    import json

    from semsearch.store.location import list_indexes

    for path in list_indexes():
        if as_json:
            click.echo(json.dumps({"name": path.name, "path": str(path)}))
        else:
            click.echo(f"{path.name}\t{path}")


@cli.command()
@index_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address (loopback keeps it private).")
@click.option("--port", type=int, default=8765, show_default=True, help="Port (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option(
    "--threads", type=int, default=1, show_default=True, help="CPU threads per query (0: all cores, as for indexing)."
)
@friendly_errors
def ui(index_name, model, embedder_spec, host, port, open_browser, threads):
    """Serve a local search page for the index (read-only; Ctrl+C stops it)."""
    from semsearch.ui import run_ui

    run_ui(index_name, host=host, port=port, model=model, embedder=embedder_spec, open_browser=open_browser,
           threads=threads or None, say=say_waiting)  # fmt: skip


@cli.command(name="eval")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="test", show_default=True, help="Which qrels/<split>.tsv to score.")
@click.option("--mode", type=click.Choice(["auto", "dense", "keyword", "hybrid"]), default="hybrid", show_default=True)
@click.option(
    "-k", "k", type=click.IntRange(min=1), default=100, show_default=True, help="Documents retrieved per query."
)
@click.option(
    "--index", "index_path", metavar="PATH", help="Where to build/reuse the corpus index (default: cache dir)."
)
@click.option("-m", "--model", default="all-minilm", show_default=True)
@click.option("--embedder", "embedder_spec", metavar="SPEC", envvar="SEMSEARCH_EMBEDDER")
@click.option(
    "--chunk-tokens",
    type=click.IntRange(min=16),
    default=256,
    show_default=True,
    help="Chunk size for the corpus index.",
)
@click.option("--run-file", type=click.Path(dir_okay=False), help="Also write the TREC run file here.")
@click.option("--json", "as_json", is_flag=True)
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
        f"{result.dataset} {result.split} ({result.queries} queries), {result.mode}: "
        f"nDCG@10 {result.ndcg_at_10:.4f}  Recall@100 {result.recall_at_100:.4f}  MRR@10 {result.mrr_at_10:.4f}  "
        f"(indexing {result.index_seconds:.1f}s, search {result.search_seconds:.1f}s)"
    )
