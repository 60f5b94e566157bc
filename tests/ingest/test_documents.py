"""Notebooks, Word, OpenDocument, PowerPoint and EPUB files, made with their own libraries, extracted and chunked."""

from __future__ import annotations

import base64
import json
import sys

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.ingest.chunk import chunk_document
from semsearch.ingest.documents import text_lines
from semsearch.ingest.extract import ExtractError, UnreadableFileError, extract
from semsearch.ingest.walk import FoundFile, walk
from tests.ingest.document_files import png_base64, write_docx, write_epub, write_notebook, write_odt, write_pptx


@pytest.fixture(scope="module")
def count_tokens():
    return LocalEmbedder().count_tokens


def chunks_of(path, count_tokens):
    return chunk_document(extract(path), count_tokens, max_tokens=128, overlap_tokens=16)


def test_a_notebook_has_a_chunk_per_cell_code_at_definitions_outputs_as_text_and_no_image(tmp_path, count_tokens):
    path = write_notebook(tmp_path / "rain.ipynb")
    doc = extract(path)
    chunks = chunks_of(path, count_tokens)
    assert (doc.kind, doc.title) == ("notebook", "Rainfall analysis")
    assert [(c.anchor, c.heading) for c in chunks] == [
        ("cell 1", "Rainfall analysis"),
        ("cell 2", "Rainfall analysis > monthly_rainfall"),  # the code chunker's symbol path, under the headings
        ("cell 4", "Rainfall analysis > Results"),  # cell 3 is a heading only
        ("cell 5", "Rainfall analysis > Results"),
    ]
    assert chunks[2].text == "print(summary)\n\nwettest month: november with 143 millimetres"  # code and its output
    assert chunks[3].text == "plot(monthly)\n\n<Figure size 640x480 with 1 Axes>"
    png = png_base64()
    assert png in path.read_text()
    assert not any(png[:40] in c.text or "image/png" in c.text for c in chunks)
    lines = text_lines(path)  # what the file view shows: the chunks' line numbers point into it
    for chunk in chunks:
        shown = "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert shown.startswith(chunk.text.split("\n")[0]) and shown.endswith(chunk.text.split("\n")[-1])
    assert "── cell 4 · code ──" in lines


def test_a_notebook_in_another_language_and_a_broken_one(tmp_path, count_tokens):
    notebook = json.loads(write_notebook(tmp_path / "a.ipynb").read_text())
    notebook["metadata"]["kernelspec"]["language"] = "brainfuck"  # no grammar: its code is packed as text
    (tmp_path / "b.ipynb").write_text(json.dumps(notebook))
    headings = [c.heading for c in chunks_of(tmp_path / "b.ipynb", count_tokens)]
    assert headings[1] == "Rainfall analysis"
    (tmp_path / "c.ipynb").write_text('{"cells": [')
    with pytest.raises(ExtractError, match=r"c\.ipynb: not a readable notebook \(NotJSONError"):
        extract(tmp_path / "c.ipynb")


def test_word_and_opendocument_keep_the_heading_path(tmp_path, count_tokens):
    docx = chunks_of(write_docx(tmp_path / "garden.docx"), count_tokens)
    assert extract(tmp_path / "garden.docx").title == "Garden handbook"
    assert [c.heading for c in docx] == [
        "Garden handbook",
        "Garden handbook > Watering",
        "Garden handbook > Compost",
    ]
    assert "Tomato | 20" in docx[1].text  # a table's rows
    odt = chunks_of(write_odt(tmp_path / "bike.odt"), count_tokens)
    assert [(c.heading, c.text) for c in odt] == [
        ("Bicycle maintenance", "Keep the chain clean."),
        (
            "Bicycle maintenance > Brakes",
            "Replace the brake pads when the grooves are worn away; check them every month.",
        ),
    ]
    assert all(c.anchor is None for c in docx + odt)


def test_a_deck_has_a_chunk_per_slide_with_title_text_and_notes(tmp_path, count_tokens):
    chunks = chunks_of(write_pptx(tmp_path / "review.pptx"), count_tokens)
    assert [(c.anchor, c.heading) for c in chunks] == [
        ("slide 1", "Quarterly review"),
        ("slide 2", "Hiring plan"),
        ("slide 3", "Budget"),
    ]
    assert chunks[2].text == (
        "Budget\n\nTravel costs are cut by a third; the conference budget moves to online events.\n\n"
        "Notes: Mention that the offsite in Porto is cancelled."
    )


def test_an_epub_has_its_chapters_under_their_headings(tmp_path, count_tokens):
    chunks = chunks_of(write_epub(tmp_path / "keeper.epub"), count_tokens)
    assert extract(tmp_path / "keeper.epub").title == "The lighthouse keeper"
    assert [c.heading for c in chunks] == [
        "Chapter 1: Arrival",
        "Chapter 1: Arrival > The lamp",
        "Winter",  # no heading in the chapter: its table-of-contents title
    ]


@pytest.mark.parametrize("name", ["x.docx", "x.pptx", "x.odt", "x.epub"])
def test_a_corrupt_document_is_one_line_naming_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 not really a zip file")
    with pytest.raises(ExtractError) as error:
        extract(path)
    assert str(error.value).startswith(f"{path}: not a readable ") and "\n" not in str(error.value)


def test_a_missing_library_is_one_line_naming_the_package(tmp_path, monkeypatch):
    path = write_pptx(tmp_path / "deck.pptx")
    monkeypatch.setitem(sys.modules, "pptx", None)  # import pptx raises ImportError
    with pytest.raises(UnreadableFileError) as error:
        extract(path)
    assert str(error.value) == (
        f"{path}: reading .pptx files needs python-pptx (import of pptx halted; None in sys.modules): "
        "pip install python-pptx"
    )


def test_the_walker_offers_documents_it_would_call_binary(tmp_path):
    write_docx(tmp_path / "a.docx")
    write_pptx(tmp_path / "b.pptx")
    write_epub(tmp_path / "c.epub")
    write_odt(tmp_path / "d.odt")
    (tmp_path / "e.ipynb").write_text(json.dumps({"x": base64.b64encode(b"\0" * 800_000).decode()}))  # one long line
    found = sorted(f.path.name for f in walk([tmp_path]) if isinstance(f, FoundFile))
    assert found == ["a.docx", "b.pptx", "c.epub", "d.odt", "e.ipynb"]
