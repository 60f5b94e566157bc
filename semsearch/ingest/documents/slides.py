"""PowerPoint decks (python-pptx): a section per slide, its title, text and speaker notes, anchored "slide N"."""

from __future__ import annotations

from pathlib import Path

from semsearch.ingest.document import Document
from semsearch.ingest.documents import corrupt
from semsearch.ingest.documents.builder import TextBuilder
from semsearch.ingest.text import read_bytes


def extract(path: Path, kind: str) -> Document:
    from pptx import Presentation

    read_bytes(path)  # "cannot read" (kept in the index) rather than "not readable" (dropped) for unreadable files
    try:
        deck = Presentation(str(path))
        slides = [_slide_text(slide) for slide in deck.slides]
        title = deck.core_properties.title
    except Exception as e:  # zip, XML and package errors
        raise corrupt(path, "PowerPoint file", e) from None
    out = TextBuilder()
    for number, (heading, body) in enumerate(slides, start=1):
        anchor = f"slide {number}"
        out.block(f"── {anchor} ──")
        out.add("\n\n".join(p for p in (heading, *body) if p), (heading,) if heading else (), anchor)
    return out.document(path, kind, title or next((h for h, _ in slides if h), None))


def _slide_text(slide) -> tuple[str, list[str]]:
    """(title, [text of each other shape, then the notes]) of one slide."""
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    title_id = title_shape.shape_id if title_shape is not None else None
    body = [text for shape in slide.shapes if shape.shape_id != title_id for text in _shape_text(shape)]
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            body.append("Notes: " + notes.text.strip())
    return title, body


def _shape_text(shape) -> list[str]:
    """Text of a shape: its text frame, a table's rows, or the shapes of a group."""
    if shape.shape_type is not None and getattr(shape, "shapes", None) is not None:  # a group
        return [text for inner in shape.shapes for text in _shape_text(inner)]
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in shape.table.rows]
        return ["\n".join(row for row in rows if row.strip(" |"))]
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame and shape.text_frame.text.strip():
        return [shape.text_frame.text.strip()]
    return []
