"""Word documents (python-docx): paragraphs and tables in order, under their heading path."""

from __future__ import annotations

import re
from pathlib import Path

from semsearch.ingest.document import Document
from semsearch.ingest.documents import corrupt
from semsearch.ingest.documents.builder import from_blocks
from semsearch.ingest.text import read_bytes

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)  # built-in styles keep English names in every locale


def extract(path: Path, kind: str) -> Document:
    import docx
    from docx.table import Table

    read_bytes(path)
    try:
        document = docx.Document(str(path))
        blocks = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in item.rows]
                blocks.append((0, "\n".join(row for row in rows if row.strip(" |"))))
            else:
                blocks.append((_heading_level(item), item.text))
        title = document.core_properties.title
    except Exception as e:  # zip, XML and package errors
        raise corrupt(path, "Word file", e) from None
    return from_blocks(path, kind, blocks, title)


def _heading_level(paragraph) -> int:
    """1-9 for a heading paragraph (by its style or the style it is based on), 0 for body text."""
    style = paragraph.style
    while style is not None:
        name = style.name or ""
        if name.lower() == "title":
            return 1
        match = _HEADING_STYLE.match(name)
        if match:
            return int(match.group(1))
        style = style.base_style
    return 0
