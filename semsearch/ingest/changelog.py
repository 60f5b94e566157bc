"""Release notes and changelogs, recognised by their path.

Half a Markdown changelog's tokens were the link targets of its pull request, issue and author
references (`PR [#16196](https://github.com/...) by [@alice](https://github.com/alice)`), and
each version's "### Fixes", "### Docs" parts, a few lines each, made a chunk each: FastAPI's
`release-notes.md` made 2,081 chunks, and makes 1,023 with those targets left out (the reference,
`[#16196]`, stays) and one section per version (semsearch.ingest.markdown). Other links keep their
targets: `[Server-Sent Events](https://fastapi.tiangolo.com/...)` names a page, and without the
targets the release notes came first in dense search for "upload a file in a form" (QUALITY.md).
"""

from __future__ import annotations

import re

_CHANGES = re.compile(
    r"(^|/)((release[-_]?notes?|releases|changelogs?|changes|news|whatsnew)/[^/]*\.(md|rst|txt|adoc)"
    r"|([^/]*[-_.](notes|changelog)|changelog|changes|news|history|release[-_]?notes?)(\.(md|rst|txt|adoc))?)$"
)
# A reference's link: its text a pull request or issue number, an @author or a commit hash.
_REFERENCE_LINK = re.compile(r"\[(#\d+|@[\w.\-]+(?:\[bot\])?|[0-9a-f]{7,40})\]\((?:https?://|www\.)[^)\s]*\)")


def is_changelog(path: str) -> bool:
    """release/1.20.0-notes.rst, CHANGELOG.md, docs/changes/123.md, HISTORY, release-notes.md..."""
    return _CHANGES.search(path.replace("\\", "/").lower()) is not None


def drop_link_targets(text: str) -> str:
    """`[#16196](https://github.com/...)` -> `[#16196]`, `[@alice](...)` -> `[@alice]`; lines stay where they were.

    Other links keep their targets: `[Server-Sent Events](https://fastapi.tiangolo.com/...)` names a page.
    """
    return _REFERENCE_LINK.sub(r"[\1]", text)
