"""OpenDocument text (odfdo): headings (text:h, with their outline level) and paragraphs in order."""

from __future__ import annotations

from pathlib import Path

from semsearch.ingest.document import Document
from semsearch.ingest.documents import corrupt
from semsearch.ingest.documents.builder import from_blocks
from semsearch.ingest.text import read_bytes


def extract(path: Path, kind: str) -> Document:
    from odfdo import Document as OdfDocument

    read_bytes(path)
    try:
        document = OdfDocument(str(path))
        blocks = []
        for element in document.body.get_elements("descendant::text:h | descendant::text:p"):
            if element.tag == "text:h":
                blocks.append((max(1, int(element.get_attribute("text:outline-level") or 1)), element.inner_text))
            elif not _inside_heading_or_paragraph(element):
                blocks.append((0, element.inner_text))
        title = document.get_part("meta").get_title() if document.get_part("meta") is not None else None
    except Exception as e:  # zip, XML and package errors
        raise corrupt(path, "OpenDocument file", e) from None
    return from_blocks(path, kind, blocks, title)


def _inside_heading_or_paragraph(element) -> bool:
    """A paragraph nested in another one (a note's body) is part of that one's text."""
    parent = element.parent
    while parent is not None:
        if parent.tag in ("text:h", "text:p"):
            return True
        parent = parent.parent
    return False
