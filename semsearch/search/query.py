"""What a query looks like: a bare identifier or error code, or a question in words.

The `auto` ranker leans on keywords for the first (exact names are what BM25 is good at)
and on the embedding for the second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from semsearch.ingest.identifiers import is_compound, split_identifier

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)*")
# E1234, ENOENT, HTTP_404, 0x80070005, ORA-00942: codes people paste from a log.
_ERROR_CODE = re.compile(r"^(?:[A-Z]{1,6}-?\d{2,}|0x[0-9A-Fa-f]+|E[A-Z]{3,}|[A-Z]+_\d+)$")
_TEST_WORDS = {"test", "tests", "tested", "testing", "spec", "specs", "fixture", "fixtures", "mock", "mocks"}
_CHANGE_WORDS = {"release", "releases", "released", "changelog", "changed", "deprecated", "deprecation", "version"}


@dataclass
class QueryShape:
    text: str
    words: list[str] = field(default_factory=list)  # lower-case words
    identifiers: list[str] = field(default_factory=list)  # names as typed: `getUser`, `Index.search` -> search
    is_symbol: bool = False  # the whole query is one or two names or an error code
    mentions_tests: bool = False
    mentions_changes: bool = False  # asks about releases or versions: release notes are the answer then

    @property
    def name_parts(self) -> set[str]:
        """Lower-case forms of the identifiers and of their parts."""
        found = {name.lower() for name in self.identifiers}
        for name in self.identifiers:
            found.update(split_identifier(name))
        return found


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
    return QueryShape(
        text=text,
        words=words,
        identifiers=list(dict.fromkeys(identifiers)),
        is_symbol=symbol,
        mentions_tests=any(w in _TEST_WORDS for w in words),
        mentions_changes=any(w in _CHANGE_WORDS for w in words),
    )
