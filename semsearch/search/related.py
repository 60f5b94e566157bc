"""Files like a given file (or like the chunk at one of its lines): `semsearch related`, `Index.related`.

Each chunk of the file votes: another file scores the mean, over the file's chunks, of its best
chunk's cosine to that chunk (0 when it is not among the chunk's nearest). Files that resemble the
file in many places rise above one that shares a single passage; on the benchmark's related files
this beat the cosine to the file's mean vector (benchmarks/QUALITY.md). A line picks the chunk
that holds it instead. Each result is a file shown as its chunk closest to the source, scored by
that chunk's cosine similarity (as search scores are); the file itself never appears.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from semsearch.errors import SemsearchError
from semsearch.search.results import SearchResult, to_results

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.collection import Collection
    from semsearch.store.db import ChunkRecord

NEIGHBOURS = 50  # nearest chunks looked at per source chunk
MAX_SOURCE_CHUNKS = 64


def related(collection: Collection, path: str, line: int | None = None, k: int = 10) -> list[SearchResult]:
    """The k files most like `path` (or like its chunk at `line`), best first, each as its best chunk."""
    from semsearch.files import resolve_indexed

    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise SemsearchError(f"k must be a positive number of results, not {k!r}")
    if line is not None and (not isinstance(line, int) or line < 1):
        raise SemsearchError(f"line must be 1 or more, not {line!r}")
    real = resolve_indexed(collection, path)
    with collection.snapshot():  # the file's chunks, their neighbours and rows: one committed state
        record = collection.file_by_path(real)
        chunks = collection.file_chunks(record.id) if record is not None else []
        own = {c.id for c in chunks}
        if line is not None and chunks:
            chunk = chunk_at(chunks, line)
            if chunk is None:
                raise SemsearchError(f"line {line} is past the indexed text of {real} (it ends at line "
                                     f"{max(c.end_line for c in chunks)})")  # fmt: skip
            chunks = [chunk]
        elif len(chunks) > MAX_SOURCE_CHUNKS:  # a huge file: an even sample of its chunks speaks for it
            step = len(chunks) / MAX_SOURCE_CHUNKS
            chunks = [chunks[int(n * step)] for n in range(MAX_SOURCE_CHUNKS)]
        sources = collection.stored_vectors([c.id for c in chunks])  # chunks not embedded yet cannot vote
        if not sources:
            return []
        depth = max(NEIGHBOURS, 5 * k) + len(own)
        votes: dict[str, float] = {}  # file -> summed best cosine over the source chunks
        shown: dict[str, tuple[int, float]] = {}  # file -> its chunk closest to any source chunk
        for vector in sources.values():
            ranking = [(i, s) for i, s in collection.dense_candidates(vector, depth) if i not in own]
            paths = collection.chunk_paths([i for i, _ in ranking])
            seen: set[str] = {real}
            for chunk_id, score in ranking:
                path = paths.get(chunk_id)
                if path is None or path in seen:
                    continue
                seen.add(path)
                votes[path] = votes.get(path, 0.0) + score
                if path not in shown or score > shown[path][1]:
                    shown[path] = (chunk_id, score)
        order = sorted(votes, key=lambda p: -votes[p])[:k]
        best = [(shown[p][0], shown[p][1]) for p in order]
        rows = collection.chunks([i for i, _ in best])
    return to_results(best, rows)


def chunk_at(chunks: list[ChunkRecord], line: int) -> ChunkRecord | None:
    """The narrowest chunk holding `line`; else the nearest one before it (a blank line between chunks)."""
    holding = [c for c in chunks if c.start_line <= line <= c.end_line]
    if holding:
        return min(holding, key=lambda c: c.end_line - c.start_line)
    before = [c for c in chunks if c.end_line < line]
    if before and line <= max(c.end_line for c in chunks):
        return max(before, key=lambda c: c.end_line)
    return None
