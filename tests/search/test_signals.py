"""The `auto` ranker: query shapes, and each signal proven by a ranking it changes (off: wrong order, on: right)."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import numpy as np
import pytest

from semsearch.collection import DenseSearch
from semsearch.search.engine import AUTO, rerank
from semsearch.search.query import analyze
from semsearch.search.signals import secondary_kind
from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash

OFF = replace(AUTO, defines=False, file_name=False, coherence=False, secondary=False)


class FakeIndex:
    """Just what `rerank` reads: an index's database (real SQLite here)."""

    def __init__(self, db: Database):
        self.db = db

    def chunk_labels(self, ids):
        return self.db.chunk_labels(ids)

    def unembedded(self, ids):
        return self.db.unembedded(ids)

    def chunk_count(self):
        return self.db.chunk_count()


@pytest.fixture
def index(tmp_path):
    db = Database(tmp_path / "index.db")
    yield FakeIndex(db)
    db.close()


def add(index, path: str, *headings: str, kind: str = "code") -> list[int]:
    record = FileRecord(path=path, size=1, mtime_ns=1, content_hash=text_hash(path), kind=kind)
    chunks = [
        ChunkRecord(n, n + 1, n + 1, h, f"text {n}", text_hash(path + h + str(n))) for n, h in enumerate(headings)
    ]
    _, added = index.db.write_files([(record, chunks, np.ones((len(chunks), 4), np.float32))])
    return [i for i, _ in added]


def order(index, fused, query, settings):
    return [i for i, _ in rerank(index, fused, analyze(query), settings)]


@pytest.mark.parametrize(
    ("query", "symbol", "identifiers", "tests"),
    [
        ("HTTPException", True, ["HTTPException"], False),
        ("add_api_route", True, ["add_api_route"], False),
        ("Index.search", True, ["search"], False),
        ("E1234", True, ["E1234"], False),
        ("ENOENT", True, ["ENOENT"], False),
        ("how are routes registered", False, [], False),
        ("where is getUser tested", False, ["getUser"], True),
        ("what causes anemia in children", False, [], False),
    ],
)
def test_query_shape(query, symbol, identifiers, tests):
    shape = analyze(query)
    assert (shape.is_symbol, shape.identifiers, shape.mentions_tests) == (symbol, identifiers, tests)


@pytest.mark.parametrize(
    ("query", "changes"),
    [("what changed in version 2.0", True), ("deprecated aliases", True), ("how do I rotate the logs", False)],
)
def test_query_shape_knows_questions_about_releases(query, changes):
    assert analyze(query).mentions_changes is changes


def test_defines_symbol_puts_the_definition_above_a_mention(index):
    [mention] = add(index, "/r/views.py", "views.py > page")
    [definition] = add(index, "/r/accounts.py", "accounts.py > Account > load_user")
    fused = [(mention, 1.0), (definition, 0.8)]
    assert order(index, fused, "load_user", replace(OFF, defines=True)) == [definition, mention]
    assert order(index, fused, "load_user", OFF) == [mention, definition]


def test_file_name_match_puts_the_named_file_first(index):
    [other] = add(index, "/r/app.py", "app.py > main")
    [named] = add(index, "/r/routing.py", "routing.py")
    fused = [(other, 1.0), (named, 0.9)]
    assert order(index, fused, "routing", replace(OFF, file_name=True)) == [named, other]
    assert order(index, fused, "routing", OFF) == [other, named]


def test_coherence_prefers_a_file_with_several_strong_chunks(index):
    [lucky] = add(index, "/r/misc.py", "misc.py > a")
    strong = add(index, "/r/parser.py", "parser.py > a", "parser.py > b", "parser.py > c", "parser.py > d")
    fused = [(lucky, 1.0), *[(i, 0.95) for i in strong]]
    assert order(index, fused, "how are options parsed", replace(OFF, coherence=True))[0] == strong[0]
    assert order(index, fused, "how are options parsed", OFF)[0] == lucky


def test_tests_and_vendored_code_step_back_unless_asked_for(index):
    [test] = add(index, "/r/tests/test_routing.py", "test_routing.py > test_add")
    [source] = add(index, "/r/routing.py", "routing.py > add")
    fused = [(test, 1.0), (source, 0.9)]
    on = replace(OFF, secondary=True)
    assert order(index, fused, "how are routes added", on) == [source, test]
    assert order(index, fused, "how are routes added", OFF) == [test, source]
    assert order(index, fused, "tests for adding routes", on) == [test, source]  # asked for


