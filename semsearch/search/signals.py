"""Ranking signals the `auto` mode adds to the fused dense + keyword score.

Each one is a small, named adjustment on a candidate chunk, kept only for a measured gain on
benchmarks/code_questions.json, benchmarks/docs_questions.json or SciFact train
(benchmarks/QUALITY.md has the numbers; tests/search/test_signals.py a test per signal).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

from semsearch.ingest.changelog import is_changelog
from semsearch.ingest.identifiers import split_identifier
from semsearch.search.query import QueryShape, singular

DEFINES_BOOST = 0.5  # the chunk defines a name the query asks for
FILE_NAME_BOOST = 0.15  # the file's name (or a folder) is a name the query asks for
COHERENCE_WEIGHT = 0.1  # per other strong chunk of the same file, up to COHERENCE_CAP
COHERENCE_CAP = 3
DECLARES_BOOST = 1.0  # "class Context" asked for a declaration, and the chunk's text has it: `class Context:`
SECONDARY_PENALTY = 0.15  # tests, vendored and generated files, release notes, unless the query asks for them

_TEST_PATH = re.compile(r"(^|/)(tests?|testing|__tests__|spec|specs)/|(^|/)test_[^/]*$|_test\.\w+$|\.(test|spec)\.\w+$")
_VENDORED = re.compile(r"(^|/)(vendor|vendored|third_party|node_modules|site-packages|dist|build)/")
_GENERATED = re.compile(r"(\.min\.js|\.pb\.go|_pb2\.py|\.generated\.\w+|\.g\.dart)$")


@dataclass
class Candidate:
    chunk_id: int
    score: float
    path: str
    heading: str
    kind: str | None = None


def defined_names(heading: str) -> set[str]:
    """Lower-case names in a code chunk's symbol path (`core.py > Context > invoke`), file name excluded."""
    if " > " not in heading:
        return set()
    return {name.strip().lower() for step in heading.split(" > ")[1:] for name in step.split(", ")}


def defines_symbol(candidate: Candidate, query: QueryShape) -> float:
    """Boost a chunk whose symbol path names an identifier of the query: where `getUser` is defined."""
    if not query.identifiers or candidate.kind not in (None, "code"):
        return 0.0
    names = defined_names(candidate.heading)
    last = candidate.heading.split(" > ")[-1].lower().split(", ") if names else []
    wanted = query.lower_identifiers
    if wanted & set(last):
        return DEFINES_BOOST
    return DEFINES_BOOST / 2 if wanted & names else 0.0


def declares(text: str, query: QueryShape) -> float:
    """Boost a chunk that declares the queried name with the queried keyword: "func Execute" ->
    `func (c *Command) Execute(`, "interface Handler" -> `type Handler interface {`."""
    if not query.definition_kind or not query.identifiers:
        return 0.0
    return DECLARES_BOOST if declaration(query.definition_kind, query.identifiers[0]).search(text) else 0.0


@functools.lru_cache(maxsize=64)
def declaration(keyword: str, name: str) -> re.Pattern:
    """`keyword name` (a Go receiver or a Kotlin receiver type may sit between), or Go's `type name ... keyword`."""
    k, n = re.escape(keyword), re.escape(name)
    return re.compile(rf"\b{k}\s+(?:\([^)\n]*\)\s*|[\w<>?]+\.)?{n}\b|\btype\s+{n}\b[^\n]*\b{k}\b", re.I)


def file_name_match(candidate: Candidate, query: QueryShape) -> float:
    """Boost a file whose name (stem, or its parts) is a name the query asks for: `routing` -> routing.py."""
    if not candidate.path:
        return 0.0
    stem, parts = _stem_parts(candidate.path)
    if not stem:
        return 0.0
    if stem in query.lower_identifiers:
        return FILE_NAME_BOOST
    if not parts:
        return 0.0
    if query.is_symbol:
        return FILE_NAME_BOOST / 2 if parts <= query.name_parts else 0.0
    # A question naming the file's subject: "where is the zsh completion script made" -> zsh_completions.go
    return FILE_NAME_BOOST / 2 if {singular(p) for p in parts} <= query.singular_words else 0.0


# A search looks at 100 candidates, mostly of files seen before: names are split once, not per candidate
# (the query's own sets are QueryShape's, derived once).
@functools.lru_cache(maxsize=4096)
def _stem_parts(path: str) -> tuple[str, frozenset[str]]:
    """A file's lower-case stem and its parts, generic ones (`utils`, `index`) left out."""
    name = os.path.basename(path)
    dot = name.rfind(".")
    raw = name[:dot] if 0 < dot < len(name) - 1 else name  # PurePath(path).stem, without building a path
    parts = frozenset(split_identifier(raw) or [raw.strip("_").lower()]) - _GENERIC_STEMS
    return raw.lower(), parts


_GENERIC_STEMS = {"mod", "lib", "index", "init", "main", "util", "utils", "__init__", "core", "common", "base"}


@functools.lru_cache(maxsize=16_384)
def secondary_kind(path: str) -> str | None:
    """Which secondary kind a path is (tests, vendored, generated, changes), if any: rarely what a question means."""
    p = path.replace("\\", "/").lower()
    if _TEST_PATH.search(p):
        return "tests"
    if _VENDORED.search(p):
        return "vendored"
    if _GENERATED.search(p):
        return "generated"
    # Release notes mention every feature once more, in passing: keyword evidence lifts them above the page
    # that explains the feature.
    return "changes" if is_changelog(p) else None


def secondary_penalty(candidate: Candidate, query: QueryShape) -> float:
    kind = secondary_kind(candidate.path)
    if kind is None:
        return 0.0
    asked = query.mentions_changes if kind == "changes" else query.mentions_tests
    return 0.0 if asked else -SECONDARY_PENALTY


def coherence(candidates: list[Candidate], top: int = 30) -> dict[int, float]:
    """A bonus per file for other strong chunks of it among the top candidates: a file that answers
    in several places is likelier the right file than one lucky chunk."""
    counts: dict[str, int] = {}
    for c in candidates[:top]:
        counts[c.path] = counts.get(c.path, 0) + 1
    return {
        c.chunk_id: COHERENCE_WEIGHT * min(COHERENCE_CAP, counts.get(c.path, 1) - 1) / COHERENCE_CAP for c in candidates
    }
