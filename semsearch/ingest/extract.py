"""Turn a file into sections of text that know their lines (or page) and heading path."""

from __future__ import annotations

import re
from pathlib import Path

from semsearch.ingest.code import LANGUAGES as CODE_LANGUAGES
from semsearch.ingest.document import Document, ExtractError, Section, UnreadableFileError, add_section, headed
from semsearch.ingest.html import html_document
from semsearch.ingest.text import decode, decode_bytes, read_bytes

__all__ = [
    "Document",
    "ExtractError",
    "Section",
    "UnreadableFileError",
    "decode",
    "decode_bytes",
    "extract",
    "html_document",
    "read_bytes",
]

MARKDOWN = {".md", ".markdown", ".mdx"}
RST = {".rst", ".rest"}
HTML = {".html", ".htm", ".xhtml"}
CODE = {
    ".py", ".js", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".hpp", ".cs", ".rb",
    ".php", ".sh", ".bash", ".sql", ".swift", ".kt", ".scala", ".lua", ".r", ".jl", ".toml", ".yaml", ".yml",
    ".json", ".ini", ".cfg",
} | set(CODE_LANGUAGES)  # fmt: skip
# Read by semsearch.ingest.documents (notebooks, Word, OpenDocument, PowerPoint, EPUB).
DOCUMENTS = {".ipynb", ".docx", ".odt", ".pptx", ".epub"}


def extract(path: Path) -> Document:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _pdf(path)
    if suffix in DOCUMENTS:
        from semsearch.ingest.documents import extract_document

        return extract_document(path)
    text = decode(path)
    if not text.strip():
        raise ExtractError(f"{path}: empty file")
    if suffix in MARKDOWN:
        from semsearch.ingest.markdown import markdown_document

        return markdown_document(path, text)
    if suffix in RST:
        from semsearch.ingest.markup import blank_label_lines

        headings = _rst_headings(text)
        return headed(path, "rst", blank_label_lines(text, headings[0][0] if headings else None), headings)
    if suffix in HTML:
        return html_document(path, text)
    if suffix == ".svg":  # only when included: drawings are skipped by default (ingest.junk)
        from semsearch.ingest.drawing import svg_document

        return svg_document(path, text)
    return headed(path, "code" if suffix in CODE else "text", text, [])


# -- headed text formats ---------------------------------------------------------------------------


def _clean_heading(text: str) -> str:
    text = re.sub(r"\{\s*#[^}]*\}\s*$", "", text)  # "Title { #anchor }"
    text = re.sub(r"[*_`]", "", text)
    return text.strip()


_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")


def _rst_headings(text: str) -> list[tuple[int, int, int, str]]:
    """Underlined (and optionally overlined) titles; levels in order of first appearance."""
    lines = text.splitlines()
    styles: list[tuple[str, bool]] = []
    headings = []
    i = 0
    while i < len(lines) - 1:
        line, below = lines[i], lines[i + 1]
        over = _ADORNMENT.match(line)
        if over and i + 2 < len(lines) and lines[i + 1].strip() and _ADORNMENT.match(lines[i + 2]):
            style, title, first, last = (over.group(1), True), lines[i + 1].strip(), i + 1, i + 3
        elif (
            line.strip()
            and not over
            and (under := _ADORNMENT.match(below))
            and len(below.rstrip()) >= len(line.strip()) - 2
        ):
            style, title, first, last = (under.group(1), False), line.strip(), i + 1, i + 2
        else:
            i += 1
            continue
        if style not in styles:
            styles.append(style)
        headings.append((first, last, styles.index(style) + 1, _clean_heading(title)))
        i = last
    return headings


# -- PDF -------------------------------------------------------------------------------------------


def _pdf(path: Path) -> Document:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed files are reported as one line below
    read_bytes(path)  # say "cannot read" (kept in the index) rather than "corrupt" (dropped) for unreadable files
    try:
        reader = PdfReader(str(path), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as e:  # pypdf raises many types for corrupt files
        raise ExtractError(f"{path}: corrupt PDF ({type(e).__name__}: {e})") from None
    sections = []
    for number, text in enumerate(pages, start=1):
        lines = text.splitlines()
        if any(line.strip() for line in lines):
            add_section(sections, lines, 1, len(lines), ())
            sections[-1].page = number
    if not sections:
        raise ExtractError(f"{path}: no extractable text in PDF")
    title = None
    try:
        title = (reader.metadata or {}).get("/Title") or None
    except Exception:
        title = None
    return Document(path, "pdf", sections, str(title) if title else None)
