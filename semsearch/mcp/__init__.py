"""semsearch as a Model Context Protocol server: `search`, `status` and `index` tools over stdio.

Imports the `mcp` SDK only when served, so the rest of semsearch starts fast without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


def serve_stdio(
    index_name: str | os.PathLike | None = None,
    *,
    model: str | None = None,
    embedder: str | None = None,
    watch: Sequence[str | os.PathLike] = (),
) -> None:
    """Serve the index over stdio until the client disconnects or a signal arrives."""
    from semsearch.mcp.server import serve_stdio as serve

    serve(index_name, model=model, embedder=embedder, watch=watch)


__all__ = ["serve_stdio"]
