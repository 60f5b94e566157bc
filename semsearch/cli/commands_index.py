"""Commands that build and keep an index: index, watch, rm, status, indexes."""

from __future__ import annotations

import sys

import click

from semsearch.cli.errors import friendly_errors
from semsearch.cli.options import (
    announce,
    check_paths_exist,
    index_option,
    index_options,
    json_option,
    no_wait_option,
    open_index,
)
from semsearch.cli.output import printable, say, warn
from semsearch.cli.progress import ProgressBar
from semsearch.cli.sizes import Size
from semsearch.cli.stopping import stoppable
from semsearch.words import plural

include_option = click.option(
    "--include", multiple=True, metavar="PATTERN", help="Look only at files PATTERN selects (repeatable; as --path)."
)
exclude_option = click.option(
    "--exclude", multiple=True, metavar="PATTERN", help="Leave out files PATTERN selects (repeatable; as --path)."
)
max_file_size_option = click.option(
    "--max-file-size", type=Size(), default="10MB", show_default=True, help="Skip files larger than this."
)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_options
@include_option
@exclude_option
@max_file_size_option
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
    started = False

    def interrupted(interrupt) -> str:
        from semsearch.errors import IndexInterrupted

        if not started:
            return "Interrupted: nothing was indexed"
        if reindex:
            return "Interrupted: the rebuild was abandoned; the index is as it was"
        if isinstance(interrupt, IndexInterrupted):
            return f"Interrupted: {interrupt.summary()}."
        return "Interrupted: what was committed stays indexed; the next run picks up the rest"

    with stoppable(interrupted):
        idx = open_index(
            index_name,
            model,
            embedder_spec,
            chunk_tokens=chunk_tokens,
            overlap_tokens=overlap_tokens,
            wait_for_writer=not no_wait,
        )
        try:
            with idx.writing():  # wait for (or refuse, with --no-wait) another writer before any other output
                started = True
                announce(idx, check_model=not reindex)  # --reindex may switch the model
                if ray_address is None:
                    add = idx.add
                else:
                    from semsearch.cli.ray import ray_adder

                    add = ray_adder(idx, ray_address, embedder_spec)
                with ProgressBar("Indexing") as progress, ProgressBar("Embedding") as embedding:

                    def embedded(done: int, total: int) -> None:
                        progress.close()  # the files are committed (keyword-searchable); now the vectors
                        embedding(done, total)

                    report = add(
                        paths,
                        include=include,
                        exclude=exclude,
                        max_file_bytes=max_file_size,
                        reindex=reindex,
                        on_warning=warn,
                        on_progress=progress,
                        on_embed_progress=embedded,
                    )
        finally:
            idx.close()
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(report.summary())
    if report.indexed == 0 and report.failed == 0:
        skipped = "hidden folders and files that .gitignore or .semsearchignore exclude are skipped"
        if include or exclude:
            skipped += ", and so are files outside --include/--exclude"
        say(f"no files found under {', '.join(printable(p) for p in paths)} ({skipped})")
    if report.indexed == 0 and report.failed > 0:
        sys.exit(1)  # nothing could be indexed


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_options
@include_option
@exclude_option
@max_file_size_option
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

    def interrupted(interrupt) -> str | None:
        # A signal that watch_command handled printed its own line ("stopped watching; ..."); a second
        # one (or one before it started) interrupts at once: the batch in flight rolls back.
        return "Interrupted: the batch in flight was rolled back; the index is consistent" if interrupt else None

    with (
        stoppable(interrupted) as stop,
        open_index(index_name, model, embedder_spec, wait_for_writer=not no_wait) as idx,
    ):
        announce(idx)
        stop.signum = watch_command(
            idx,
            paths,
            as_json=as_json,
            include=include,
            exclude=exclude,
            max_file_bytes=max_file_size,
            quiet_ms=quiet_ms,
            say=lambda line: click.echo(line, err=True),
        )


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_option
@no_wait_option
@friendly_errors
def rm(paths, index_name, no_wait):
    """Remove files (or everything under folders) from the index."""
    from semsearch.errors import SemsearchError

    unmatched = []
    removed = 0
    with open_index(index_name, create=False, wait_for_writer=not no_wait) as idx, idx.writing():
        for path in paths:
            count = idx.remove([path])
            removed += count
            if not count:
                unmatched.append(printable(path))
    if removed:
        click.echo(f"removed {plural(removed, 'file')}")
    if unmatched:
        raise SemsearchError(f"nothing indexed matches {', '.join(unmatched)}")


@click.command()
@index_option
@json_option
@friendly_errors
def status(index_name, as_json):
    """Show what an index holds and how it was built."""
    import json

    with open_index(index_name, create=False) as idx:
        info = idx.status()
    if as_json:
        click.echo(json.dumps(info))
        return
    for key, value in info.items():
        click.echo(f"{key:>15}: {value if value is not None else '-'}")


@click.command()
@json_option
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
