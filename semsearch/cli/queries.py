"""`query --queries FILE`: many queries in one process, as plain lines or JSON Lines with id and text.

The file is decoded as documents are (any encoding: ingest.extract.decode_bytes) and checked
whole before the first search, so a bad line fails at once in one line naming the file and line.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from semsearch.errors import SemsearchError


@dataclass(frozen=True)
class Query:
    id: str
    text: str


def read_queries(path: str) -> list[Query]:
    """The queries of `path` ("-": standard input); blank lines are skipped, ids default to line numbers."""
    from semsearch.cli.output import printable
    from semsearch.ingest.extract import decode_bytes

    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    name = "<stdin>" if path == "-" else printable(path)
    queries = []
    for number, line in enumerate(decode_bytes(data).split("\n"), start=1):
        text = line.strip()
        if not text:
            continue
        qid = str(number)
        if text.startswith("{"):
            try:
                item = json.loads(text)
                qid, text = str(item.get("id", number)), item["text"]
            except (ValueError, KeyError, TypeError, AttributeError):
                raise SemsearchError(f"{name} line {number}: expected JSON with 'text'") from None
            if not isinstance(text, str) or not text.strip():
                raise SemsearchError(f"{name} line {number}: 'text' must be a non-empty string, not {json.dumps(text)}")
        if printable(text) != text:
            raise SemsearchError(f"{name} line {number}: the query is not valid text: {printable(text)}")
        queries.append(Query(qid, text))
    return queries
