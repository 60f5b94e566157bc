"""`semsearch mcp`: the index as Model Context Protocol tools, over stdio, on the official SDK.

Tools return structured results (and the same JSON as text). A failure a user can act on (an
empty query, no index yet, another writer busy) is an MCP tool error carrying its one-line
message; the server itself never stops over a tool call.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field  # this module loads only when serving: the SDK's pydantic is here then

from semsearch.errors import SemsearchError
from semsearch.mcp.service import SearchService
from semsearch.search.engine import DEFAULT_MODE

INSTRUCTIONS = """\
Semantic search over the user's local files (notes, docs, code) with semsearch. Use `search` to find
passages by meaning before reading files yourself: it returns the file path, line range, heading and
text of the best-matching chunks. Use `status` to see what is indexed and whether files changed on
disk since. Use `index` to add folders the user asks about, or to refresh files reported as changed."""

SEARCH_DESCRIPTION = """\
Find passages in the user's indexed files that answer a question or match a topic, by meaning (not
only exact words). Returns the best chunks, best first, each with its file path, start and end line
(1-based, inclusive; page for PDFs, cell for notebooks, slide for decks), heading path and similarity
score, plus the chunk's text, so you can often answer without opening the file. Ask in natural
language ("how do I rotate the logs?"); use mode "keyword" or "hybrid" for identifiers, error codes
and exact names. Narrow to some files with `path`, a glob on the file path such as "docs/*.md" or "*.py"."""

STATUS_DESCRIPTION = """\
Report what the index holds (files, chunks, embedding model, where it lives) and how fresh it is:
how many indexed files changed or were deleted on disk since they were indexed (with examples), and,
when the server watches folders, the watcher's state and pending changes. Call it when search results
look outdated or empty, before deciding to call `index`."""

INDEX_DESCRIPTION = """\
Index files or folders so `search` can find them (incremental: unchanged files are skipped, changed
ones re-embedded, deleted ones dropped). Give absolute paths (relative ones are taken from the
server's working directory). Respects .gitignore and .semsearchignore; skips binary and hidden files.
Returns counts of new, changed, unchanged, deleted and failed files. Indexing a large folder the first
time can take minutes."""

log = logging.getLogger("semsearch.mcp")


def build_server(service: SearchService):
    """The MCPServer with semsearch's tools bound to `service`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    from semsearch import __version__

    server = MCPServer("semsearch", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    def tool_errors(call):
        """Run a tool body; a SemsearchError or OSError becomes a tool error with its one line."""
        try:
            return call()
        except SemsearchError as e:
            raise ToolError(str(e)) from None
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            raise ToolError(f"{where}{e.strerror or e}") from None

    @server.tool(
        name="search",
        description=SEARCH_DESCRIPTION,
        annotations=ToolAnnotations(title="Search files by meaning", read_only_hint=True, open_world_hint=False),
    )
    def search(
        query: Annotated[str, Field(description="The question or topic to look for, in natural language.")],
        k: Annotated[int, Field(description="How many passages to return (1-100).", ge=1, le=100)] = 8,
        mode: Annotated[
            Literal["auto", "dense", "keyword", "hybrid"],
            Field(
                description="auto: keyword-leaning for names and error codes, meaning-leaning for questions, "
                "code-aware; dense: by meaning; keyword: BM25 on words; hybrid: both fused."
            ),
        ] = DEFAULT_MODE,
        path: Annotated[
            str | None, Field(description='Only files whose path matches this glob, e.g. "docs/*.md" or "*.py".')
        ] = None,
        files: Annotated[
            bool, Field(description="One result per file (its best passage): to find which files to open.")
        ] = False,
    ) -> dict[str, Any]:
        return tool_errors(lambda: service.search(query, k, mode, path, files=files))

    @server.tool(
        name="status",
        description=STATUS_DESCRIPTION,
        annotations=ToolAnnotations(title="Index status and freshness", read_only_hint=True, open_world_hint=False),
    )
    def status() -> dict[str, Any]:
        return tool_errors(service.status)

    @server.tool(
        name="index",
        description=INDEX_DESCRIPTION,
        annotations=ToolAnnotations(
            title="Index folders",
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )
    def index(
        paths: Annotated[list[str], Field(description="Folders or files to index (absolute paths).", min_length=1)],
    ) -> dict[str, Any]:
        return tool_errors(lambda: service.index(paths))

    return server


def serve_stdio(
    index_name: str | os.PathLike | None = None,
    *,
    model: str | None = None,
    embedder: str | None = None,
    watch: Sequence[str | os.PathLike] = (),
) -> None:
    """Serve over stdin/stdout until the client closes stdin, or SIGINT / SIGTERM.

    On a signal the watcher finishes the file in hand, the indexes close (vector cache saved), and
    the process exits 0 without waiting for the blocked stdin reader.
    """
    import anyio

    def warn(line: str) -> None:
        print(f"semsearch mcp: {line}", file=sys.stderr, flush=True)

    service = SearchService(index_name, model=model, embedder=embedder, watch=watch)
    server = build_server(service)
    closed = False

    def close() -> None:
        nonlocal closed
        if not closed:
            closed = True
            service.close()

    async def main() -> None:
        import signal

        async with anyio.create_task_group() as tasks:

            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        warn(f"{signal.Signals(signum).name}: stopping")
                        await anyio.to_thread.run_sync(close)
                        sys.stderr.flush()
                        os._exit(0)  # the stdio reader thread blocks on stdin; nothing is left to save

            tasks.start_soon(stop_on_signal)
            service.start_watching(on_warning=warn, on_batch=lambda batch: warn(f"index updated: {batch.summary()}"))
            where = f"; watching {', '.join(map(str, service.watch_paths))}" if service.watch_paths else ""
            warn(f"serving {service.path} over stdio{where}")
            await server.run_stdio_async()
            tasks.cancel_scope.cancel()

    try:
        anyio.run(main)
    finally:
        close()
