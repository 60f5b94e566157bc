"""Documents whose text lives inside a container: Jupyter notebooks, Word, OpenDocument, PowerPoint, EPUB.

Each format has its own module, on a maintained library (nbformat, python-docx, odfdo, python-pptx,
EbookLib). Each renders its document as plain text (the text the chunks' line numbers count in,
and what the page's file view shows) with sections under their heading path; a notebook's cells
and a deck's slides are anchors ("cell 3", "slide 2") that hits name.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from semsearch.ingest.document import Document, ExtractError, UnreadableFileError
from semsearch.ingest.text import decode

# suffix -> (module in this package, kind recorded for the file, the PyPI package that reads it)
FORMATS = {
    ".ipynb": ("notebook", "notebook", "nbformat"),
    ".docx": ("word", "docx", "python-docx"),
    ".odt": ("opendocument", "odt", "odfdo"),
    ".pptx": ("slides", "pptx", "python-pptx"),
    ".epub": ("epub", "epub", "EbookLib"),
}


def extract_document(path: Path) -> Document:
    """The document's text in sections (ExtractError names the file when it is not a readable document)."""
    module_name, kind, package = FORMATS[path.suffix.lower()]
    module = importlib.import_module(f"{__name__}.{module_name}")
    try:
        return module.extract(path, kind)
    except ImportError as e:  # installed without its dependencies: not the file's fault, what was indexed stays
        raise UnreadableFileError(
            f"{path}: reading {path.suffix} files needs {package} ({e}): pip install {package}"
        ) from None


def text_lines(path: Path) -> list[str]:
    """The lines a file's chunks count in: a document's extracted text, else the file's own lines."""
    if path.suffix.lower() in FORMATS:
        return (extract_document(path).text or "").split("\n")
    return decode(path).splitlines()


def corrupt(path: Path, what: str, error: Exception) -> ExtractError:
    """One line for a file its library cannot read."""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return ExtractError(f"{path}: not a readable {what} ({type(error).__name__}{': ' + detail if detail else ''})")
