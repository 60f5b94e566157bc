"""Identifiers as words: `HTTPException` -> http exception, `add_api_route` -> add api route.

Keyword search indexes a chunk's text together with the parts of its compound identifiers,
and expands a query's identifiers the same way, so `getUser` finds "get the user" and a
question about "api routes" finds `add_api_route`.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Acronym before a capitalized word (HTTP|Exception), capitalized or lower words, acronyms, digits.
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def split_identifier(name: str) -> list[str]:
    """Lower-case parts of a compound identifier; a plain word gives [] (nothing to add)."""
    if not is_compound(name):
        return []
    return [part.lower() for part in _PART.findall(name)]


def is_compound(name: str) -> bool:
    """snake_case, camelCase, PascalCase with two capitals, SCREAMING_CASE: an identifier, not a word."""
    if "_" in name.strip("_"):
        return True
    return bool(re.search(r"[a-z][A-Z]|[A-Z]{2,}[a-z]|[A-Z][a-z]+[A-Z]", name))


def identifier_parts(text: str) -> str:
    """The parts of every compound identifier in `text`, space-separated (each identifier once)."""
    seen: dict[str, None] = {}
    for name in _IDENTIFIER.findall(text):
        if name not in seen and is_compound(name):
            seen[name] = None
    return " ".join(part for name in seen for part in split_identifier(name))
