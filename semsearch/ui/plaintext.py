"""A chunk's text as a person reads it: Markdown and reST markup taken out, for result snippets.

A snippet shows `**FastAPI**` as "FastAPI", a ```` ```console ```` fence as the commands in it,
a link as its text and `/// note` as "Note:". Markdown goes through a CommonMark parser
(markdown-it-py, which the chunker uses too); what CommonMark does not know (MkDocs admonitions and
includes, heading anchors, reST roles and directives) is handled line by line. The result is plain
text: the page still escapes it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePath

from semsearch.ingest.extract import MARKDOWN, RST

# MkDocs / pymdown-extensions: `/// note | Title` ... `///` blocks, `!!! tip "Title"` admonitions,
# `{* file.py hl[3] *}` includes, `{ #anchor }` heading attributes.
_BLOCK_FENCE = re.compile(r"^[ \t]*(?:///|!!!|\?\?\?\+?)[ \t]*([\w-]*)[ \t]*(?:\|[ \t]*(.*?)|\"(.*?)\")?[ \t]*$", re.M)
_INCLUDE = re.compile(r"^[ \t]*\{\*.*\*\}[ \t]*$", re.M)
_ATTRIBUTES = re.compile(r"[ \t]*\{[ \t]*#[\w.:-]+[^}\n]*\}[ \t]*$", re.M)
# HTML tags that only format or lay out text (FastAPI's docs wrap terms in <abbr>, consoles in <div>) are
# dropped; any other tag (`<script>` in a page about scripts) is text like the rest and stays, escaped.
_TAG = re.compile(r"</?([A-Za-z][\w-]*)\b[^>\n]*>")
_FORMATTING = (
    "a abbr b big br cite code dd del details dfn div dl dt em figcaption figure font h1 h2 h3 h4 h5 h6 hr i img "
    "ins kbd li mark ol p pre q s samp section small span strong sub summary sup table tbody td tfoot th thead tr "
    "tt u ul var"
)
FORMATTING_TAGS = frozenset(_FORMATTING.split())

# reST: `.. note::` directives, `:role:`text`` roles, ``literals``, `text <url>`_ links, **strong**,
# *emphasis*, heading under- and overlines.
_DIRECTIVE = re.compile(r"^([ \t]*)\.\.[ \t]+([\w-]+)::[ \t]*(.*)$", re.M)
_COMMENT = re.compile(r"^[ \t]*\.\.(?:[ \t]+(?!\w[\w-]*::).*)?$", re.M)
_OPTION = re.compile(r"^[ \t]+:[\w -]+:.*$", re.M)
_ROLE = re.compile(r":[\w:+-]+:`([^`<]*?)(?:\s*<[^>`]*>)?`")
_LINK = re.compile(r"`([^`<]+?)\s*<[^>`]*>`_{1,2}")
_LITERAL = re.compile(r"``(.+?)``")
_REF = re.compile(r"`([^`]+)`_{1,2}")
_STRONG = re.compile(r"\*\*(.+?)\*\*|(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])")
_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}[ \t]*$", re.M)

_SEPARATE = {"paragraph_close", "heading_close", "fence", "code_block", "html_block", "tr_close", "hr"}


@lru_cache(maxsize=2048)  # a keystroke's results are mostly the last keystroke's: parse each chunk once
def plain_text(text: str, path: str = "") -> str:
    """`text` without its markup when `path` is a Markdown or reST file; any other text as it is."""
    suffix = PurePath(path).suffix.lower()
    if suffix in MARKDOWN:
        return markdown_text(text)
    if suffix in RST:
        return rst_text(text)
    return text


def _admonition(match: re.Match) -> str:
    kind, title = match.group(1), match.group(2) or match.group(3)
    label = kind.replace("-", " ").capitalize() if kind else ""
    if label and title:
        return f"{label}: {title}:"
    return f"{label}:" if label else (f"{title}:" if title else "")


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def markdown_text(text: str) -> str:
    """The words of a Markdown chunk: inline markup dropped, code kept without its fences, one line a block."""
    text = _INCLUDE.sub("", text)
    text = _BLOCK_FENCE.sub(_admonition, text)
    text = _ATTRIBUTES.sub("", text)
    out: list[str] = []
    for token in _parser().parse(text):
        if token.type == "inline":
            out.append(_inline(token.children or []))
        elif token.type in ("fence", "code_block"):
            out.append(token.content.strip("\n"))
        elif token.type == "html_block":
            out.append(_untag(token.content).strip())
        elif token.type in ("td_close", "th_close"):
            out.append(" ")
        if token.type in _SEPARATE:
            out.append("\n")
    return re.sub(r"[ \t]*\n\s*", "\n", "".join(out)).strip()


def _inline(children) -> str:
    pieces = []
    for child in children:
        if child.type in ("text", "code_inline"):
            pieces.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            pieces.append(" ")
        elif child.type == "image":
            pieces.append(_inline(child.children or []))
        elif child.type == "html_inline":
            pieces.append(_untag(child.content))
        # link and emphasis markers: left out, their text stays
    return "".join(pieces)


def _untag(html: str) -> str:
    """`html` without its formatting tags; other tags stay as text."""
    return _TAG.sub(lambda m: "" if m.group(1).lower() in FORMATTING_TAGS else m.group(0), html)


def rst_text(text: str) -> str:
    """The words of a reST chunk: directives as labels, roles and literals as their text, no heading lines."""
    text = _DIRECTIVE.sub(lambda m: f"{m.group(1)}{m.group(2).replace('-', ' ').capitalize()}: {m.group(3)}", text)
    text = _OPTION.sub("", text)
    text = _COMMENT.sub("", text)
    text = _UNDERLINE.sub("", text)
    text = _ROLE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    text = _REF.sub(r"\1", text)
    text = _STRONG.sub(lambda m: m.group(1) or m.group(2), text)
    return text.replace("::\n", ":\n").strip()
