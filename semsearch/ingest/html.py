"""HTML: the visible text of a page, in sections under its h1-h6 headings (pages, EPUB chapters)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from semsearch.ingest.document import Document, ExtractError, Section


class _VisibleText(HTMLParser):
    """Visible text with source line numbers; h1-h6 become headings."""

    SKIP = {"script", "style", "head", "noscript", "template", "svg"}
    BLOCK = {"p", "div", "li", "tr", "br", "section", "article", "pre", "blockquote", "table", "ul", "ol", "dd", "dt"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.heading: int | None = None
        self.heading_text: list[str] = []
        self.heading_line = 0
        self.title: str | None = None
        self.in_title = False
        # (line, text) pieces and (line, level, text) headings
        self.pieces: list[tuple[int, str]] = []
        self.headings: list[tuple[int, int, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        if tag in self.SKIP:
            self.skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.heading, self.heading_text, self.heading_line = int(tag[1]), [], self.getpos()[0]
        elif tag in self.BLOCK:
            self.pieces.append((self.getpos()[0], "\n"))

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif self.heading and tag == f"h{self.heading}":
            title = " ".join("".join(self.heading_text).split())
            if title:
                self.headings.append((self.heading_line, self.heading, title))
            self.heading = None
        elif tag in self.BLOCK:
            self.pieces.append((self.getpos()[0], "\n"))

    def handle_data(self, data):
        if self.in_title:
            self.title = (self.title or "") + data.strip()
        if self.skip:
            return
        if self.heading:
            self.heading_text.append(data)
        else:
            self.pieces.append((self.getpos()[0], data))


def html_document(path: Path, text: str) -> Document:
    """Visible text of an HTML page, in sections under its h1-h6 headings (EPUB chapters use it too)."""
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    bounds = [(line, level, title) for line, level, title in parser.headings]
    pieces = parser.pieces
    trail: tuple[str, ...] = ()
    cursor = 0
    for line, level, title in [*bounds, (10**9, 0, "")]:
        chunk = []
        while cursor < len(pieces) and pieces[cursor][0] < line:
            chunk.append(pieces[cursor])
            cursor += 1
        body = re.sub(r"[ \t]+", " ", "".join(p for _, p in chunk))
        body = re.sub(r"\n\s*\n\s*", "\n\n", body).strip()
        body = "\n".join(part.strip() for part in body.split("\n"))
        if body:
            real = [ln for ln, p in chunk if p.strip()]
            sections.append(Section(body, min(real), max(real), trail))
        if level:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            trail = tuple(t for _, t in stack)
    if not sections:
        raise ExtractError(f"{path}: no visible text")
    title = parser.title or (parser.headings[0][2] if parser.headings else None)
    return Document(path, "html", sections, title)
