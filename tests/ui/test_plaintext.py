"""Snippet text without markup (pure functions, no browser); the page's own tests are in test_readable_page."""

from __future__ import annotations

from semsearch.ui.plaintext import plain_text


def test_markdown_loses_its_markup_but_keeps_its_words_and_code():
    text = (
        "## Tables { #tables }\n\n| name | use |\n|---|---|\n| `sum` | adds *things* |\n\n"
        '!!! tip "Keep it short"\n    A <abbr title="x">CLI</abbr> ![logo](a.png) [link text](https://a.b).\n\n'
        "    indented code\n"
    )
    assert plain_text(text, "docs/a.md").splitlines() == [
        "Tables",
        "name use",
        "sum adds things",
        "Tip: Keep it short: A CLI logo link text.",
        "indented code",
    ]


def test_other_files_keep_their_text_as_it_is():
    code = "def f(*args, **kwargs):\n    return `x`  # ## not a heading\n"
    assert plain_text(code, "src/f.py") == code
    assert plain_text("**bold** in a note", "notes/ideas.txt") == "**bold** in a note"


def test_formatting_tags_go_and_other_tags_stay_as_text():
    text = 'An <abbr title="Asynchronous Server Gateway Interface">ASGI</abbr> app; <script>alert(1)</script> stays.'
    assert plain_text(text, "a.md") == "An ASGI app; <script>alert(1)</script> stays."
    console = '<div class="termy">\n\n```console\n$ pip install x\n```\n\n</div>\n'
    assert plain_text(console, "a.md") == "$ pip install x"