def test_release_notes_step_back_unless_asked_for(index):
    [notes] = add(index, "/d/source/release/1.20.0-notes.rst", "Typing", kind="rst")
    [guide] = add(index, "/d/source/reference/typing.rst", "Typing", kind="rst")
    fused = [(notes, 1.0), (guide, 0.9)]  # the release note names every word of the question once more
    on = replace(OFF, secondary=True)
    assert order(index, fused, "type hints for arrays", on) == [guide, notes]
    assert order(index, fused, "type hints for arrays", OFF) == [notes, guide]
    assert order(index, fused, "which release added type hints", on) == [notes, guide]  # asked for


@pytest.mark.parametrize(
    ("path", "secondary"),
    [
        ("/r/tests/test_api.py", True),
        ("/r/pkg/api_test.go", True),
        ("/r/src/app.spec.ts", True),
        ("/r/vendor/github.com/x/y.go", True),
        ("/r/web/node_modules/lib/index.js", True),
        ("/r/api/service.pb.go", True),
        ("/r/src/latest.py", False),
        ("/r/src/contest/rules.py", False),
        ("/d/source/release/1.20.0-notes.rst", True),
        ("/d/CHANGELOG.md", True),
        ("/d/docs/changes/2.0.md", True),
        ("/d/HISTORY.rst", True),
        ("/r/src/history.py", False),  # a module, not a changelog
        ("/r/src/news/models.py", False),
        ("/d/docs/footnotes.md", False),
    ],
)
def test_secondary_paths(path, secondary):
    assert (secondary_kind(path) is not None) is secondary


class RankingIndex(FakeIndex):
    """Fixed dense and keyword candidate lists, so the test sees the fusion weight alone."""

    def __init__(self, db, dense, keyword):
        super().__init__(db)
        self.dense, self.keyword = dense, keyword

    def embed_queries(self, texts):
        return np.zeros((len(texts), 4), np.float32)

    def dense_candidates(self, query, depth, scope=None):
        return self.dense[:depth]

    @contextlib.contextmanager
    def dense_alongside(self, query, depth, scope=None):
        yield DenseSearch(self.dense[:depth])

    def keyword_candidates(self, expression, depth, weights, scope=None):
        return self.keyword[:depth]


def test_query_shape_sets_the_fusion_weight(index):
    from semsearch.search.engine import keyword_peak, rank

    ids = add(index, "/r/a.md", *[f"a{n}" for n in range(12)], kind="markdown")
    meaning, name = ids[0], ids[1]
    dense = [(meaning, 0.9), (name, 0.6), *[(i, 0.5) for i in ids[2:]]]
    flat = [(name, 10.0), (meaning, 9.55), *[(i, 9.5) for i in ids[2:]]]  # common words: BM25 cannot tell
    peaked = [(name, 10.0), (meaning, 2.0), *[(i, 1.0) for i in ids[2:]]]  # a rare term: BM25 is sure
    assert keyword_peak(flat) == pytest.approx(0.05) and keyword_peak(peaked) == pytest.approx(0.9)

    def first(query, keyword, mode="auto"):
        return rank(RankingIndex(index.db, dense, keyword), query, 5, mode=mode, settings=OFF)[0][0]

    assert first("how are the records loaded", flat) == meaning  # a question with flat keywords leans dense
    assert first("how are the records loaded", flat, "hybrid") == name  # a fixed 0.4 weight would not
    assert first("how are the records loaded", peaked) == name  # decisive keyword evidence still counts
    assert first("load_user", flat) == name  # a bare identifier leans keyword


def test_questions_over_source_code_use_the_code_weight(index):
    from semsearch.search.engine import rank

    ids = add(index, "/r/a.py", *[f"a.py > f{n}" for n in range(12)])
    meaning, name = ids[0], ids[1]
    dense = [(meaning, 0.9), (name, 0.6), *[(i, 0.5) for i in ids[2:]]]
    keyword = [(name, 10.0), (meaning, 9.55), *[(i, 9.5) for i in ids[2:]]]

    def first(settings):
        return rank(
            RankingIndex(index.db, dense, keyword), "how are records loaded", 5, mode="auto", settings=settings
        )[0][0]

    assert first(OFF) == name  # code: weight 0.4, the identifiers and symbols BM25 sees count
    assert first(replace(OFF, code_text_dense_weight=None)) == meaning  # treated as prose: leans dense
