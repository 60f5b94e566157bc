"""Chinese, Japanese and Korean in keyword search.

SQLite's unicode61 tokenizer makes one token of a whole run of CJK characters (they are written
without spaces), so `日志` never matched `系统日志文件`, and Korean `예산` never matched `예산회의는`.
The keyword index therefore also holds each CJK run as overlapping character bigrams and single
characters (in a column of their own), and a CJK query word becomes its bigrams: a two-letter word such as `日志` is one
bigram (below a trigram tokenizer's reach), a longer one is the phrase of its bigrams (the exact
word ranks first) OR its bigrams (the way English query words are ORed). The other keyword columns
are left exactly as they were: without CJK in a folder nothing changes; with some, BM25 (which
normalizes by a row's length over all columns) moves English scores slightly (benchmarks/QUALITY.md).
"""

from __future__ import annotations

import re

# Han (with extensions and compatibility ideographs), kana, Hangul (syllables and jamo), CJK marks.
_CJK_CHARS = (
    "\u3005\u3007\u3021-\u3029\u3038-\u303b"  # 々 〇 and Suzhou numerals
    "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # kana (with small and half-width)
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # Han
    "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"  # Hangul
)
_RUN = re.compile(f"[{_CJK_CHARS}]+")


def has_cjk(text: str) -> bool:
    return _RUN.search(text) is not None


def grams(text: str) -> str:
    """The bigrams of each CJK run in `text`, then its characters, space-separated ('' without CJK)."""
    runs = _RUN.findall(text)
    bigrams = [run[i : i + 2] for run in runs for i in range(len(run) - 1)]
    return " ".join(bigrams + [char for run in runs for char in run])


def query_terms(word: str) -> list[str]:
    """FTS5 terms for one query word: CJK runs as bigrams (and a longer run's phrase), the rest as words."""
    terms: list[str] = []
    cursor = 0
    for match in _RUN.finditer(word):
        if match.start() > cursor:
            terms.append(word[cursor : match.start()].lower())
        run = match.group()
        pairs = [run[i : i + 2] for i in range(len(run) - 1)] or [run]
        if len(pairs) > 1:
            terms.append(" ".join(pairs))  # the phrase: its bigrams in a row
        terms += pairs
        cursor = match.end()
    if cursor < len(word):
        terms.append(word[cursor:].lower())
    return terms
