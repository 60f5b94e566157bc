"""Cut documents into chunks that fit the model's context, along natural boundaries.

Whole paragraphs of a section are packed together up to the token budget; a paragraph
too long for one chunk is split at sentences, a sentence at words. When a section has to
be split, each chunk after the first starts with the tail of the previous one (overlap),
so an answer that straddles a cut is still found. Token counts come from the model's own
tokenizer, in batched calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from semsearch.ingest.extract import Document, Section

SPECIAL_TOKENS = 2  # [CLS] and [SEP], included in every count_tokens result
SAFETY_MARGIN = 4  # joining units can merge or split a token at the seams

CountTokens = Callable[[list[str]], list[int]]
# Source files are cut at definitions (tree-sitter); False restores the paragraph chunker for them
# (benchmarks/bench_quality.py measures both).
SYNTAX_AWARE_CODE = True


@dataclass
class Chunk:
    text: str
    start_line: int
    end_line: int
    heading: str
    page: int | None
    ordinal: int
    anchor: str | None = None  # "cell 3", "slide 2": set from the document's sections


@dataclass
class _Unit:
    """A piece that is never split further at this level: paragraph, sentence or word run."""

    text: str
    start_line: int
    end_line: int
    tokens: int  # without special tokens
    paragraph: int = 0  # pieces of one paragraph are joined with a space, paragraphs with a blank line


_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[\"'(\[]?[A-Z0-9])|\n")


def chunk_document(
    doc: Document, count_tokens: CountTokens, *, max_tokens: int = 200, overlap_tokens: int = 30
) -> list[Chunk]:
    """Chunks of at most `max_tokens` tokens (special tokens included) covering the document.

    Source code in a language tree-sitter knows is cut at definitions (semsearch.ingest.code);
    everything else at headings, paragraphs and sentences.
    """
    if SYNTAX_AWARE_CODE and doc.kind == "code":
        code_chunks = _code_chunks(doc, count_tokens, max_tokens)
        if code_chunks is not None:
            return code_chunks
    if SYNTAX_AWARE_CODE and any(section.language for section in doc.sections):
        return _anchored(doc, _cells(doc, count_tokens, max_tokens, overlap_tokens))
    budget = max(8, max_tokens - SPECIAL_TOKENS - SAFETY_MARGIN)
    paragraphs = [(section, unit) for section in doc.sections for unit in _paragraphs(section)]
    counts = count_tokens([u.text for _, u in paragraphs]) if paragraphs else []
    by_section: dict[int, list[_Unit]] = {}
    for number, ((section, unit), count) in enumerate(zip(paragraphs, counts, strict=True)):
        unit.tokens = count - SPECIAL_TOKENS
        unit.paragraph = number
        by_section.setdefault(id(section), []).append(unit)

    chunks: list[Chunk] = []
    for section in doc.sections:
        units = by_section.get(id(section), [])
        units = [piece for unit in units for piece in _fit(unit, budget, count_tokens)]
        heading = " > ".join(section.heading_path)
        for text, start, end in _pack(units, budget, overlap_tokens):
            chunks.append(Chunk(text, start, end, heading, section.page, len(chunks)))
    return _anchored(doc, _enforce_limit(chunks, count_tokens, max_tokens))


def _cells(doc: Document, count_tokens: CountTokens, max_tokens: int, overlap_tokens: int) -> list[Chunk]:
    """A notebook: each code cell cut at definitions like a source file, the other sections as text."""

    def text_chunks(sections: list[Section]) -> list[Chunk]:
        return chunk_document(replace(doc, sections=sections), count_tokens, max_tokens=max_tokens,
                              overlap_tokens=overlap_tokens)  # fmt: skip

    chunks: list[Chunk] = []
    prose: list[Section] = []
    sections = doc.sections
    i = 0
    while i < len(sections):
        section = sections[i]
        i += 1
        if section.language is None:
            prose.append(section)
            continue
        chunks += text_chunks(prose)
        prose = []
        cell = _code_chunks(replace(doc, kind="code", sections=[section]), count_tokens, max_tokens)
        if cell is None:  # no grammar for the language: packed as text
            cell = text_chunks([replace(section, language=None)])
        outputs: list[Section] = []  # the sections after it in the same cell: what it printed
        while i < len(sections) and sections[i].language is None and sections[i].anchor == section.anchor:
            outputs.append(sections[i])
            i += 1
        chunks += _with_output(cell, text_chunks(outputs), count_tokens, max_tokens)
    chunks += text_chunks(prose)
    for ordinal, chunk in enumerate(chunks):
        chunk.ordinal = ordinal
    return chunks


def _with_output(code: list[Chunk], output: list[Chunk], count_tokens: CountTokens, max_tokens: int) -> list[Chunk]:
    """A cell's output joins its last code chunk when both fit in one: the code and what it printed, together."""
    if code and output:
        last, first = code[-1], output[0]
        text = f"{last.text}\n\n{first.text}"
        if count_tokens([text])[0] <= max_tokens:
            code[-1] = Chunk(text, last.start_line, first.end_line, last.heading, None, 0)
            output = output[1:]
    return code + output


