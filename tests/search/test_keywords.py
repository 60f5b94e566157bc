"""Identifier-aware keyword search: identifiers match their parts, symbols and paths are weighted columns,
and an index of the previous schema is migrated on open."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from semsearch.ingest.identifiers import identifier_parts, is_compound, split_identifier
from semsearch.search.keywords import COLUMN_WEIGHTS, fts_query, keyword_columns
from semsearch.store.db import SCHEMA_VERSION, ChunkRecord, Database, FileRecord, text_hash


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("HTTPException", ["http", "exception"]),
        ("add_api_route", ["add", "api", "route"]),
        ("getUser", ["get", "user"]),
        ("GenBashCompletionV2", ["gen", "bash", "completion", "v", "2"]),
        ("MAX_RETRIES", ["max", "retries"]),
        ("__init__", []),  # dunder: one name, nothing to add
        ("route", []),
        ("Router", []),
    ],
)
def test_split_identifier(name, parts):
    assert split_identifier(name) == parts


def test_compound_means_an_identifier_not_a_capitalized_word():
    assert not is_compound("Exception") and not is_compound("NASA") and is_compound("OAuth2PasswordBearer")
    assert identifier_parts("raise HTTPException(status) in add_api_route; HTTPException") == (
        "http exception add api route"
    )


def test_query_expands_identifiers_to_their_parts():
    assert fts_query("getUser") == '"getuser" OR "get" OR "user"'
    assert fts_query("how does add_api_route work") == '"add_api_route" OR "add" OR "api" OR "route" OR "work"'


def write(db: Database, path: str, heading: str, text: str, kind: str = "code") -> int:
    record = FileRecord(path=path, size=1, mtime_ns=1, content_hash=text_hash(path + text), kind=kind)
    chunk = ChunkRecord(0, 1, 1, heading, text, text_hash(text))
    _, added = db.write_files([(record, [chunk], np.ones((1, 4), np.float32))])
    return added[0][0]


def test_parts_of_identifiers_match_words_and_whole_identifiers_match_exactly(tmp_path):
    db = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    camel = write(db, "/src/app.py", "app.py > Api", "raise HTTPException(404)")
    prose = write(db, "/docs/errors.md", "Errors", "an exception over http", kind="markdown")
    assert {i for i, _ in keyword_search(db, "http exception", 5)} == {camel, prose}
    assert keyword_search(db, "HTTPException", 5)[0][0] == camel  # the whole name is the rarer, stronger term
    db.close()


def test_defined_symbols_and_file_paths_are_weighted_columns(tmp_path):
    db = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    user = write(db, "/src/accounts.py", "accounts.py > load_user", "return db.fetch(key)")
    mention = write(db, "/src/views.py", "views.py > page", "user = load_user(key); show(load_user)")
    assert keyword_search(db, "load_user", 5)[0][0] == user  # defines it once beats mentions it twice
    assert keyword_search(db, "accounts", 5) == [(user, pytest.approx(keyword_search(db, "accounts", 5)[0][1]))]
    assert mention in {i for i, _ in keyword_search(db, "load_user", 5)}
    db.close()


def test_removed_files_leave_the_keyword_index(tmp_path):
    db = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    write(db, "/src/a.py", "a.py > getUser", "def getUser(): pass")
    assert keyword_search(db, "user", 5)
    db.remove_files(["/src/a.py"])
    assert keyword_search(db, "user", 5) == [] and keyword_search(db, "getUser", 5) == []
    write(db, "/src/b.py", "b.py > getUser", "def getUser(): pass")
    db.clear()
    assert keyword_search(db, "user", 5) == []
    db.close()


SCHEMA_1 = """
CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL, kind TEXT, title TEXT, chunk_count INTEGER);
CREATE UNIQUE INDEX idx_files_path ON files (path);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, file_id INTEGER REFERENCES files(id), ordinal INTEGER,
    start_line INTEGER, end_line INTEGER, page INTEGER, heading TEXT, text TEXT, text_hash TEXT, vector BLOB);
CREATE VIRTUAL TABLE chunks_fts USING fts5(heading, text, content='chunks', content_rowid='id',
    tokenize='porter unicode61');
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.id, old.heading, old.text);
END;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta VALUES ('schema_version', '1'), ('generation', '3'), ('index_id', 'abc');
INSERT INTO files VALUES (1, '/src/users.py', 1, 1, 'h', 'code', NULL, 1);
INSERT INTO chunks VALUES (7, 1, 0, 1, 2, NULL, '', 'def getUser(key): pass', 't', x'0000803f');
"""


def test_an_index_of_schema_1_is_migrated_and_keeps_its_chunks(tmp_path):
    conn = sqlite3.connect(tmp_path / "index.db")
    conn.executescript(SCHEMA_1)
    conn.commit()
    conn.close()
    assert sqlite3.connect(tmp_path / "index.db").execute(
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'user'"
    ).fetchone() == (0,)  # noqa: E501
    db = Database(tmp_path / "index.db", keyword_columns=keyword_columns)
    assert db.get_meta("schema_version") == str(SCHEMA_VERSION) == "3"
    assert db.generation == 3 and db.chunk_count() == 1
    assert [i for i, _ in keyword_search(db, "get user", 5)] == [7]
    assert [i for i, _ in keyword_search(db, "users", 5)] == [7]  # the path column
    db.remove_files(["/src/users.py"])  # old triggers are gone: a delete leaves no stale keyword row
    assert keyword_search(db, "getUser", 5) == []
    db.close()
    Database(tmp_path / "index.db", keyword_columns=keyword_columns).close()  # opening again is a no-op


def test_an_index_from_a_newer_semsearch_is_refused(tmp_path):
    Database(tmp_path / "index.db", keyword_columns=keyword_columns).close()
    conn = sqlite3.connect(tmp_path / "index.db")
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(Exception, match="index schema 99 is newer than this semsearch"):
        Database(tmp_path / "index.db", keyword_columns=keyword_columns)


def keyword_search(db: Database, text: str, k: int) -> list[tuple[int, float]]:
    return db.keyword_search(fts_query(text), k, COLUMN_WEIGHTS)
