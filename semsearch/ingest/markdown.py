"""Markdown structure from a real CommonMark parser (markdown-it-py) instead of heading regexes.

The parser's line maps give each heading's exact lines; ATX and setext headings are both
found, and a `#` inside a fenced code block, an HTML block or a list item's code is not a
heading. YAML/TOML front matter (`---` ... `---` or `+++` ... `+++` on the first line) is
metadata, not text: it is left out of the chunks (a `title:` in it names the document).
"""

from __future__ import annotations

import re
from pathlib import Path

from semsearch.ingest.changelog import drop_link_targets, is_changelog
from semsearch.ingest.document import Document, headed
from semsearch.ingest.markup import blank_label_lines

CHANGELOG_SECTION_LEVEL = 2  # a changelog's version; its "### Fixes", "### Docs" stay in the version's text
_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)[ \t]*\r?\n(.*?\r?\n)?\1[ \t]*(\r?\n|\Z)", re.S)


def markdown_document(path: Path, text: str) -> Document:
    """Sections between headings, each with its heading path; front matter left out."""
    body, title = split_front_matter(text)
    changelog = is_changelog(str(path))
    if changelog:
        body = drop_link_targets(body)
    headings = markdown_headings(blank_label_lines(body))  # parsed once, as no label were there
    if changelog:
        headings = [h for h in headings if h[2] <= CHANGELOG_SECTION_LEVEL]
    doc = headed(path, "markdown", blank_label_lines(body, headings[0][0] if headings else None), headings)
    if title:
        doc.title = title
    return doc


def split_front_matter(text: str) -> tuple[str, str | None]:
    """(text with the front matter's lines blanked, so line numbers stay the file's; its title, if any)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, None
    block = match.group(0)
    title = re.search(r"^title\s*[:=]\s*[\"']?(.*?)[\"']?\s*$", match.group(2) or "", re.M)
    blanked = "\n" * block.count("\n") + text[len(block) :]
    return blanked, (title.group(1).strip() or None) if title else None


def markdown_headings(text: str) -> list[tuple[int, int, int, str]]:
    """(first line, last line, level, title) of each heading, 1-based; setext headings span two lines."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    tokens = parser.parse(text)
    headings = []
    for n, token in enumerate(tokens):
        if token.type != "heading_open" or token.map is None or token.level != 0:
            continue
        inline = tokens[n + 1] if n + 1 < len(tokens) else None
        title = _plain(inline.content if inline is not None else "")
        if title:
            first, end = token.map
            headings.append((first + 1, end, int(token.tag[1]), title))
    return headings


def _plain(text: str) -> str:
    text = re.sub(r"\{\s*#[^}]*\}\s*$", "", text)  # "Title { #anchor }" (attribute lists)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images keep their text
    text = re.sub(r"[*_`]", "", text)
    return " ".join(text.split())
