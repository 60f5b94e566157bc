"""Extraction keeps lines, pages and heading paths; chunks fit the model and follow the text."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.ingest.chunk import chunk_document
from semsearch.ingest.extract import ExtractError, extract
from semsearch.ingest.walk import FoundFile, walk

ROOT = Path(__file__).resolve().parents[2]
DOCS_CORPUS = ROOT.parent / "shared" / "eval" / "docs-corpus"


@pytest.fixture(scope="module")
def count_tokens():
    return LocalEmbedder().count_tokens


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_markdown_sections_have_heading_paths_and_exact_lines(tmp_path):
    text = (
        "# Title\n\nIntro line.\n\n## Install\n\nStep one.\nStep two.\n\n"
        "```\n# not a heading\n```\n\nSetext\n------\n\nBody.\n"
    )
    doc = extract(write(tmp_path, "a.md", text))
    assert doc.title == "Title"
    assert [(s.heading_path, s.start_line, s.end_line) for s in doc.sections] == [
        (("Title",), 3, 3),
        (("Title", "Install"), 7, 12),
        (("Title", "Setext"), 17, 17),
    ]
    assert doc.sections[1].text.startswith("Step one.\nStep two.") and "# not a heading" in doc.sections[1].text


def test_rst_headings_nest_by_adornment_order(tmp_path):
    text = (
        "=====\nGuide\n=====\n\nIntro.\n\nPart\n----\n\nText here.\n\n"
        "Sub\n~~~\n\nDeep.\n\nOther part\n----------\n\nMore.\n"
    )
    doc = extract(write(tmp_path, "a.rst", text))
    assert [(s.heading_path, s.start_line) for s in doc.sections] == [
        (("Guide",), 5),
        (("Guide", "Part"), 10),
        (("Guide", "Part", "Sub"), 15),
        (("Guide", "Other part"), 20),
    ]


def test_html_keeps_visible_text_and_headings(tmp_path):
    html = (
        "<html><head><title>Page</title><style>p{}</style></head><body>\n<h1>Top</h1>\n<p>Visible "
        "&amp; clear.</p>\n<script>var hidden = 1;</script>\n<h2>Part</h2>\n<p>Second</p>\n</body></html>\n"
    )
    doc = extract(write(tmp_path, "a.html", html))
    assert doc.title == "Page"
    assert [(s.heading_path, s.text, s.start_line) for s in doc.sections] == [
        (("Top",), "Visible & clear.", 3),
        (("Top", "Part"), "Second", 6),
    ]


def test_pdf_text_keeps_page_numbers():
    doc = extract(ROOT / "data" / "pdf" / "admin-handbook.pdf")
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert "Audit log" in " ".join(s.text for s in doc.sections) and doc.title == "Tidewater administrator handbook"


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("empty.md", "", "empty file"),
        ("blank.txt", "  \n\n ", "empty file"),
        ("corrupt.pdf", b"%PDF-1.4\n garbage", "corrupt PDF"),
        ("blank.pdf", b"", "corrupt PDF"),
    ],
)
def test_unreadable_files_raise_one_line_naming_the_file(tmp_path, name, content, problem):
    with pytest.raises(ExtractError) as info:
        extract(write(tmp_path, name, content))
    assert str(info.value).startswith(str(tmp_path / name)) and problem in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        "caf\u00e9 cr\u00e8me".encode("cp1252"),
        "\ufeffcaf\u00e9 cr\u00e8me".encode(),
        "caf\u00e9 cr\u00e8me".encode("utf-16"),
    ],
)
def test_other_encodings_fall_back(tmp_path, data):
    assert extract(write(tmp_path, "x.txt", data)).sections[0].text == "caf\u00e9 cr\u00e8me"


def test_chunks_never_exceed_the_budget_and_cover_their_lines(tmp_path, count_tokens):
    paragraphs = [" ".join(f"Sentence {p}.{s} talks about subject {p * s}." for s in range(12)) for p in range(8)]
    text = "# Long\n\n" + "\n\n".join(paragraphs) + "\n"
    path = write(tmp_path, "long.md", text)
    chunks = chunk_document(extract(path), count_tokens, max_tokens=64, overlap_tokens=16)
    assert len(chunks) > 8
    assert max(count_tokens([c.text for c in chunks])) <= 64
    lines = text.splitlines()
    for chunk in chunks:
        covered = "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert all(word in covered for word in chunk.text.split()), chunk
        assert chunk.heading == "Long"
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_split_sections_overlap_and_small_sections_stay_whole(tmp_path, count_tokens):
    long_paragraph = " ".join(f"Fact number {i} is true." for i in range(60))
    text = f"# A\n\nShort intro.\n\nSecond paragraph.\n\n# B\n\n{long_paragraph}\n"
    chunks = chunk_document(extract(write(tmp_path, "x.md", text)), count_tokens, max_tokens=80, overlap_tokens=20)
    assert chunks[0].text == "Short intro.\n\nSecond paragraph." and chunks[0].heading == "A"
    b_chunks = [c for c in chunks if c.heading == "B"]
    assert len(b_chunks) >= 3
    for first, second in zip(b_chunks, b_chunks[1:], strict=False):
        last_sentence = first.text.split(". ")[-1].strip(".")
        assert last_sentence in second.text  # the tail of one chunk opens the next


def test_a_huge_word_is_cut_to_fit(tmp_path, count_tokens):
    blob = "ab-" * 1500  # one whitespace-free "word" of 3,000 tokens
    chunks = chunk_document(extract(write(tmp_path, "b.txt", blob)), count_tokens, max_tokens=100)
    assert len(chunks) > 30 and max(count_tokens([c.text for c in chunks])) <= 100
    assert "".join(c.text for c in chunks) == blob


@pytest.mark.parametrize("folder", ["fastapi", "numpy"])
def test_real_documentation_folders_extract_and_chunk(folder, count_tokens, capsys):
    root = DOCS_CORPUS / folder
    assert root.is_dir(), f"missing shared corpus {root}"
    started = time.perf_counter()
    files = [f for f in walk([root]) if isinstance(f, FoundFile)]
    failures, chunks = [], 0
    for found in files:
        try:
            chunks += len(chunk_document(extract(found.path), count_tokens))
        except ExtractError as e:
            failures.append(str(e))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n{folder}: {len(files)} files, {chunks} chunks, extract+chunk {elapsed:.1f}s")
    assert len(files) > 100 and chunks > len(files)
    assert all("empty file" in f for f in failures), failures
