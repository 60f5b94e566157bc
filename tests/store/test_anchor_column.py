"""chunks.anchor (a notebook's cell, a deck's slide): added to an index made before it, whose chunks are kept."""

from __future__ import annotations

import sqlite3

import numpy as np

from semsearch.store.db import SCHEMA_VERSION, ChunkRecord, Database, FileRecord, text_hash


def write(db: Database, path: str, anchor: str | None) -> int:
    record = FileRecord(path=path, size=1, mtime_ns=1, content_hash=text_hash(path), kind="pptx")
    chunk = ChunkRecord(0, 1, 2, "Budget", "Travel costs are cut", text_hash(path), anchor=anchor)
    _, added = db.write_files([(record, [chunk], np.ones((1, 4), np.float32))])
    return added[0][0]


def test_an_index_without_the_column_gets_it_and_keeps_its_chunks(tmp_path):
    db = Database(tmp_path / "index.db")
    old = write(db, "/deck/old.pptx", None)
    db.close()
    conn = sqlite3.connect(tmp_path / "index.db")
    conn.execute("ALTER TABLE chunks DROP COLUMN anchor")  # what an index from an earlier semsearch looks like
    conn.commit()
    conn.close()
    db = Database(tmp_path / "index.db")
    assert db.get_meta("schema_version") == str(SCHEMA_VERSION)  # older versions still open it
    assert db.chunks([old])[old].anchor is None and db.chunk_count() == 1
    new = write(db, "/deck/new.pptx", "slide 3")
    assert db.chunks([new])[new].anchor == "slide 3"
    assert [c.anchor for c in db.file_chunks(db.chunks([new])[new].file_id)] == ["slide 3"]
    db.close()
    Database(tmp_path / "index.db").close()  # opening again is a no-op
