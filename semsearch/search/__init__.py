"""Searching an index: candidate lists (dense, keyword), their fusion, and the results.

`Index.search` calls `search()` here; the evaluation, MCP server and web page reuse it, so a
query's ranking lives in this package alone.
"""

from __future__ import annotations

from semsearch.search.engine import DEFAULT_MODE, SEARCH_MODES, AutoSettings, group_by_file, rank, search
from semsearch.search.results import SearchResult
from semsearch.search.subqueries import SubQuery

__all__ = ["DEFAULT_MODE", "SEARCH_MODES", "AutoSettings", "SearchResult", "SubQuery", "group_by_file", "rank",
           "search"]  # fmt: skip
