"""Chinese, Japanese and Korean in keyword search: a real index through the console script finds CJK notes
by keyword, English rankings do not change, and an index of the previous schema gains the CJK grams."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from semsearch.search.cjk import grams, query_terms
from semsearch.search.keywords import COLUMN_WEIGHTS, fts_query, keyword_columns
from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash
from tests.console import cli_env, semsearch

CJK_NOTES = {
    "zh.md": "# 日志轮换\n\n系统日志文件每周轮换一次，保留四个归档。\n",
    "ja.md": "# 会議メモ\n\n明日の予算会議は十時から第二会議室で行います。\n",
    "ko.md": "# 회의\n\n내일 예산회의는 10시에 시작합니다.\n",
}
ENGLISH_NOTES = {
    "budget.md": "# Budget\n\nThe budget meeting moved to Thursday; bring the quarterly numbers.\n",
    "logs.md": "# Logs\n\nRotate the system logs weekly with logrotate and keep four archives.\n",
    "garden.md": "# Garden\n\nWater the tomatoes every morning and the budget for seeds is small.\n",
}


def hits(env, query: str, index: str) -> list[str]:
    result = semsearch("query", query, "--mode", "keyword", "--json", "--index", index, env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line)["path"].rsplit("/", 1)[-1] for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """Two real indexes: English notes alone, and the same notes beside Chinese, Japanese and Korean ones."""
    root = tmp_path_factory.mktemp("cjk")
    env = cli_env(root / "home")
    for name, notes in (("english", ENGLISH_NOTES), ("mixed", {**ENGLISH_NOTES, **CJK_NOTES})):
        folder = root / name
        folder.mkdir()
        for file, text in notes.items():
            (folder / file).write_text(text, encoding="utf-8")
        result = semsearch("index", str(folder), "--index", name, env=env)
        assert result.returncode == 0, result.stderr
    return env


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("日志", "zh.md"),  # two characters inside a longer run (日志文件, 日志轮换)
        ("轮换", "zh.md"),
        ("予算会議", "ja.md"),  # inside 明日の予算会議は...
        ("会議室", "ja.md"),
        ("예산", "ko.md"),  # a Korean word with its particle attached: 예산회의는
        ("회의", "ko.md"),
    ],
)
def test_cjk_keyword_queries_find_their_notes(indexed, query, note):
    assert hits(indexed, query, "mixed")[:1] == [note]


def test_an_english_query_ranks_the_same_beside_cjk_notes(indexed):
    for query in ("budget meeting", "rotate logs weekly", "tomatoes"):
        english = hits(indexed, query, "english")
        assert english and hits(indexed, query, "mixed") == english


def test_text_without_cjk_is_indexed_and_queried_exactly_as_before():
    assert grams("Rotate logs weekly, 4 archives; café naïve Ωmega") == ""
    row = keyword_columns(1, "Logs > Rotation", "Rotate logs weekly", "/notes/logs.md", "markdown")
    assert row == (1, "Logs > Rotation", "Rotate logs weekly", "", "/ notes logs.md", "")
    assert fts_query("how do I rotate the logs") == '"rotate" OR "logs"'


def test_cjk_runs_become_bigrams_and_characters():
    assert grams("系统日志 and 予算") == "系统 统日 日志 予算 系 统 日 志 予 算"
    assert query_terms("予算会議") == ["予算 算会 会議", "予算", "算会", "会議"]
    assert query_terms("日志") == ["日志"] and query_terms("猫") == ["猫"]
    assert fts_query("Python 日志") == '"python" OR "日志"'


def test_an_index_of_schema_2_gains_cjk_grams_on_open(tmp_path):
    db = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    record = FileRecord(path="/n/rotation.md", size=1, mtime_ns=1, content_hash="h", kind="markdown")
    chunk = ChunkRecord(0, 1, 1, "日志轮换", "系统日志文件每周轮换一次", text_hash("x"))
    db.write_files([(record, [chunk], np.ones((1, 4), np.float32))])
    db.close()
    conn = sqlite3.connect(tmp_path / "index.db")  # as schema 2 wrote it: whole CJK runs, no grams
    conn.execute("DELETE FROM chunks_fts")
    conn.execute("INSERT INTO chunks_fts(rowid, heading, text) SELECT id, heading, text FROM chunks")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    db = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    assert [i for i, _ in db.keyword_search(fts_query("日志"), 5, COLUMN_WEIGHTS)] == [1]
    db.close()
