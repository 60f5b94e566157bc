"""Which words of a query to mark in a snippet, and the snippet itself.

The page never receives HTML from the server for user text: a snippet travels as
(text, is_match) parts that the browser turns into text nodes and <mark> elements, and the
server-rendered page escapes the same parts. So a chunk holding markup shows as text.
"""

from __future__ import annotations

import re

from semsearch.store.db import STOPWORDS

Parts = list[tuple[str, bool]]


def query_terms(query: str) -> list[str]:
    """Lower-case word stems worth marking: stopwords dropped, long words cut so 'rotate' marks 'rotation'."""
    words = list(dict.fromkeys(re.findall(r"\w+", query.lower())))
    content = [w for w in words if w not in STOPWORDS and len(w) > 1] or [w for w in words if len(w) > 1]
    return [_stem(w) for w in content]


def _stem(word: str) -> str:
    """A crude prefix stem: matching is by word start, so a prefix finds the word's other forms."""
    if len(word) > 5:
        return word[: max(4, len(word) - 2)]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _pattern(terms: list[str]) -> re.Pattern | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\w*", re.IGNORECASE)


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