def _anchored(doc: Document, chunks: list[Chunk]) -> list[Chunk]:
    """Give each chunk the anchor (cell, slide) of the section it comes from."""
    if any(section.anchor for section in doc.sections):
        for chunk in chunks:
            chunk.anchor = doc.anchor_at(chunk.start_line)
    return chunks


def _code_chunks(doc: Document, count_tokens: CountTokens, max_tokens: int) -> list[Chunk] | None:
    """Definition-shaped chunks, or None for a language without a grammar (today's chunker takes it)."""
    from semsearch.ingest.code import chunk_code, language_for

    if len(doc.sections) != 1:
        return None
    section = doc.sections[0]
    language = section.language or language_for(doc.path)
    if language is None:
        return None
    offset = section.start_line - 1
    root = " > ".join(section.heading_path) or doc.path.name  # a notebook cell's symbols sit under its headings
    pieces = chunk_code(section.text, language, root, count_tokens, max_tokens=max_tokens)
    lines = section.text.split("\n")
    chunks = [
        Chunk("\n".join(lines[p.start_line - 1 : p.end_line]), p.start_line + offset, p.end_line + offset, p.heading,
              None, n)
        for n, p in enumerate(pieces)
    ]  # fmt: skip
    return _enforce_limit(chunks, count_tokens, max_tokens)


def _paragraphs(section: Section) -> list[_Unit]:
    """Blank-line separated blocks of a section, with their line numbers."""
    units: list[_Unit] = []
    lines = section.text.split("\n")
    block: list[str] = []
    first = 0
    for offset, line in enumerate([*lines, ""]):
        if line.strip():
            if not block:
                first = offset
            block.append(line)
        elif block:
            start = section.start_line + first
            units.append(_Unit("\n".join(block), start, start + len(block) - 1, 0))
            block = []
    return units


def _fit(unit: _Unit, budget: int, count_tokens: CountTokens) -> list[_Unit]:
    """Split a unit over budget into sentences, and a sentence over budget into word runs."""
    if unit.tokens <= budget:
        return [unit]
    pieces = _sentences(unit)
    if len(pieces) > 1:
        for piece, count in zip(pieces, count_tokens([p.text for p in pieces]), strict=True):
            piece.tokens = count - SPECIAL_TOKENS
        return [small for piece in pieces for small in _fit(piece, budget, count_tokens)]
    return _word_runs(unit, budget, count_tokens)


