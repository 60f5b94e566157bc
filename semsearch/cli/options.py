"""Options several commands share (--index, -m, --embedder, --no-wait) and opening the index they name."""

from __future__ import annotations

import click

from semsearch.cli.output import printable, say

SEARCH_DEFAULT_MODE = "auto"  # semsearch.search.DEFAULT_MODE, spelled out so `--help` imports no numpy
SEARCH_MODES = ("auto", "dense", "keyword", "hybrid")
MODE_HELP = "auto: keyword-leaning for names and error codes, meaning-leaning for questions, then code-aware signals."
EMBEDDER_HELP = (
    "'local' (in-process model; 'local:cuda' on an NVIDIA GPU) or Ollama URL(s), comma-separated "
    "to spread work over hosts; default: Ollama if it answers, else local."
)


def check_index_folder(ctx, param, value):
    """--index naming a regular file is one line now, not "File exists" under it later."""
    if value is None or not str(value).strip():
        return value
    from semsearch.errors import SemsearchError
    from semsearch.store.location import resolve_index_dir

    try:
        folder = resolve_index_dir(value)
    except SemsearchError:
        return value  # the command says what is wrong with it
    if folder.exists() and not folder.is_dir():
        raise click.ClickException(f"--index {printable(folder)} is a file, not an index folder")
    return value


def index_option(command):
    """--index alone: for commands that read or forget what an index holds without embedding (rm, status)."""
    return click.option(
        "--index",
        "index_name",
        metavar="NAME|PATH",
        envvar="SEMSEARCH_INDEX",
        callback=check_index_folder,
        help="Index name (under the data dir) or folder. Default: 'default'.",
    )(command)


def index_options(command):
    """--index, --model and --embedder, shared by every command that embeds for an index."""
    command = click.option("--embedder", "embedder_spec", metavar="SPEC", envvar="SEMSEARCH_EMBEDDER",
                           help=EMBEDDER_HELP)(command)  # fmt: skip
    command = click.option(
        "-m", "--model", default=None, help="Embedding model (default: the index's, else all-minilm)."
    )(command)
    return index_option(command)


no_wait_option = click.option(
    "--no-wait",
    is_flag=True,
    help="If another semsearch is writing this index, exit at once (status 75) instead of waiting.",
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (one object a line) for scripts.")


def open_index(index_name: str | None, model: str | None = None, embedder_spec: str | None = None, **settings):
    """The index named on the command line; settings go to `Index` (create=False for read-only use)."""
    from semsearch.index import Index

    return Index(index_name, model=model, embedder=embedder_spec, on_wait=say, **settings)


def check_paths_exist(paths) -> None:
    """Refuse a missing PATH before any work, in one line."""
    import os

    from semsearch.errors import SemsearchError

    for path in paths:
        if not os.path.lexists(path):
            raise SemsearchError(f"no such file or directory: {printable(path)}")


def announce(index, *, check_model: bool = True) -> None:
    say(f"embedding with {index.open_embedder(check_model=check_model).description}")
