"""EPUB e-books (EbookLib): chapters in reading order, each one's visible text under its headings."""

from __future__ import annotations

import posixpath
from pathlib import Path

from semsearch.ingest.document import Document, ExtractError
from semsearch.ingest.documents import corrupt
from semsearch.ingest.documents.builder import TextBuilder
from semsearch.ingest.html import html_document
from semsearch.ingest.text import read_bytes


def extract(path: Path, kind: str) -> Document:
    import ebooklib
    from ebooklib import epub

    read_bytes(path)
    try:
        book = epub.read_epub(str(path), options={"ignore_ncx": True})
        toc = _toc_titles(book.toc)
        chapters = []
        for idref, _linear in book.spine:
            item = book.get_item_with_id(idref)
            # The navigation page (the table of contents as a page) is not a chapter.
            if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT and item.is_chapter():
                chapters.append((item.get_name(), item.get_content().decode("utf-8", errors="replace")))
        titles = book.get_metadata("DC", "title")
    except Exception as e:  # zip, XML and package errors
        raise corrupt(path, "EPUB file", e) from None
    out = TextBuilder()
    for name, html in chapters:
        try:
            chapter = html_document(path, html)
        except ExtractError:  # a cover or a page of images: no text
            continue
        chapter_title = toc.get(posixpath.normpath(name))
        shown: tuple[str, ...] = ()
        for section in chapter.sections:
            heading_path = section.heading_path or ((chapter_title,) if chapter_title else ())
            if heading_path and heading_path != shown:  # the file view shows the heading above its text
                out.block("#" * min(len(heading_path), 6) + " " + heading_path[-1])
                shown = heading_path
            out.add(section.text, heading_path)
    return out.document(path, kind, titles[0][0] if titles else None)


def _toc_titles(toc) -> dict[str, str]:
    """Table-of-contents titles by chapter file (fragments dropped): a chapter without headings is named by them."""
    titles: dict[str, str] = {}
    for entry in toc:
        if isinstance(entry, tuple):  # (section, children)
            section, children = entry
            titles.update({k: v for k, v in _toc_titles(children).items() if k not in titles})
            entry = section
        href = getattr(entry, "href", None)
        if href and getattr(entry, "title", None):
            titles.setdefault(posixpath.normpath(href.split("#")[0]), entry.title)
    return titles
