"""What extraction produces: a document as sections of text that know their lines (or page) and heading path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from semsearch.errors import SemsearchError


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
    anchor: str | None = None  # the part of a notebook or deck it comes from: "cell 3", "slide 2"
    language: str | None = None  # a notebook's code cell: chunked at definitions in this tree-sitter language


@dataclass
class Document:
    path: Path
    kind: str
    sections: list[Section] = field(default_factory=list)
    title: str | None = None
    # The text that section line numbers count in, when it is extracted rather than the file's own
    # (notebooks, Office files, e-books): the file view shows it.
    text: str | None = None

    def anchor_at(self, line: int) -> str | None:
        """The anchor of the section holding this line (sections of anchored documents never share lines)."""
        return next((s.anchor for s in self.sections if s.start_line <= line <= s.end_line), None)


def headed(path: Path, kind: str, text: str, headings: list[tuple[int, int, int, str]]) -> Document:
    """Split lines into sections at headings: (first line, last heading line, level, title), 1-based."""
    lines = text.splitlines()
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    start = 1
    trail: tuple[str, ...] = ()
    bounds = [*headings, (len(lines) + 1, len(lines) + 1, 0, "")]
    for first, last, level, title in bounds:
        add_section(sections, lines, start, first - 1, trail)
        if level:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            trail = tuple(t for _, t in stack)
            start = last + 1
    doc_title = headings[0][3] if headings and headings[0][2] == min(h[2] for h in headings) else None
    return Document(path, kind, sections, doc_title)


def add_section(sections: list[Section], lines: list[str], start: int, end: int, trail: tuple[str, ...]) -> None:
    while start <= end and not lines[start - 1].strip():
        start += 1
    while end >= start and not lines[end - 1].strip():
        end -= 1
    if start <= end:
        sections.append(Section("\n".join(lines[start - 1 : end]), start, end, trail))
