"""Which words of a query to mark in a snippet, and the snippet itself.

The page never receives HTML from the server for user text: a snippet travels as
(text, is_match) parts that the browser turns into text nodes and <mark> elements, and the
server-rendered page escapes the same parts. So a chunk holding markup shows as text.
"""

from __future__ import annotations

import re

from semsearch.search.keywords import STOPWORDS

Parts = list[tuple[str, bool]]


# English endings: a query word is cut to its stem, and a stem marks the stem with any of these
# endings, so "rotate" marks "rotates" and "rotation", "logs" marks "log" and "logging", not "logins".
_ENDINGS = "s es e ed d ing ings ion ions ation ations ate ates ated ating er ers ly ment ments te tes ted ting tion"
SUFFIXES = sorted([*_ENDINGS.split(), "tions", "ging", "ged", "y", "ies", "ied", "al"], key=len, reverse=True)
MIN_STEM = 3


def stem(word: str) -> str:
    """The word without its longest known English ending (a stem of at least three letters stays)."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> list[str]:
    """The stems of the query's words worth marking (stopwords dropped unless nothing else is left)."""
    words = list(dict.fromkeys(re.findall(r"\w+", query.lower())))
    content = [w for w in words if w not in STOPWORDS and len(w) > 1] or [w for w in words if len(w) > 1]
    return list(dict.fromkeys(stem(w) for w in content))


def _pattern(terms: list[str]) -> re.Pattern | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    endings = "|".join(SUFFIXES)
    return re.compile(rf"\b(?:{alternatives})(?:{endings})?\b", re.IGNORECASE)


def mark(text: str, terms: list[str]) -> Parts:
    """Split `text` into (piece, is_match) parts; the pieces join back to `text` exactly."""
    pattern = _pattern(terms)
    if pattern is None or not text:
        return [(text, False)] if text else []
    parts: Parts = []
    position = 0
    for m in pattern.finditer(text):
        if m.start() > position:
            parts.append((text[position : m.start()], False))
        parts.append((m.group(0), True))
        position = m.end()
    if position < len(text):
        parts.append((text[position:], False))
    return parts


def snippet(text: str, terms: list[str], width: int = 260) -> Parts:
    """About `width` characters of the chunk around its densest cluster of query words, marked."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return mark(flat, terms)
    pattern = _pattern(terms)
    start = 0
    if pattern is not None:
        hits = [m.start() for m in pattern.finditer(flat)]
        if hits:
            # the window (starting a little before a hit) that covers the most hits
            best = max(hits, key=lambda h: sum(1 for x in hits if h <= x < h + width - 40))
            start = max(0, best - 40)
            if start:
                space = flat.find(" ", start)
                start = space + 1 if 0 <= space < best else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    piece = flat[start:end]
    parts = mark(piece, terms)
    if start > 0:
        parts.insert(0, ("…", False))
    if end < len(flat):
        parts.append(("…", False))
    return parts
