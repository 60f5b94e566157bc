"""Junk left out: chunks and chunking time with the junk rules (semsearch.ingest.junk) vs without them.

python benchmarks/bench_junk.py [--quick] [--tree PATH]

Walk + extract + chunk only, no embedding: embedding time follows the chunk count. The default tree
is the FastAPI docs in ../shared (Markdown only, so the rules must cost nothing there); point --tree
at a checkout's docs/en/docs (with its SVGs and images) to see what they save.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import FASTAPI_DOCS, HEADER, ROOT, Row  # noqa: E402


@contextlib.contextmanager
def junk_rules(enabled: bool) -> Iterator[None]:
    """The walk as it is, or as before the junk rules: every file offered, an SVG read as plain text."""
    import semsearch.ingest.drawing as drawing
    import semsearch.ingest.walk as walk
    from semsearch.ingest.extract import Document, Section

    def as_text(path: Path, text: str) -> Document:
        return Document(path, "text", [Section(text.strip(), 1, text.count("\n") + 1)])

    real = walk.junk_reason, drawing.svg_document
    if not enabled:
        walk.junk_reason, drawing.svg_document = (lambda path, head: None), as_text
    try:
        yield
    finally:
        walk.junk_reason, drawing.svg_document = real


def chunk_tree(tree: Path, count_tokens) -> tuple[int, int, float]:
    """(files chunked, chunks, seconds) for walk + extract + chunk of `tree`; a file that fails adds none."""
    from semsearch.ingest.chunk import chunk_document
    from semsearch.ingest.extract import extract
    from semsearch.ingest.walk import FoundFile, walk

    started = time.perf_counter()
    files = chunks = 0
    for item in walk([tree]):
        if isinstance(item, FoundFile):
            try:
                chunks += len(chunk_document(extract(item.path), count_tokens, max_tokens=200, overlap_tokens=30))
                files += 1
            except Exception:  # noqa: BLE001 - counted as no chunks, as the indexer would
                pass
    return files, chunks, time.perf_counter() - started


def run(quick: bool, tree: Path | None = None) -> list[Row]:
    from semsearch.embed.local import LocalEmbedder

    tree = tree or (FASTAPI_DOCS if FASTAPI_DOCS.is_dir() else ROOT / "data")
    count_tokens = LocalEmbedder().count_tokens
    results: dict[bool, list[tuple[int, int, float]]] = {True: [], False: []}
    for _ in range(1 if quick else 3):
        for enabled in (False, True):  # alternating, so a busy moment hits both
            with junk_rules(enabled):
                results[enabled].append(chunk_tree(tree, count_tokens))
    (files, after, _), (all_files, before, _) = results[True][0], results[False][0]
    seconds = {enabled: statistics.median(r[2] for r in runs) for enabled, runs in results.items()}
    note = (
        f"{tree.name}/: {files} of {all_files} files kept; chunking only, no embedding; median of {len(results[True])}"
    )
    return [
        Row("junk left out: chunks", after, before, "chunks", "< 0.5x on docs with drawings", False, note),
        Row("junk left out: chunk time", seconds[True], seconds[False], "s", "< 0.5x on docs with drawings", False,
            note),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--tree", type=Path, help="the folder to chunk (default: the FastAPI docs in ../shared)")
    args = parser.parse_args()
    print(HEADER)
    for row in run(args.quick, args.tree):
        print(row.format(), flush=True)


if __name__ == "__main__":
    main()
