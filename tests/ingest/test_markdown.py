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


CHANGELOG = """# Release Notes

## 0.115.0

### Features

* Support files in forms. PR [#16196](https://github.com/fastapi/fastapi/pull/16196) by [@alice](https://github.com/alice).
    * New docs: [Request Files](https://fastapi.tiangolo.com/tutorial/request-files/), see the [guide](files.md).

### Internal

* Bump a dependency. PR [#16197](https://github.com/fastapi/fastapi/pull/16197) by [@dependabot[bot]](https://github.com/apps/dependabot).

## 0.114.0

* Fix it, in [abc1234](https://github.com/fastapi/fastapi/commit/abc1234).
"""


def test_a_changelog_drops_its_references_urls_and_keeps_one_section_per_version(tmp_path):
    """Half a Markdown changelog's tokens were the URLs of pull request and author links (issue 18), and its
    "### Fixes", "### Docs" sections, a few lines each, made a chunk each."""
    notes = tmp_path / "release-notes.md"
    notes.write_text(CHANGELOG)
    readme = tmp_path / "README.md"
    readme.write_text(CHANGELOG)

    latest, older = extract(notes).sections
    assert latest.heading_path == ("Release Notes", "0.115.0") and (latest.start_line, latest.end_line) == (5, 12)
    assert "### Internal" in latest.text  # the version's parts stay in its text, in order
    assert "PR [#16196] by [@alice]." in latest.text and "PR [#16197] by [@dependabot[bot]]." in latest.text
    assert "github.com" not in latest.text
    # a link naming a page keeps its target, wherever it points
    assert "[Request Files](https://fastapi.tiangolo.com/tutorial/request-files/)" in latest.text
    assert "[guide](files.md)" in latest.text
    assert older.text == "* Fix it, in [abc1234]."
    # anywhere else, a URL is content and a heading is a section
    readme_sections = extract(readme).sections
    assert len(readme_sections) == 3 and "(https://github.com/fastapi/fastapi/pull/16196)" in readme_sections[0].text


def test_changelogs_are_known_by_their_path():
    from semsearch.ingest.changelog import is_changelog

    for path in ("CHANGELOG.md", "docs/release-notes.md", "HISTORY.rst", "doc/release/1.20.0-notes.rst",
                 "docs\\changes\\123.md", "NEWS"):  # fmt: skip
        assert is_changelog(path), path
    for path in ("README.md", "docs/tutorial/news-feed.md", "src/changes.py", "notes/setup.md"):
        assert not is_changelog(path), path
