"""Turn a file into sections of text that know their lines (or page) and heading path."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from semsearch.errors import SemsearchError

MARKDOWN = {".md", ".markdown", ".mdx"}
RST = {".rst", ".rest"}
HTML = {".html", ".htm", ".xhtml"}
CODE = {
    ".py", ".js", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".hpp", ".cs", ".rb",
    ".php", ".sh", ".bash", ".sql", ".swift", ".kt", ".scala", ".lua", ".r", ".jl", ".toml", ".yaml", ".yml",
    ".json", ".ini", ".cfg",
}  # fmt: skip


class ExtractError(SemsearchError):
    """A file whose text cannot be read; the message names the file and the problem."""


class UnreadableFileError(ExtractError):
    """The file is there but could not be read (permissions, I/O): what was indexed from it is kept."""


@dataclass
class Section:
    text: str
    start_line: int
    end_line: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None


@dataclass
class Document:
    path: Path
    kind: str
    sections: list[Section] = field(default_factory=list)
    title: str | None = None


def extract(path: Path) -> Document:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _pdf(path)
    text = decode(path)
    if not text.strip():
        raise ExtractError(f"{path}: empty file")
    if suffix in MARKDOWN:
        from semsearch.ingest.markdown import markdown_document

        return markdown_document(path, text)
    if suffix in RST:
        return _headed(path, "rst", text, _rst_headings(text))
    if suffix in HTML:
        return _html(path, text)
    return _headed(path, "code" if suffix in CODE else "text", text, [])


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a file removed meanwhile is an ExtractError, one that cannot be read an UnreadableFileError."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ExtractError(f"{path}: file was removed while indexing") from None
    except OSError as e:
        raise UnreadableFileError(f"{path}: cannot read file ({e.strerror or e})") from None


def decode(path: Path) -> str:
    """Text of a file in any encoding: BOMs first, then UTF-8, else what charset-normalizer detects.

    NUL characters are dropped (they carry no words and upset tokenizers and terminals).
    """
    return decode_bytes(read_bytes(path))


def decode_bytes(data: bytes) -> str:
    """Text of bytes in any encoding, as `decode` reads files (the CLI's --queries files too)."""
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detect(data)
    return text.replace("\x00", "")


def _detect(data: bytes) -> str:
    """Legacy 8-bit or CJK text, decoded with the encoding charset-normalizer finds least chaotic.

    Western text decodes cleanly in several code pages (é in cp1252 is č in cp1250), and the
    language guess that breaks the tie is unreliable on short files (French reads as Croatian):
    among the cleanest candidates Windows-1252 wins, by far the most common of them and what
    browsers read Latin-1 as. Text using letters only another code page has (Polish ł, Czech ř)
    is not clean in cp1252, so it keeps its own.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return data.decode("cp1252", errors="replace")  # nothing coherent: keep what Latin script survives
    cleanest = min(match.percent_chaos for match in matches)
    for match in matches:
        if match.percent_chaos == cleanest and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace")
    return str(matches[0])


# -- headed text formats ---------------------------------------------------------------------------


def _headed(path: Path, kind: str, text: str, headings: list[tuple[int, int, int, str]]) -> Document:
    """Split lines into sections at headings: (first line, last heading line, level, title), 1-based."""
    lines = text.splitlines()
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    start = 1
    trail: tuple[str, ...] = ()
    bounds = [*headings, (len(lines) + 1, len(lines) + 1, 0, "")]
    for first, last, level, title in bounds:
        _add_section(sections, lines, start, first - 1, trail)
        if level:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            trail = tuple(t for _, t in stack)
            start = last + 1
    doc_title = headings[0][3] if headings and headings[0][2] == min(h[2] for h in headings) else None
    return Document(path, kind, sections, doc_title)


def _add_section(sections: list[Section], lines: list[str], start: int, end: int, trail: tuple[str, ...]) -> None:
    while start <= end and not lines[start - 1].strip():
        start += 1
    while end >= start and not lines[end - 1].strip():
        end -= 1
    if start <= end:
        sections.append(Section("\n".join(lines[start - 1 : end]), start, end, trail))


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


# -- HTML ------------------------------------------------------------------------------------------


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


def _html(path: Path, text: str) -> Document:
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
            _add_section(sections, lines, 1, len(lines), ())
            sections[-1].page = number
    if not sections:
        raise ExtractError(f"{path}: no extractable text in PDF")
    title = None
    try:
        title = (reader.metadata or {}).get("/Title") or None
    except Exception:
        title = None
    return Document(path, "pdf", sections, str(title) if title else None)
