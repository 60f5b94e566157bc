"""Cross-reference label lines (MyST `(name)=`, reST `.. _name:`) never become chunks of their own."""

from __future__ import annotations

from pathlib import Path

from semsearch.embed.local import LocalEmbedder
from semsearch.ingest.chunk import Chunk, chunk_document
from semsearch.ingest.extract import extract

COUNT_TOKENS = LocalEmbedder().count_tokens

MYST = """# Guide

Some introduction to the guide.

(shell-completion)=

## Shell completion

Click can complete commands, options and choices in bash, zsh and fish.

(options)=
## Options

Options are declared with the option decorator.
"""

RST = """Guide
=====

Some introduction.

.. _shell-completion:

Shell completion
----------------

Click can complete commands in bash, zsh and fish.

.. _click-docs: https://click.palletsprojects.com

See the docs.
"""


def chunked(path: Path, text: str) -> list[Chunk]:
    """The chunks of `text` written to `path` (128-token chunks)."""
    path.write_text(text)
    return chunk_document(extract(path), COUNT_TOKENS, max_tokens=128)


def test_label_lines_join_no_chunk_and_lines_keep_their_numbers(tmp_path):
    md = chunked(tmp_path / "guide.md", MYST)
    assert [(c.heading, c.start_line, c.end_line, c.text) for c in md] == [
        ("Guide", 3, 3, "Some introduction to the guide."),
        ("Guide > Shell completion", 9, 9, "Click can complete commands, options and choices in bash, zsh and fish."),
        ("Guide > Options", 14, 14, "Options are declared with the option decorator."),
    ]
    rst = chunked(tmp_path / "guide.rst", RST)
    assert [(c.heading, c.text) for c in rst] == [
        ("Guide", "Some introduction."),
        ("Guide > Shell completion", "Click can complete commands in bash, zsh and fish.\n\nSee the docs."),
    ]


def test_a_page_that_is_little_more_than_its_label_keeps_it():
    from semsearch.ingest.markup import blank_label_lines

    page = ".. _routines.fft:\n.. automodule:: numpy.fft\n"  # the label is most of what names the page
    assert blank_label_lines(page) == page
    assert blank_label_lines(RST).count("_shell-completion") == 0


PAGE = """.. currentmodule:: numpy

.. _arrays.datetime:

************************
Datetimes and timedeltas
************************

NumPy has array data types for dates and times.

.. _datetime-units:

Units
=====

Each datetime has a unit.
"""


def test_labels_above_the_first_heading_name_the_page_and_stay(tmp_path):
    """A page's own label names it (NumPy's "dates and times in arrays" found its page by it): it stays,
    as the page's first lines. Labels further down, above a section, are still dropped."""
    chunks = chunked(tmp_path / "arrays.datetime.rst", PAGE)
    assert [(c.heading, c.start_line, c.end_line, c.text) for c in chunks] == [
        ("", 1, 3, ".. currentmodule:: numpy\n\n.. _arrays.datetime:"),
        ("Datetimes and timedeltas", 9, 9, "NumPy has array data types for dates and times."),
        ("Datetimes and timedeltas > Units", 16, 16, "Each datetime has a unit."),
    ]
    md = chunked(tmp_path / "guide.md", "(guide)=\n\n# Guide\n\nHow to begin.\n\n(next)=\n## Next\n\nThen go on.\n")
    assert [(c.heading, c.start_line, c.text) for c in md] == [
        ("", 1, "(guide)="),
        ("Guide", 5, "How to begin."),
        ("Guide > Next", 10, "Then go on."),
    ]
