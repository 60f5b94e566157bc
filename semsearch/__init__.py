"""semsearch: local semantic search over your folders.

The Python API is the product; the CLI is a thin layer over it::

    import semsearch
    index = semsearch.Index("notes")
    index.add(["./docs"])
    for hit in index.search("how do I rotate the logs?", k=5):
        print(hit.path, hit.score)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.index import Index, SearchResult, SearchResults

# Heavy modules (numpy, faiss, onnxruntime) load only when used, so `semsearch --help` stays fast.
_LAZY = {"Index": "semsearch.index", "SearchResult": "semsearch.index", "SearchResults": "semsearch.index"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'semsearch' has no attribute {name!r}")


__all__ = ["Index", "SearchResult", "SearchResults", "__version__"]
