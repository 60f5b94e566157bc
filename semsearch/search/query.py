"""What a query looks like: a bare identifier or error code, or a question in words.

The `auto` ranker leans on keywords for the first (exact names are what BM25 is good at)
and on the embedding for the second.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from semsearch.ingest.identifiers import is_compound, split_identifier

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)*")
# E1234, ENOENT, HTTP_404, 0x80070005, ORA-00942: codes people paste from a log.
_ERROR_CODE = re.compile(r"^(?:[A-Z]{1,6}-?\d{2,}|0x[0-9A-Fa-f]+|E[A-Z]{3,}|[A-Z]+_\d+)$")
_TEST_WORDS = {"test", "tests", "tested", "testing", "spec", "specs", "fixture", "fixtures", "mock", "mocks"}
_CHANGE_WORDS = {"release", "releases", "released", "changelog", "changed", "deprecated", "deprecation", "version"}
# "class Context", "def parse_args", "pub fn main": a keyword that declares a name says the query wants its definition.
_DEFINES = {"class", "def", "func", "function", "fn", "fun", "interface", "struct", "trait", "enum", "type", "impl",
            "module", "mod", "protocol", "record", "object", "defmodule", "defp", "sub", "macro"}  # fmt: skip
_MODIFIERS = {"pub", "public", "private", "protected", "static", "async", "abstract", "export", "final", "data",
              "sealed", "open", "inline", "const"}  # fmt: skip
_CODE_ONLY = {"def", "func", "fn", "fun", "impl", "mod", "defmodule", "defp", "pub", "struct"}  # never begin prose


@dataclass
class QueryShape:
    text: str
    words: list[str] = field(default_factory=list)  # lower-case words
    identifiers: list[str] = field(default_factory=list)  # names as typed: `getUser`, `Index.search` -> search
    is_symbol: bool = False  # the whole query is one or two names or an error code
    mentions_tests: bool = False
    mentions_changes: bool = False  # asks about releases or versions: release notes are the answer then
    definition_kind: str | None = None  # "class" for "class Context": the query names a definition of that kind

    # Derived once per query (the signals ask them of each of 100 candidates).
    @functools.cached_property
    def lower_identifiers(self) -> frozenset[str]:
        """The identifiers in lower case."""
        return frozenset(name.lower() for name in self.identifiers)

    @functools.cached_property
    def name_parts(self) -> frozenset[str]:
        """Lower-case forms of the identifiers and of their parts."""
        return self.lower_identifiers.union(*(split_identifier(name) for name in self.identifiers))

    @functools.cached_property
    def singular_words(self) -> frozenset[str]:
        """The words, a plural's final s taken off (see `singular`)."""
        return frozenset(singular(word) for word in self.words)


def singular(word: str) -> str:
    """`completions` -> `completion`; short words and `-ss` words stay."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def analyze(text: str) -> QueryShape:
    tokens = text.split()
    words = [w.lower() for w in re.findall(r"\w+", text)]
    identifiers: list[str] = []
    for match in _TOKEN.findall(text):
        last = re.split(r"\.|::", match)[-1]
        if is_compound(last) or "." in match or "::" in match or (len(tokens) == 1 and len(last) > 2):
            identifiers.append(last)
    code = len(tokens) == 1 and bool(_ERROR_CODE.match(tokens[0].strip("`'\"")))
    symbol = code or (0 < len(tokens) <= 2 and len(identifiers) == len(tokens))
    kind, name = definition(tokens)
    if kind:
        identifiers, symbol = [name], True
    return QueryShape(
        text=text,
        words=words,
        identifiers=list(dict.fromkeys(identifiers)),
        is_symbol=symbol,
        mentions_tests=any(w in _TEST_WORDS for w in words),
        mentions_changes=any(w in _CHANGE_WORDS for w in words),
        definition_kind=kind,
    )


def definition(tokens: list[str]) -> tuple[str | None, str]:
    """("class", "Context") for `class Context`: declaring keywords, then one name that looks like code.

    A capitalized, compound or code-only-keyword name is asked for ("fn main", "struct point");
    "class imbalance" and "type safety" stay questions in words.
    """
    if not 2 <= len(tokens) <= 3:
        return None, ""
    *keywords, raw = tokens
    keywords = [k.lower() for k in keywords]
    name = raw.strip("`'\":;{(").removesuffix("()").rstrip(":;{(")
    if keywords[-1] not in _DEFINES or any(k not in _DEFINES | _MODIFIERS for k in keywords):
        return None, ""
    if not _TOKEN.fullmatch(name):
        return None, ""
    last = re.split(r"\.|::", name)[-1]
    if not (set(keywords) & _CODE_ONLY or is_compound(last) or last[:1].isupper()):
        return None, ""
    return keywords[-1], last
