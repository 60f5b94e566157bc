"""Keyword policy: what the FTS5 index holds for a chunk, how a query becomes a MATCH expression,
and how its columns are weighted. The store only runs what this module decides.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from semsearch.ingest.identifiers import identifier_parts, split_identifier
from semsearch.search import cjk

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.collection import Collection, Scope

# BM25 weights of the FTS columns (heading, text, symbols, path); measured in benchmarks/QUALITY.md.
HEADING_WEIGHT = 2.0  # a chunk's heading (or document title) against its text
SYMBOLS_WEIGHT = 4.0  # names a code chunk defines
PATH_WEIGHT = 2.0  # the file's name and folders
CJK_WEIGHT = 1.0  # bigrams of Chinese, Japanese and Korean text (semsearch.search.cjk)
COLUMN_WEIGHTS = (HEADING_WEIGHT, 1.0, SYMBOLS_WEIGHT, PATH_WEIGHT, CJK_WEIGHT)

# Words that match nearly every chunk: dropping them from keyword queries helps BM25 (benchmarks/QUALITY.md).
STOPWORDS = frozenset(
    "a an and are as at be by can did do does for from has have how i in is it its may of on or should that the "  # noqa: SIM905
    "their there these this those to was were what when where which who why will with".split()
)


# Large indexes only: a query word found in more than COMMON_SHARE of the chunks (but not all its words are)
# still scores the chunks the other words find, but finds none by itself. Scoring every chunk that holds
# "cells" or "patients" was most of a query's time on 100,000 chunks. At 4%, as at 5%, 300 SciFact train
# questions got the top 10 of the full query in auto mode, every one (3%: 3 changed), for about 2 ms less
# FTS5 (benchmarks/README.md, row 13). Below SPLIT_FROM chunks the full query is cheap, and runs.
COMMON_SHARE = 0.04
SPLIT_FROM = 50_000


def query_terms(text: str) -> list[str]:
    """The words of free text a keyword search looks for, in order, each once.

    Stopwords are dropped unless the query has nothing else; a compound identifier also
    matches its parts (`getUser` -> "getuser", "get", "user"); Chinese, Japanese and Korean
    words match their character bigrams (semsearch.search.cjk).
    """
    words: list[str] = []
    for word in re.findall(r"\w+", text):
        words += cjk.query_terms(word) if cjk.has_cjk(word) else [word.lower(), *split_identifier(word)]
    words = list(dict.fromkeys(words))
    return [w for w in words if w not in STOPWORDS] or words


def any_of(terms: list[str]) -> str:
    """An FTS5 MATCH expression for chunks holding any of the terms, immune to FTS syntax in them."""
    return " OR ".join(f'"{term}"' for term in terms)


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression that ORs the words of free text (see query_terms)."""
    return any_of(query_terms(text))


def keyword_columns(chunk_id: int, heading: str | None, text: str, path: str, kind: str | None) -> tuple:
    """What the keyword index holds for a chunk: (rowid, heading, text + identifier parts, symbols, path, cjk).

    Symbols are the names in a code chunk's heading (`core.py > Context > invoke`); the path
    column holds the file's name and its two parent folders, with their parts. The cjk column holds
    the bigrams and characters of the CJK text in the heading, text and path (semsearch.search.cjk);
    it is empty without CJK, and the other columns are as they were.
    """
    heading = heading or ""
    parts = identifier_parts(text)
    symbols = ""
    if kind == "code" and " > " in heading:
        names = [n for step in heading.split(" > ")[1:] for n in step.split(", ")]
        symbols = " ".join(names) + " " + identifier_parts(" ".join(names))
    where = ""
    if path and os.path.isabs(path):
        tail = " ".join(Path(path).parts[-3:])
        where = tail + " " + identifier_parts(tail)
    grams = cjk.grams("\n".join((heading, text, where)))
    return chunk_id, heading, f"{text}\n{parts}" if parts else text, symbols.strip(), where.strip(), grams


def keyword_candidates(
    collection: Collection, text: str, depth: int, scope: Scope | None = None
) -> list[tuple[int, float]]:
    """(chunk id, BM25) for the chunks matching the words of `text`, best first; within `scope`."""
    terms = query_terms(text)
    everything = any_of(terms)
    total = collection.chunk_count() if len(terms) > 1 else 0
    if total < SPLIT_FROM:
        return collection.keyword_candidates(everything, depth, COLUMN_WEIGHTS, scope)
    common = [t for t in terms if collection.match_count(any_of([t])) > COMMON_SHARE * total]
    rare = [t for t in terms if t not in common]
    if not common or not rare:
        return collection.keyword_candidates(everything, depth, COLUMN_WEIGHTS, scope)
    # Chunks with a rare word, with and without a common one: the same phrases in both expressions, so each
    # chunk's BM25 is what the query of all the words gives it (a phrase a chunk lacks adds nothing).
    found, usual = any_of(rare), any_of(common)
    ranking = collection.keyword_candidates(f"({found}) AND ({usual})", depth, COLUMN_WEIGHTS, scope)
    ranking += collection.keyword_candidates(f"({found}) NOT ({usual})", depth, COLUMN_WEIGHTS, scope)
    if len(ranking) < depth:  # too few: chunks with common words only would have filled the list
        return collection.keyword_candidates(everything, depth, COLUMN_WEIGHTS, scope)
    return sorted(ranking, key=lambda pair: -pair[1])[:depth]
