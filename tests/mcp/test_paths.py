"""MCP's `path` argument speaks the one path syntax (semsearch.paths), as the CLI, the API and the page do."""

from __future__ import annotations

import anyio

from tests.mcp.test_server import call, data_index, session  # noqa: F401 - data_index is a fixture


def test_search_path_docs_ops_means_that_folder_and_below(data_index):  # noqa: F811
    async def main() -> None:
        async with session("--index", str(data_index)) as client:
            for path in ("docs/ops", "ops", "docs/ops/*.md"):
                error, found = await call(client, "search", query="rotate logs", path=path)
                assert not error and found["results"], path
                assert all("/docs/ops/" in hit["path"] for hit in found["results"]), path
            error, found = await call(client, "search", query="rotate logs", path="docs/opsx")
            assert not error and found["results"] == []

    anyio.run(main)
