"""Markdown structure from markdown-it-py: ATX and setext headings with exact lines, fences, front matter."""

from __future__ import annotations

from semsearch.ingest.extract import extract
from semsearch.ingest.markdown import markdown_headings, split_front_matter

DOC = """---
title: "Routing guide"
hide:
  - navigation
---

Intro text.

Setext Title
============

```python
# not a heading
x = 1
```

## Register [routes](routes.md) { #register }

    # indented code, not a heading

Second level
------------

- item

---

Closing text after a rule.
"""


def test_headings_have_exact_lines_and_ignore_code():
    body, title = split_front_matter(DOC)
    assert title == "Routing guide"
    assert body.count("\n") == DOC.count("\n") and body.startswith("\n\n\n\n\n\nIntro")
    assert markdown_headings(body) == [
        (9, 10, 1, "Setext Title"),
        (17, 17, 2, "Register routes"),
        (21, 22, 2, "Second level"),
    ]


def test_sections_carry_heading_paths_and_skip_front_matter(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(DOC)
    doc = extract(path)
    assert doc.title == "Routing guide"
    assert [(s.start_line, s.end_line, s.heading_path) for s in doc.sections] == [
        (7, 7, ()),
        (12, 15, ("Setext Title",)),
        (19, 19, ("Setext Title", "Register routes")),
        (24, 28, ("Setext Title", "Second level")),
    ]
    assert "hide:" not in "".join(s.text for s in doc.sections)


def test_a_rule_at_the_top_without_a_closing_one_is_not_front_matter():
    text = "---\n\nJust a rule.\n"
    assert split_front_matter(text) == (text, None)
