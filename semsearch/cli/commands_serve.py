"""Commands that serve or embed: embed, serve (the Ollama API), ui (the search page), mcp (agents)."""

from __future__ import annotations

import sys

import click

from semsearch.cli.errors import friendly_errors
from semsearch.cli.options import EMBEDDER_HELP, index_options
from semsearch.cli.output import say
from semsearch.cli.sizes import Size
from semsearch.cli.stopping import stoppable

PORT = click.IntRange(0, 65535)


@click.command()
@click.argument("texts", nargs=-1)
@click.option("-m", "--model", default="all-minilm", show_default=True, help="Embedding model.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read one text per line from standard input.")
@click.option("--no-truncate", is_flag=True, help="Fail on texts longer than the context instead of cutting them.")
@click.option("--dimensions", type=int, default=None, help="Cut vectors to N values (then renormalize).")
@click.option("--embedder", "embedder_spec", metavar="SPEC", envvar="SEMSEARCH_EMBEDDER", help=EMBEDDER_HELP)
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
    say(f"embedding with {embedder.description}")
    result = embedder.embed_result(items, truncate=not no_truncate, dimensions=dimensions)
    reply = {"model": model, "embeddings": [[float(x) for x in row] for row in result.vectors]}
    for key in ("total_duration", "load_duration", "prompt_eval_count"):
        if value := getattr(result, key):
            reply[key] = int(value)
    click.echo(json.dumps(reply))


@click.command()
@click.option("--host", default=None, help="Bind address (default: from OLLAMA_HOST, else 127.0.0.1).")
@click.option("--port", type=PORT, default=None, help="Port (default: from OLLAMA_HOST, else 11434).")
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
@click.option("--max-body", type=Size(), default="32MB", show_default=True, help="Largest request body (413 above).")
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
    type=Size(),
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
    say(f"serving the Ollama embedding API on http://{netloc}")
    if not is_loopback_bind(shown_host):
        say(
            f"{shown_host} is not loopback: any Host header is accepted (as `ollama serve` does), "
            "and anyone who can reach this port can use the server"
        )
    with stoppable(lambda interrupt: "semsearch: server stopped"):
        run_server(
            host,
            port,
            max_pending=max_queue,
            max_batch_requests=max_batch,
            max_wait_ms=batch_wait_ms,
            max_body_bytes=max_body,
            threads=threads,
            device=device,
            max_inputs=max_inputs,
            max_queued_tokens=max_queued_tokens,
            max_inflight_bytes=max_pending_bytes,
        )


@click.command()
@index_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address (loopback keeps it private).")
@click.option("--port", type=PORT, default=8765, show_default=True, help="Port (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option(
    "--threads", type=int, default=1, show_default=True, help="CPU threads per query (0: all cores, as for indexing)."
)
@friendly_errors
def ui(index_name, model, embedder_spec, host, port, open_browser, threads):
    """Serve a local search page for the index (read-only; Ctrl+C stops it)."""
    from semsearch.ui import run_ui

    with stoppable(lambda interrupt: "semsearch: search page stopped"):
        run_ui(index_name, host=host, port=port, model=model, embedder=embedder_spec, open_browser=open_browser,
               threads=threads or None, say=say)  # fmt: skip


@click.command()
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
