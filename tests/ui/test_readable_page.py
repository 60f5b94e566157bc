"""The page reads well: snippets without markup, stemmed words marked, an icon, the file name kept in view.

Against a real `semsearch ui` over a small folder of MkDocs-style Markdown and reST (the markup
FastAPI's and NumPy's docs use), by HTTP and in the real headless Chromium.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote

import pytest

from tests.ui.conftest import build_index, ui_process

UPLOADS = """# Request Files { #request-files }

You can define files to be uploaded by the client using `File`.

/// note

To receive uploaded files, first install [`python-multipart`](https://github.com/Kludex/python-multipart).

```console
$ uv add python-multipart
```

///

{* ../../docs_src/request_files/tutorial001_an_py310.py hl[3] *}

If you declare the type of your parameter as `bytes`, **FastAPI** will read the file for you.
"""

SUMS = """Summing arrays
==============

.. note:: Use :func:`numpy.sum` with ``axis=0`` to add up the columns of a matrix, see
   `the reference <https://numpy.org/doc/>`_ for **all** the options.
"""

# A long page whose one matching passage sits near its end: opening it scrolls far down.
LONG = (
    "# Kitchen inventory\n\n"
    + "\n\n".join(f"## Shelf {n}\n\nJars of lentils, rice and oats stand on shelf number {n}." for n in range(1, 80))
    + "\n\n## The quince paste\n\nThe quince paste is kept in the cellar, wrapped in waxed paper.\n"
)


@pytest.fixture(scope="module")
def markup_url(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("markup") / "site"
    corpus.mkdir()
    (corpus / "request-files.md").write_text(UPLOADS)
    (corpus / "sums.rst").write_text(SUMS)
    (corpus / "kitchen.md").write_text(LONG)
    index = build_index(tmp_path_factory.mktemp("markup-index") / "index", corpus)
    with ui_process(index) as (url, _):
        yield url


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, response.headers["content-type"], response.read()


def search(base: str, query: str) -> list[dict]:
    status, _, body = get(f"{base}api/search?q={quote(query)}&mode=keyword")
    assert status == 200
    return json.loads(body)["results"]


def snippet_text(hit: dict) -> str:
    return "".join(text for text, _ in hit["snippet"])


def test_snippets_show_the_text_without_its_markup(markup_url):
    hit = next(h for h in search(markup_url, "uploaded files python-multipart") if h["path"] == "request-files.md")
    text = snippet_text(hit)
    for markup in ("///", "```", "**", "`", "{*", "{ #", "](https://"):
        assert markup not in text, (markup, text)
    assert "Note: To receive uploaded files, first install python-multipart." in text
    assert "$ uv add python-multipart" in text
    assert "FastAPI will read the file" in text

    rst = next(h for h in search(markup_url, "numpy sum columns") if h["path"] == "sums.rst")
    text = snippet_text(rst)
    assert "Note: Use numpy.sum with axis=0 to add up the columns of a matrix" in text, text
    assert "the reference for all the options" in text
    for markup in (":func:", "``", "`_", "**", "====", ".. note::"):
        assert markup not in text, (markup, text)


def test_the_server_rendered_card_shows_the_same_plain_snippet(markup_url):
    _, _, body = get(f"{markup_url}?q=FastAPI+bytes&mode=keyword")
    page = body.decode()
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', page, re.S)
    assert snippets and all("**" not in s and "```" not in s for s in snippets)
    assert any("<mark>FastAPI</mark> will read" in s for s in snippets), snippets


def test_other_forms_of_a_query_word_are_marked(markup_url):
    hit = next(h for h in search(markup_url, "upload") if h["path"] == "request-files.md")
    marked = [text for text, matched in hit["snippet"] if matched]
    assert marked.count("uploaded") == 2, hit["snippet"]  # "to be uploaded", "receive uploaded files"


def test_the_page_has_an_icon(markup_url):
    status, kind, body = get(markup_url + "favicon.ico")
    assert status == 200 and kind.startswith("image/svg+xml")
    assert body.lstrip().startswith(b"<svg")
    _, _, page = get(markup_url)
    assert b'<link rel="icon" href="/favicon.ico"' in page


def test_a_browser_finds_every_resource_it_asks_for(markup_url, page):
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(markup_url + "?q=upload")
    page.wait_for_selector("#results li.card")
    page.wait_for_timeout(300)  # the browser asks for the icon after the page has loaded
    assert missing == []
    assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200


def test_the_file_name_stays_in_view_after_jumping_to_a_match(markup_url, page):
    page.goto(markup_url + "?q=quince+paste")
    page.locator("#results li.card a").first.click()
    page.wait_for_url(re.compile(r"/file/\d+\?"))
    assert page.locator(".line.hit").first.is_visible()
    assert page.evaluate("window.scrollY") > 1000  # the match is far down the page: it scrolled
    name = page.locator("h1.file-path")
    assert name.inner_text() == "kitchen.md"
    assert page.evaluate("getComputedStyle(document.querySelector('.file-head')).position") == "sticky"
    box = name.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"] / 4
    # and the matched line is not hidden under it
    header_bottom = page.locator(".file-head").bounding_box()
    line = page.locator(".line.hit").first.bounding_box()
    assert line["y"] >= header_bottom["y"] + header_bottom["height"]
