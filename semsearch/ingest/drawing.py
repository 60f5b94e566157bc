"""The words of an SVG drawing: its title, description and labels, never its path data.

SVGs are skipped by default (semsearch.ingest.junk); one a user includes is indexed by the text
a person sees or a screen reader speaks, which is a few lines even for a 1 MB diagram.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from semsearch.ingest.document import Document, ExtractError, Section

HIDDEN = {"style", "script", "metadata", "defs"}  # CSS, code and editor data, not words a person sees


def svg_document(path: Path, text: str) -> Document:
    """One section of the drawing's text, a line per element; the <title> is the document's title."""
    try:
        root = ElementTree.fromstring(text)  # expat >= 2.4.1 refuses entity-expansion bombs
    except ElementTree.ParseError as e:
        raise ExtractError(f"{path}: not a valid SVG drawing ({e})") from None
    lines: list[str] = []
    title = None
    stack: list[ElementTree.Element | str] = [root]
    while stack:  # depth first, in document order, without recursion; a str is the text after an element
        element = stack.pop()
        if isinstance(element, str):
            tag, words = "", " ".join(element.split())
        else:
            tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
            if tag in HIDDEN:
                continue
            words = " ".join((element.text or "").split())
            stack.extend(reversed([item for child in element for item in (child, child.tail or "")]))
        if words:
            lines.append(words)
            title = title or (words if tag == "title" else None)
    if not lines:
        raise ExtractError(f"{path}: no text in the drawing")
    body = "\n".join(dict.fromkeys(lines))  # labels repeat (a shadow copy, a tspan per line): once each
    return Document(path, "svg", [Section(body, 1, text.count("\n") + 1)], title)
