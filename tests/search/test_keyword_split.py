"""Large indexes: common query words score the chunks the rare ones find, but find none themselves
(semsearch.search.keywords). The ranking must be the full query's wherever the rare words fill it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from semsearch.search import keywords
from semsearch.search.keywords import keyword_candidates, keyword_columns
from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash

COMMON = ["cell", "patient", "study", "result"]
RARE = ["ferroptosis", "glioblastoma", "telomerase"]


class Chunks:
    """What keyword search reads of a collection, over a real SQLite database."""

    def __init__(self, db: Database):
        self.db = db
        self.expressions: list[str] = []

    def chunk_count(self) -> int:
        return self.db.chunk_count()

    def match_count(self, expression: str) -> int:
        return self.db.match_count(expression)

    def keyword_candidates(self, expression, depth, weights, scope=None):
        self.expressions.append(expression)
        return self.db.keyword_search(expression, depth, weights)


@pytest.fixture
def chunks(tmp_path):
    """400 chunks: common words in most, each rare word in 12 (some beside common words, some alone)."""
    db = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    rng = random.Random(7)
    filler = [f"word{n}" for n in range(300)]
    texts = [rng.sample(filler, 20) + rng.sample(COMMON, rng.randint(0, 3)) for _ in range(400)]
    for r, rare in enumerate(RARE):
        for n in range(12):
            texts[r * 100 + n * 7].append(rare)
    batch = []
    for n, words in enumerate(texts):
        text = " ".join(words)
        record = FileRecord(path=f"/docs/note{n}.md", size=1, mtime_ns=1, content_hash=text_hash(text), kind="markdown")
        batch.append((record, [ChunkRecord(0, 1, 1, "", text, text_hash(text))], np.ones((1, 4), np.float32)))
    db.write_files(batch)
    yield Chunks(db)
    db.close()


def full(chunks, query, depth):
    return chunks.db.keyword_search(keywords.fts_query(query), depth, keywords.COLUMN_WEIGHTS)


@pytest.mark.parametrize("query", ["ferroptosis in cell study", "glioblastoma patient result", "telomerase cell"])
def test_a_split_query_ranks_as_the_full_query_where_rare_words_fill_the_list(chunks, monkeypatch, query):
    monkeypatch.setattr(keywords, "SPLIT_FROM", 0)
    got = keyword_candidates(chunks, query, 10)
    assert any(" AND " in e for e in chunks.expressions) and any(" NOT " in e for e in chunks.expressions)
    want = full(chunks, query, 10)
    assert [i for i, _ in got] == [i for i, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want])  # same phrases: the same BM25


def test_too_few_rare_matches_run_the_full_query(chunks, monkeypatch):
    monkeypatch.setattr(keywords, "SPLIT_FROM", 0)
    got = keyword_candidates(chunks, "ferroptosis cell", 50)  # 12 chunks hold the rare word: 50 asked
    assert got == full(chunks, "ferroptosis cell", 50)


def test_small_indexes_run_the_full_query(chunks):
    got = keyword_candidates(chunks, "ferroptosis in cell study", 10)
    assert chunks.expressions == [keywords.fts_query("ferroptosis in cell study")]
    assert got == full(chunks, "ferroptosis in cell study", 10)


def test_a_collections_counts_follow_its_commits(tmp_path):
    """Counts are remembered for one committed state: a commit, or a rebuilt index swapped in, counts afresh."""
    from semsearch.embed.local import LocalEmbedder
    from semsearch.index import Index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Ferroptosis\n\nFerroptosis is iron-dependent cell death.\n")
    with Index(tmp_path / "index", embedder=LocalEmbedder()) as index:
        index.add([docs])
        collection = index.collection
        assert collection.match_count('"ferroptosis"') == 1
        assert (collection.file_count(), collection.chunk_count()) == (1, 1)
        (docs / "b.md").write_text("# More\n\nFerroptosis again, in another note.\n")
        index.add([docs])
        assert collection.match_count('"ferroptosis"') == 2
        assert (collection.file_count(), collection.chunk_count()) == (2, 2)
        (docs / "a.md").unlink()
        index.add([docs], reindex=True)
        assert collection.match_count('"ferroptosis"') == 1
        assert (collection.file_count(), collection.chunk_count()) == (1, 1)