def _sentences(unit: _Unit) -> list[_Unit]:
    pieces = []
    position = 0
    text = unit.text
    counted, newlines = 0, 0  # newlines in text[:counted]: counting from 0 each time is quadratic on a huge line

    def line_at(offset: int) -> int:
        nonlocal counted, newlines
        newlines += text.count("\n", counted, offset)
        counted = offset
        return unit.start_line + newlines

    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[position:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            first_line = line_at(position + lead)
            last_line = line_at(end)
            pieces.append(_Unit(piece.strip(), first_line, max(first_line, last_line), 0, unit.paragraph))
        if match:
            position = match.end()
    return pieces


def _word_runs(unit: _Unit, budget: int, count_tokens: CountTokens) -> list[_Unit]:
    """Greedy runs of whole words; a single word longer than the budget is cut by characters."""
    words = unit.text.split()
    counts = [c - SPECIAL_TOKENS for c in count_tokens(words)]
    runs: list[_Unit] = []
    current: list[str] = []
    used = 0
    for word, tokens in zip(words, counts, strict=True):
        if tokens > budget:  # e.g. a base64 blob: cut it into pieces of ~budget characters
            parts = _slices(word, max(1, budget * len(word) // tokens))
            words_counts = list(zip(parts, [budget] * len(parts), strict=True))
        else:
            words_counts = [(word, tokens)]
        for part, part_tokens in words_counts:
            if current and used + part_tokens > budget:
                runs.append(_Unit(" ".join(current), unit.start_line, unit.end_line, used, unit.paragraph))
                current, used = [], 0
            current.append(part)
            used += part_tokens
    if current:
        runs.append(_Unit(" ".join(current), unit.start_line, unit.end_line, used, unit.paragraph))
    return runs


def _pack(units: list[_Unit], budget: int, overlap_tokens: int) -> list[tuple[str, int, int]]:
    """Greedy packing of units into chunks, carrying trailing units forward as overlap."""
    chunks: list[tuple[str, int, int]] = []
    current: list[_Unit] = []
    used = 0
    for unit in units:
        if current and used + unit.tokens > budget:
            chunks.append(_join(current))
            carried: list[_Unit] = []
            carried_tokens = 0
            for previous in reversed(current):
                grown = carried_tokens + previous.tokens
                if grown > overlap_tokens or grown + unit.tokens > budget:
                    break
                carried.insert(0, previous)
                carried_tokens += previous.tokens
            current, used = carried, carried_tokens
        current.append(unit)
        used += unit.tokens
    if current:
        chunks.append(_join(current))
    return chunks


def _join(units: list[_Unit]) -> tuple[str, int, int]:
    text = units[0].text
    for previous, unit in zip(units, units[1:], strict=False):
        text += (" " if unit.paragraph == previous.paragraph else "\n\n") + unit.text
    return text, units[0].start_line, max(u.end_line for u in units)


def _enforce_limit(chunks: list[Chunk], count_tokens: CountTokens, max_tokens: int) -> list[Chunk]:
    """Check the final chunks in one batch; split any that tokenized longer than planned.

    A piece over the limit is halved at a space, or by characters when it is one long token (a URL,
    a compact JSON line, a base64 blob), so every split shortens it and the work list empties.
    """
    if not chunks:
        return chunks
    result: list[Chunk] = []
    todo = list(zip(chunks, count_tokens([c.text for c in chunks]), strict=True))
    todo.reverse()  # a stack, popped in document order
    while todo:
        chunk, count = todo.pop()
        if count <= max_tokens or len(chunk.text) < 2:
            result.append(chunk)
            continue
        parts = [
            Chunk(part, chunk.start_line, chunk.end_line, chunk.heading, chunk.page, 0)
            for part in _halves(chunk.text)
            if part.strip()
        ]
        counts = count_tokens([p.text for p in parts])
        todo.extend(reversed(list(zip(parts, counts, strict=True))))
    for ordinal, chunk in enumerate(result):
        chunk.ordinal = ordinal
    return result


def _halves(text: str) -> tuple[str, str]:
    """Two shorter pieces of `text` (at least 2 characters): cut at the space nearest the middle, else
    after the punctuation nearest it (a URL's "/", a JSON ","), else in the middle."""
    middle = len(text) // 2
    left, right = text.rfind(" ", 0, middle + 1), text.find(" ", middle)
    spaces = [i for i in (left, right) if 0 < i < len(text) - 1]
    if spaces:
        cut = min(spaces, key=lambda i: abs(i - middle))
        return text[:cut], text[cut + 1 :]
    breaks = [m.end() for m in _BREAK.finditer(text, len(text) // 4, len(text) - len(text) // 4)]
    breaks = [i for i in breaks if 0 < i < len(text)]
    cut = min(breaks, key=lambda i: abs(i - middle)) if breaks else middle
    return text[:cut], text[cut:]


_BREAK = re.compile(r"[^\w\s]+")  # punctuation: where a long token (URL, JSON, path) may be cut between words


def _slices(word: str, step: int) -> list[str]:
    """Pieces of at most `step` characters, each cut after punctuation in its second half when there is
    some, so that a long URL or JSON line splits between its words, not inside them."""
    parts = []
    start = 0
    while len(word) - start > step:
        end = start + step
        cut = end
        for match in _BREAK.finditer(word, start + step // 2, end):
            cut = match.end()
        parts.append(word[start:cut])
        start = cut
    parts.append(word[start:])
    return parts
