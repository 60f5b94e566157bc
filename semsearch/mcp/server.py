"""`semsearch mcp`: the index as Model Context Protocol tools (search, get, related, status, index), over stdio.

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

from pydantic import BaseModel, Field  # this module loads only when serving: the SDK's pydantic is here then

from semsearch.errors import SemsearchError
from semsearch.mcp.budget import MIN_TOKENS
from semsearch.mcp.service import SearchService
from semsearch.search.engine import DEFAULT_MODE

INSTRUCTIONS = """\
Semantic search over the user's local files (notes, docs, code) with semsearch. Use `search` to find
passages by meaning before reading files yourself: it returns the file path, line range, heading and
text of the best-matching chunks; pass typed `queries` (lex, vec, hyde) when you can write them. Use
`get` to read lines around a hit, `related` to find files like one you have, `status` to see what is
indexed and whether files changed on disk since, and `index` to add folders or refresh changed files."""

SEARCH_DESCRIPTION = """\
Find passages in the user's indexed files that answer a question or match a topic, by meaning (not
only exact words). Returns the best chunks, best first, each with its file path, start and end line
(1-based, inclusive; page for PDFs, cell for notebooks, slide for decks), heading path and similarity
score, plus the chunk's text, so you can often answer without opening the file. Pass `query` (natural
language: "how do I rotate the logs?"; use mode
"keyword" or "hybrid" for identifiers and error codes), or better, `queries`: typed sub-queries fused
into one ranking: {"type": "lex", "query": "identifiers and exact words"} for the keyword index,
{"type": "vec", "query": "a question"} and {"type": "hyde", "query": "a short passage or code that
would answer it"} for the embedding. Narrow with `path` ("docs/ops": that folder and below; "*.py";
"docs/*.md"); bound the answer with `max_tokens` (results are trimmed or dropped to fit, and it says so)."""

GET_DESCRIPTION = """\
Read lines of a file the index holds: `path` as returned by `search` (or relative to the indexed
folders), `start_line` and `end_line` (1-based, inclusive; at most 2000 lines a call). Use it to see the
code or text around a search hit. Only indexed files can be read: other paths, `..` escapes and
symlinks that lead out of the indexed files are refused."""

RELATED_DESCRIPTION = """\
Find other indexed files most like a given file (by meaning, over all its passages), or like the
passage at one `line` of it: files that do the same kind of thing, its tests, its siblings. Returns one
result per file (its passage closest to the given file), best first; the file itself is never
listed."""

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

MODE_DESCRIPTION = (
    "For `query`: auto (default): keyword-leaning for names and error codes, meaning-leaning for questions, "
    "code-aware; dense: by meaning; keyword: BM25 on words; hybrid: both fused. Not used with `queries`."
)

log = logging.getLogger("semsearch.mcp")

K = Annotated[int, Field(description="How many results to return (1-100).", ge=1, le=100)]


class SubQueryArgument(BaseModel):
    """One typed sub-query of `search`."""

    type: Annotated[
        Literal["lex", "vec", "hyde"],
        Field(description="lex: keywords and identifiers; vec: a question; hyde: a hypothetical answer passage."),
    ]
    query: Annotated[str, Field(description="The sub-query's text.", min_length=1)]


def build_server(service: SearchService):
    """The MCPServer with semsearch's tools bound to `service`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations
    from pydantic import ValidationError

    from semsearch import __version__
    from semsearch.mcp.schema import argument_error, strict_schema

    class Server(MCPServer):
        """Schemas strict validators accept; a bad argument is a one-line tool error naming it."""

        async def list_tools(self):
            tools = await super().list_tools()
            return [tool.model_copy(update={"input_schema": strict_schema(tool.input_schema)}) for tool in tools]

        async def call_tool(self, name, arguments, context=None):
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as e:
                if isinstance(e.__cause__, ValidationError):
                    raise ToolError(f"Error executing tool {name}: {argument_error(e.__cause__.errors())}") from None
                raise

    server = Server("semsearch", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    def tool_errors(call):
        """Run a tool body; a SemsearchError or OSError becomes a tool error with its one line."""
        try:
            return call()
        except SemsearchError as e:
            raise ToolError(" ".join(str(e).split())) from None
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            raise ToolError(f"{where}{e.strerror or e}") from None

    def read_only(title: str) -> ToolAnnotations:
        return ToolAnnotations(title=title, read_only_hint=True, open_world_hint=False)

    @server.tool(name="search", description=SEARCH_DESCRIPTION, annotations=read_only("Search files by meaning"))
    def search(
        query: Annotated[
            str | None, Field(description="The question or topic to look for, in natural language.")
        ] = None,
        queries: Annotated[
            list[SubQueryArgument] | None,
            Field(
                description="Typed sub-queries, fused into one ranking (instead of or with `query`), e.g. "
                '[{"type": "lex", "query": "rotate_logs logrotate"}, {"type": "vec", "query": "how are logs '
                'rotated?"}, {"type": "hyde", "query": "def rotate_logs(path, keep=7): ..."}].',
                min_length=1,
                max_length=10,
            ),
        ] = None,
        k: K = 8,
        mode: Annotated[Literal["auto", "dense", "keyword", "hybrid"], Field(description=MODE_DESCRIPTION)] = (
            DEFAULT_MODE
        ),
        path: Annotated[
            str | None, Field(description='Only files whose path matches this glob, e.g. "docs/*.md" or "*.py".')
        ] = None,
        files: Annotated[
            bool, Field(description="One result per file (its best passage): to find which files to open.")
        ] = False,
        max_tokens: Annotated[
            int | None,
            Field(
                description="A budget on the answer (about 4 characters a token, at least 100): results are trimmed or "
                "dropped to fit, and the answer says so (it then does not repeat the query).",
                ge=MIN_TOKENS,
            ),
        ] = None,
    ) -> dict[str, Any]:
        typed = [q.model_dump() for q in queries] if queries else None
        return tool_errors(
            lambda: service.search(query, k, mode, path, queries=typed, max_tokens=max_tokens, files=files)
        )

    @server.tool(name="get", description=GET_DESCRIPTION, annotations=read_only("Read lines of an indexed file"))
    def get(
        path: Annotated[
            str,
            Field(
                description="The file: absolute (as `search` returns it) or relative to the indexed folders.",
                min_length=1,
            ),
        ],  # fmt: skip
        start_line: Annotated[int, Field(description="First line (1-based).", ge=1)] = 1,
        end_line: Annotated[
            int | None, Field(description="Last line, inclusive (default: to the end, at most 2000 lines).", ge=1)
        ] = None,
    ) -> dict[str, Any]:
        return tool_errors(lambda: service.get(path, start_line, end_line))

    @server.tool(name="related", description=RELATED_DESCRIPTION, annotations=read_only("Find related files"))
    def related(
        path: Annotated[
            str, Field(description="An indexed file: absolute, or relative to the indexed folders.", min_length=1)
        ],  # fmt: skip
        line: Annotated[
            int | None, Field(description="Only the passage holding this line (1-based), not the whole file.", ge=1)
        ] = None,
        k: K = 8,
    ) -> dict[str, Any]:
        return tool_errors(lambda: service.related(path, line, k))

    @server.tool(name="status", description=STATUS_DESCRIPTION, annotations=read_only("Index status and freshness"))
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
