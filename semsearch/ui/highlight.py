"""Which words of a query to mark in a snippet, and the snippet itself.

The page never receives HTML from the server for user text: a snippet travels as
(text, is_match) parts that the browser turns into text nodes and <mark> elements, and the
server-rendered page escapes the same parts. So a chunk holding markup shows as text.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from semsearch.search.keywords import STOPWORDS

Parts = list[tuple[str, bool]]

# A word is a run of letters and digits: identifiers split at underscores (`upload_file`), and camelCase
# words are also tried part by part (`UploadFile` marks "Upload" for "upload").
WORD = re.compile(r"[^\W_]+")
CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_PORTER = snowballstemmer.stemmer("porter")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Porter stem of a lower-cased word: the stemmer the keyword index (FTS5 `porter`) uses, so a
    word that matched the query there ("uploaded" for "upload", "policies" for "policy") is marked here."""
    return _PORTER.stemWord(word)


def query_terms(query: str) -> list[str]:
    """The stems of the query's words worth marking (stopwords dropped unless nothing else is left)."""
    words = list(dict.fromkeys(WORD.findall(query.lower())))
    content = [w for w in words if w not in STOPWORDS and len(w) > 1] or [w for w in words if len(w) > 1]
    return list(dict.fromkeys(stem(w) for w in content))


def _spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """(start, end) of each word of `text` whose stem is a query term, or else of each such camelCase part."""
    spans = []
    for word in WORD.finditer(text):
        if stem(word.group().lower()) in terms:
            spans.append(word.span())
            continue
        for part in CAMEL_PART.finditer(word.group()):
            whole = part.end() - part.start() == len(word.group())
            if len(part.group()) > 1 and not whole and stem(part.group().lower()) in terms:
                spans.append((word.start() + part.start(), word.start() + part.end()))
    return spans


def mark(text: str, terms: list[str]) -> Parts:
    """Split `text` into (piece, is_match) parts; the pieces join back to `text` exactly."""
    return _parts(text, _spans(text, set(terms)) if terms and text else [])


def _parts(text: str, spans: list[tuple[int, int]]) -> Parts:
    parts: Parts = []
    position = 0
    for start, end in spans:
        if start > position:
            parts.append((text[position:start], False))
        parts.append((text[start:end], True))
        position = end
    if position < len(text):
        parts.append((text[position:], False))
    return parts


def snippet(text: str, terms: list[str], width: int = 260) -> Parts:
    """About `width` characters of the chunk around its densest cluster of query words, marked."""
    flat = " ".join(text.split())
    spans = _spans(flat, set(terms)) if terms else []
    if len(flat) <= width:
        return _parts(flat, spans)
    start = 0
    hits = [s for s, _ in spans]
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
    inside = [(s - start, e - start) for s, e in spans if s >= start and e <= end]
    parts = _parts(flat[start:end], inside)
    if start > 0:
        parts.insert(0, ("…", False))
    if end < len(flat):
        parts.append(("…", False))
    return parts
