"""Jupyter notebooks (nbformat): a section per cell, code cells cut at definitions, outputs as text.

Markdown cells carry the heading path the cells below them sit under. What a code cell printed
or returned is kept as text (the first MAX_OUTPUT_CHARS of it); images, HTML widgets and other
binary or base64 outputs are left out, so an executed notebook indexes like a clean one.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from semsearch.ingest.document import Document
from semsearch.ingest.documents import corrupt
from semsearch.ingest.documents.builder import HeadingTrail, TextBuilder
from semsearch.ingest.text import decode

MAX_OUTPUT_CHARS = 2000  # per cell: a printed table or a long log says what it is in its first lines
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colours in tracebacks and progress bars
_TEXT_MIME = ("text/plain", "text/markdown")  # what a display shows as text; image/*, text/html etc. are left out


def extract(path: Path, kind: str) -> Document:
    import nbformat

    from semsearch.ingest.code import DEFINITIONS
    from semsearch.ingest.markdown import markdown_headings
    from semsearch.ingest.markup import blank_label_lines

    text = decode(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing cell ids and the like: the cells are read all the same
            notebook = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as e:  # nbformat raises JSON, validation and version errors of many types
        raise corrupt(path, "notebook", e) from None
    metadata = notebook.get("metadata", {})
    language = str(
        metadata.get("kernelspec", {}).get("language") or metadata.get("language_info", {}).get("name") or "python"
    ).lower()
    grammar = language if language in DEFINITIONS else None
    out = TextBuilder()
    trail = HeadingTrail()
    title = metadata.get("title")
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        anchor = f"cell {number}"
        source = _text(cell.get("source", ""))
        kind_of_cell = cell.get("cell_type", "code")
        out.block(f"── {anchor} · {kind_of_cell} ──")
        if kind_of_cell == "markdown":
            source = blank_label_lines(source)
            first = out.block(source)
            start = first
            for head_first, head_last, level, heading in markdown_headings(source):
                out.section(start, first + head_first - 2, trail.path, anchor)
                trail.enter(level, heading)
                title = title or (heading if level == 1 else None)
                start = first + head_last
            out.section(start, len(out.lines), trail.path, anchor)
        elif kind_of_cell == "code":
            if source.strip():
                out.add(source, trail.path, anchor, grammar)
            printed = _outputs(cell.get("outputs", []))
            if printed:
                out.block("── output ──")
                out.add(printed, trail.path, anchor)
        elif source.strip():  # raw cells
            out.add(source, trail.path, anchor)
    return out.document(path, kind, title)


def _outputs(outputs: list) -> str:
    """The text a code cell's outputs show: streams, plain-text results, error names; no images."""
    pieces = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            pieces.append(_text(output.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            shown = next((data[mime] for mime in _TEXT_MIME if mime in data), "")
            pieces.append(_text(shown))
        elif kind == "error":
            pieces.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    text = _ANSI.sub("", "\n".join(p.strip("\n") for p in pieces if p.strip()))
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS].rstrip() + " …"


def _text(value) -> str:
    """nbformat keeps multi-line strings as a list of lines in some files."""
    return "".join(value) if isinstance(value, list) else str(value)
