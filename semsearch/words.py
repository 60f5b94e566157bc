"""Counted nouns for messages ("1 file", "2 files"): no output of semsearch says "1 files"."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`count` and the noun in the number it needs; `nouns` for plurals that are not noun + "s"."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
