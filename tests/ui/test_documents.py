"""Slides and notebook cells on the search page: cards name them, and the file view shows the document's
extracted text with the chunk's lines (a real `semsearch ui` process over a real index)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.ingest.document_files import write_notebook, write_pptx
from tests.ui.conftest import build_index, ui_process


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("ui-documents")
    corpus = base / "corpus"
    corpus.mkdir()
    write_pptx(corpus / "review.pptx")
    write_notebook(corpus / "rain.ipynb")
    with ui_process(build_index(base / "index", corpus)) as (url, _):
        yield url


def best(url: str, query: str) -> dict:
    return requests.get(url + "api/search", params={"q": query, "k": 1}, timeout=60).json()["results"][0]


def test_cards_name_the_slide_and_the_cell(served):
    slide = best(served, "is the travel budget being cut")
    assert (Path(slide["path"]).name, slide["anchor"], slide["lines"]) == (
        "review.pptx",
        "slide 3",
        "slide 3, lines 16–20",
    )
    cell = best(served, "wettest month november")
    assert (Path(cell["path"]).name, cell["anchor"], cell["lines"]) == ("rain.ipynb", "cell 4", "cell 4, lines 18–22")
    page = requests.get(served, params={"q": "is the travel budget being cut"}, timeout=60).text
    assert '<span class="lines">slide 3, lines 16–20</span>' in page


def test_the_file_view_shows_the_extracted_text_at_the_chunks_lines(served):
    slide = best(served, "is the travel budget being cut")
    page = html.unescape(requests.get(served.rstrip("/") + slide["url"], timeout=60).text)
    assert "Matched slide 3, lines 16–20 · Budget" in page
    assert '<a class="ln" id="L14" href="#L14" data-n="14"></a><span class="tx">── slide 3 ──</span>' in page
    assert 'id="L20" href="#L20" data-n="20"></a><span class="tx">Notes: Mention that the offsite' in page
