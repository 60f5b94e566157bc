"""Plain text assembled block by block, with the sections (what gets chunked) placed in it by line."""

from __future__ import annotations

from pathlib import Path

from semsearch.ingest.document import Document, ExtractError, Section


class TextBuilder:
    """Blocks of text separated by a blank line; line numbers are 1-based and final once a block is added."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.sections: list[Section] = []

    def block(self, text: str) -> int:
        """Append a block that is shown but not chunked by itself (a label, a heading); returns its first line."""
        if self.lines:
            self.lines.append("")
        first = len(self.lines) + 1
        self.lines.extend(text.replace("\x00", "").splitlines() or [""])
        return first

    def section(
        self,
        first: int,
        last: int,
        heading_path: tuple[str, ...],
        anchor: str | None = None,
        language: str | None = None,
    ) -> None:
        """Lines first..last (blank ones at either end left out) become a section, if any is not blank."""
        while first <= last and not self.lines[first - 1].strip():
            first += 1
        while last >= first and not self.lines[last - 1].strip():
            last -= 1
        if first <= last:
            text = "\n".join(self.lines[first - 1 : last])
            self.sections.append(Section(text, first, last, heading_path, anchor=anchor, language=language))

    def add(self, text: str, heading_path: tuple[str, ...], anchor: str | None = None, language: str | None = None):
        """Append a block that is a section."""
        first = self.block(text)
        self.section(first, len(self.lines), heading_path, anchor, language)

    def document(self, path: Path, kind: str, title: str | None) -> Document:
        if not self.sections:
            raise ExtractError(f"{path}: no text in the {kind} file")
        return Document(path, kind, self.sections, title or None, text="\n".join(self.lines))


class HeadingTrail:
    """The path of headings above the current text, as levels come and go."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, title))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self.stack)


def from_blocks(path: Path, kind: str, blocks: list[tuple[int, str]], title: str | None) -> Document:
    """Sections from (heading level or 0, text) blocks in reading order; consecutive paragraphs form one section."""
    out = TextBuilder()
    trail = HeadingTrail()
    start: int | None = None
    for level, text in blocks:
        text = text.strip()
        if not text:
            continue
        if level:
            if start is not None:
                out.section(start, len(out.lines), trail.path)
                start = None
            out.block("#" * min(level, 6) + " " + " ".join(text.split()))
            trail.enter(level, " ".join(text.split()))
            title = title or (trail.path[0] if level == 1 else None)
        else:
            first = out.block(text)
            start = first if start is None else start
    if start is not None:
        out.section(start, len(out.lines), trail.path)
    return out.document(path, kind, title)
