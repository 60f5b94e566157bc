"""The SQLite side of an index: the source of truth.

Files, chunks (with their float32 vectors), an FTS5 keyword index kept in step by
triggers, and a meta table (model, dimensions, chunker settings, schema version and a
generation counter that the FAISS file is checked against). Every write happens in one
transaction per batch of files, so a crash leaves either the old or the new version of a
file, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semsearch.errors import DatabaseBusyError, SemsearchError
from semsearch.settings import env_float

# 2: keyword index with identifier parts, symbol and path columns, kept by the writer; 3: a CJK bigram column
SCHEMA_VERSION = 3
# How long a statement waits for a lock another program holds (semsearch writers queue on the
# index's writer lock first, so this only meets other tools, checkpoints and WAL recovery).
BUSY_TIMEOUT_S = 60.0  # the default; $SEMSEARCH_BUSY_TIMEOUT overrides it, read where used (busy_timeout_s)
BUSY_RETRIES = 3
MMAP_BYTES = 1 << 30  # how much of the database file SQLite reads through a memory map (address space, not memory)


def busy_timeout_s() -> float:
    return env_float("SEMSEARCH_BUSY_TIMEOUT", BUSY_TIMEOUT_S, meaning="a number of seconds")


def _is_busy(error: sqlite3.Error) -> bool:
    return isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error))


# Counting embedded chunks (the vector cache's check on load) and pending ones (status, the embedding phase)
# reads these small partial indexes instead of every row's vector: 9 ms instead of 107 ms at 100,000 chunks.
_VECTOR_STATE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS chunks_embedded ON chunks(id) WHERE vector IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(id) WHERE vector IS NULL",
)
# The count and id sum of embedded chunks, kept by SQLite itself in the transaction of every change to a
# chunk row: the vector cache is checked against them on every load, and a cold query spent 10-25 ms
# summing every embedded id (100,000 chunks) to learn them. Triggers, so no write path can forget them.
_EMBEDDED_SUMMARY = (
    "CREATE TABLE IF NOT EXISTS embedded_summary "
    "(one INTEGER PRIMARY KEY CHECK (one = 0), count INTEGER NOT NULL, id_sum INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO embedded_summary "
    "SELECT 0, count(*), coalesce(sum(id), 0) FROM chunks WHERE vector IS NOT NULL",
    "CREATE TRIGGER IF NOT EXISTS embedded_summary_insert AFTER INSERT ON chunks WHEN NEW.vector IS NOT NULL "
    "BEGIN UPDATE embedded_summary SET count = count + 1, id_sum = id_sum + NEW.id; END",
    "CREATE TRIGGER IF NOT EXISTS embedded_summary_delete AFTER DELETE ON chunks WHEN OLD.vector IS NOT NULL "
    "BEGIN UPDATE embedded_summary SET count = count - 1, id_sum = id_sum - OLD.id; END",
    "CREATE TRIGGER IF NOT EXISTS embedded_summary_update AFTER UPDATE OF id, vector ON chunks "
    "WHEN OLD.vector IS NOT NULL OR NEW.vector IS NOT NULL BEGIN UPDATE embedded_summary SET "
    "count = count + (NEW.vector IS NOT NULL) - (OLD.vector IS NOT NULL), "
    "id_sum = id_sum + CASE WHEN NEW.vector IS NOT NULL THEN NEW.id ELSE 0 END "
    "- CASE WHEN OLD.vector IS NOT NULL THEN OLD.id ELSE 0 END; END",
)
_SUMMARY_OBJECTS = {"embedded_summary", "embedded_summary_insert", "embedded_summary_delete", "embedded_summary_update"}


class _Connection(sqlite3.Connection):
    """A connection that never lets `database is locked` escape as a traceback.

    SQLite answers some lock conflicts at once, without its busy handler (WAL recovery, a
    snapshot that moved on): a statement that starts no work of a transaction (autocommit
    reads, BEGIN) is retried then. A lock that outlasts the busy timeout, or one met inside
    a transaction (whose caller rolls back), becomes a one-line DatabaseBusyError.
    """

    db_path = ""

    def execute(self, sql, parameters=(), /):
        return self._retrying(super().execute, sql, parameters)

    def executemany(self, sql, parameters, /):
        return self._retrying(super().executemany, sql, parameters)

    def _retrying(self, run, sql, parameters):
        for attempt in range(BUSY_RETRIES + 1):
            started = time.monotonic()
            try:
                return run(sql, parameters)
            except sqlite3.OperationalError as e:
                if not _is_busy(e):
                    raise
                waited = time.monotonic() - started
                safe = not self.in_transaction or sql.lstrip().upper().startswith("BEGIN")
                limit = busy_timeout_s()
                if not safe or waited >= limit / 2 or attempt == BUSY_RETRIES:
                    waited = max(waited, limit)
                    shown = f"{waited:.0f}" if waited >= 10 else f"{waited:.1f}"
                    raise DatabaseBusyError(
                        f"the index database {self.db_path} is locked by another program "
                        f"(waited {shown} s): try again when it is done"
                    ) from None
                time.sleep(0.05 * 4**attempt)
        raise AssertionError("unreachable")


# Identifiers stay whole ("add_api_route") and their parts are indexed beside them; `cjk` holds the
# character bigrams of Chinese, Japanese and Korean text (a column of its own: the others stay as they were).
_FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    heading, text, symbols, path, cjk, tokenize="porter unicode61 tokenchars '_'"
);
"""


@dataclass
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    kind: str = "text"
    title: str | None = None
    id: int | None = None


@dataclass
class ChunkRecord:
    ordinal: int
    start_line: int
    end_line: int
    heading: str
    text: str
    text_hash: str  # hash of exactly what was embedded: a changed chunk re-embeds, an unchanged one is reused
    page: int | None = None
    id: int | None = None
    file_id: int | None = None
    path: str | None = None
    anchor: str | None = None  # the notebook cell or slide it comes from: "cell 3", "slide 2"


def _batches(values: Sequence, size: int = 500) -> Iterator[tuple[list, str]]:
    """Values in groups small enough for one `IN (?, ?, ...)` clause, with their placeholders."""
    for start in range(0, len(values), size):
        part = list(values[start : start + size])
        yield part, ",".join("?" * len(part))


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class Database:
    """SQLite storage for one index (thread-safe: one connection behind a lock)."""

    def __init__(self, path: Path, *, keyword_columns: KeywordColumns | None = None):
        """keyword_columns: what the FTS index holds for a chunk (the policy lives in semsearch.search.keywords);
        without it, a chunk's heading and text only."""
        self.path = path
        self.keyword_columns = keyword_columns or plain_keyword_columns
        self.lock = threading.RLock()
        self._summarised = False  # the embedded summary and its triggers are in the schema
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=busy_timeout_s(), factory=_Connection
            )
            self.conn.db_path = str(path)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # Pages are read from the OS's page cache in place, not copied in per read: a keyword query on
            # 100,000 chunks reads thousands of them (its FTS5 part 0.5-1 ms faster, counting rows 0.4 ms).
            self.conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            self._create_schema()
        except (OSError, sqlite3.Error) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise SemsearchError(f"cannot open the index database {path}: {reason}") from None

    def _create_schema(self) -> None:
        """Create tables once. Every statement is idempotent and `meta` comes last, so a crash
        during creation is finished by the next open."""
        with self.lock:
            if self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                self._migrate()
                return
            # sqlite-utils imports slowly (it pulls in pandas when present), so only new indexes pay for it.
            import sqlite_utils

            db = sqlite_utils.Database(self.conn)
            db["files"].create(
                {
                    "id": int,
                    "path": str,
                    "size": int,
                    "mtime_ns": int,
                    "content_hash": str,
                    "kind": str,
                    "title": str,
                    "chunk_count": int,
                },
                pk="id",
                not_null={"path", "size", "mtime_ns", "content_hash"},
                if_not_exists=True,
            )
            db["files"].create_index(["path"], unique=True, if_not_exists=True)
            db["chunks"].create(
                {
                    "id": int,
                    "file_id": int,
                    "ordinal": int,
                    "start_line": int,
                    "end_line": int,
                    "page": int,
                    "anchor": str,
                    "heading": str,
                    "text": str,
                    "text_hash": str,
                    "vector": bytes,
                },
                pk="id",
                foreign_keys=[("file_id", "files", "id")],
                if_not_exists=True,
            )
            db["chunks"].create_index(["file_id"], if_not_exists=True)
            db["chunks"].create_index(["text_hash"], if_not_exists=True)
            for statement in (*_VECTOR_STATE_INDEXES, *_EMBEDDED_SUMMARY):
                self.conn.execute(statement)
            # Keyword search over heading, text (+ identifier parts), symbols and path; written with the chunks.
            self.conn.executescript(_FTS_SCHEMA)
            db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
            db["meta"].insert_all(
                [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "generation", "value": "0"},
                    {"key": "index_id", "value": uuid.uuid4().hex},  # a vector cache from another index never fits
                ],
                ignore=True,  # two processes creating one index at once: the first one's values stay
            )
            self._summarised = True

    def _migrate(self) -> None:
        """Bring an index of an older schema up to date; the keyword index is rebuilt from the chunk rows."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 1
        if version > SCHEMA_VERSION:
            raise SemsearchError(f"{self.path}: index schema {version} is newer than this semsearch ({SCHEMA_VERSION})")
        self._add_anchor_column()
        self._add_vector_state()
        if version == SCHEMA_VERSION:
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            # One statement at a time: executescript would commit the transaction first.
            for statement in ("DROP TRIGGER IF EXISTS chunks_ai", "DROP TRIGGER IF EXISTS chunks_ad",
                              "DROP TABLE IF EXISTS chunks_fts", _FTS_SCHEMA):  # fmt: skip
                self.conn.execute(statement)
            rows = self.conn.execute(
                "SELECT c.id, c.heading, c.text, f.path, f.kind FROM chunks c JOIN files f ON f.id = c.file_id"
            )
            while part := rows.fetchmany(1000):
                self._index_keywords([(i, heading, text, path, kind) for i, heading, text, path, kind in part])
            self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def _add_anchor_column(self) -> None:
        """chunks.anchor (notebook cell, slide) on an index made before it: a nullable column, so older
        semsearch versions still read and write the index (the schema version stays)."""
        if any(row[1] == "anchor" for row in self.conn.execute("PRAGMA table_info(chunks)")):
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if not any(row[1] == "anchor" for row in self.conn.execute("PRAGMA table_info(chunks)")):
                self.conn.execute("ALTER TABLE chunks ADD COLUMN anchor TEXT")
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _add_vector_state(self) -> None:
        """The partial indexes of embedded and pending chunks, and the embedded summary, on an index made
        before them. They only make counts fast (the vector cache's check on every load, `status`), so a
        reader that cannot write them now (a writer holds the lock, a read-only folder) goes on without them."""
        names = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master")}
        if {"chunks_embedded", "chunks_pending", *_SUMMARY_OBJECTS} <= names:
            self._summarised = True
            return
        self.conn.execute("PRAGMA busy_timeout = 0")  # try once, never wait for a writer
        try:
            sqlite3.Connection.execute(self.conn, "BEGIN IMMEDIATE")  # without the retries of _Connection
        except sqlite3.OperationalError:
            return
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s() * 1000)}")
        try:
            for statement in (*_VECTOR_STATE_INDEXES, *_EMBEDDED_SUMMARY):
                self.conn.execute(statement)
            self.conn.execute("COMMIT")
            self._summarised = True
        except (DatabaseBusyError, sqlite3.OperationalError):
            self._rollback()

    def _index_keywords(self, rows: Iterable[tuple[int, str, str, str, str | None]]) -> None:
        """FTS rows for (chunk id, heading, text, file path, file kind)."""
        self.conn.executemany(
            "INSERT INTO chunks_fts(rowid, heading, text, symbols, path, cjk) VALUES (?, ?, ?, ?, ?, ?)",
            [self.keyword_columns(*row) for row in rows],
        )

    # -- meta -------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def meta(self) -> dict[str, str]:
        with self.lock:
            return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error (or interrupt)."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def set_meta(self, values: dict[str, object]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.items()],
            )

    def state(self) -> tuple[str | None, int]:
        """(index id, generation) in one read: what a cached copy of the vectors must have been made from."""
        with self.lock:
            rows = dict(self.conn.execute("SELECT key, value FROM meta WHERE key IN ('index_id', 'generation')"))
        return rows.get("index_id"), int(rows.get("generation") or 0)

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation", "0") or 0)

    # -- files ------------------------------------------------------------------------------------

    def files(self) -> dict[str, FileRecord]:
        """Every indexed file by path: one query, so a no-op re-index of many files stays fast."""
        with self.lock:
            rows = self.conn.execute("SELECT id, path, size, mtime_ns, content_hash, kind, title FROM files").fetchall()
        return {r[1]: FileRecord(r[1], r[2], r[3], r[4], r[5], r[6], r[0]) for r in rows}

    def touch_files(self, records: Sequence[FileRecord]) -> None:
        """Record a new size/mtime for files whose content did not change."""
        if not records:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?",
                [(r.size, r.mtime_ns, r.path) for r in records],
            )

    def vectors_by_hash(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors for chunk texts already embedded, so unchanged chunks are not re-embedded."""
        wanted = list(set(hashes))
        found: dict[str, np.ndarray] = {}
        with self.lock:
            for part, marks in _batches(wanted):
                for h, blob in self.conn.execute(
                    f"SELECT text_hash, vector FROM chunks WHERE text_hash IN ({marks}) AND vector IS NOT NULL", part
                ):
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def text_hashes(self) -> frozenset[str]:
        """Every stored chunk text's hash."""
        with self.lock:
            return frozenset(r[0] for r in self.conn.execute("SELECT DISTINCT text_hash FROM chunks"))

    def write_files(
        self, items: Sequence[tuple[FileRecord, Sequence[ChunkRecord], Sequence[np.ndarray | None]]]
    ) -> tuple[list[int], list[tuple[int, np.ndarray]]]:
        """Replace these files and their chunks in one transaction.

        A chunk whose vector is None is pending: keyword search finds it at once, `set_vectors`
        adds its vector later. Returns (ids of chunks removed, [(new chunk id, vector)]) so the
        vector index can follow.
        """
        removed: list[int] = []
        added: list[tuple[int, np.ndarray]] = []
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for record, chunks, vectors in items:
                    removed += self._delete_file(record.path)
                    cur = self.conn.execute(
                        "INSERT INTO files(path, size, mtime_ns, content_hash, kind, title, chunk_count) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            record.path,
                            record.size,
                            record.mtime_ns,
                            record.content_hash,
                            record.kind,
                            record.title,
                            len(chunks),
                        ],
                    )
                    file_id = cur.lastrowid
                    keywords = []
                    for chunk, vector in zip(chunks, vectors, strict=True):
                        cur = self.conn.execute(
                            "INSERT INTO chunks(file_id, ordinal, start_line, end_line, page, anchor, heading, text, "
                            "text_hash, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [
                                file_id,
                                chunk.ordinal,
                                chunk.start_line,
                                chunk.end_line,
                                chunk.page,
                                chunk.anchor,
                                chunk.heading,
                                chunk.text,
                                chunk.text_hash,
                                None if vector is None else np.asarray(vector, dtype=np.float32).tobytes(),
                            ],
                        )
                        if vector is not None:
                            added.append((cur.lastrowid, np.asarray(vector, dtype=np.float32)))
                        keywords.append((cur.lastrowid, chunk.heading, chunk.text, record.path, record.kind))
                    self._index_keywords(keywords)
                self._bump_generation()
                self.conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return removed, added

    def remove_files(self, paths: Sequence[str]) -> list[int]:
        """Delete files and their chunks in one transaction; returns the removed chunk ids."""
        removed: list[int] = []
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for path in paths:
                    removed += self._delete_file(path)
                self._bump_generation()
                self.conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return removed

    def set_vectors(self, vectors: Sequence[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
        """Give pending chunks their vectors in one transaction; returns those still there to take one."""
        done: list[tuple[int, np.ndarray]] = []
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for chunk_id, vector in vectors:
                    vector = np.asarray(vector, dtype=np.float32)
                    cur = self.conn.execute(
                        "UPDATE chunks SET vector = ? WHERE id = ? AND vector IS NULL",
                        [vector.tobytes(), int(chunk_id)],
                    )
                    if cur.rowcount:
                        done.append((int(chunk_id), vector))
                self._bump_generation()
                self.conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return done

    def pending_chunks(self, limit: int) -> list[tuple[int, str | None, str | None, str, str]]:
        """Chunks waiting for a vector, in id order: (id, heading, file title, text, text hash)."""
        with self.lock:
            return self.conn.execute(
                "SELECT c.id, c.heading, f.title, c.text, c.text_hash FROM chunks c JOIN files f ON f.id = c.file_id "
                "WHERE c.vector IS NULL ORDER BY c.id LIMIT ?",
                [limit],
            ).fetchall()

    def unembedded(self, ids: Sequence[int]) -> set[int]:
        """Which of these chunk ids have a row but no vector yet."""
        found: set[int] = set()
        with self.lock:
            for part, marks in _batches([int(i) for i in ids]):
                found.update(
                    r[0]
                    for r in self.conn.execute(f"SELECT id FROM chunks WHERE id IN ({marks}) AND vector IS NULL", part)
                )
        return found

    def embedded_count(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT count(*) FROM chunks WHERE vector IS NOT NULL").fetchone()[0]

    def _delete_file(self, path: str) -> list[int]:
        row = self.conn.execute("SELECT id FROM files WHERE path = ?", [path]).fetchone()
        if row is None:
            return []
        ids = [r[0] for r in self.conn.execute("SELECT id FROM chunks WHERE file_id = ?", [row[0]])]
        for part, marks in _batches(ids):
            self.conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({marks})", part)
        self.conn.execute("DELETE FROM chunks WHERE file_id = ?", [row[0]])
        self.conn.execute("DELETE FROM files WHERE id = ?", [row[0]])
        return ids

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it does on some errors)."""
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def _bump_generation(self) -> None:
        self.conn.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'")

    def clear(self) -> None:
        """Drop every file, chunk and the recorded model (for --reindex), keeping the schema."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM chunks")
            conn.execute("DELETE FROM files")
            conn.execute("DELETE FROM chunks_fts")
            # The next add records whichever model it embeds with.
            conn.execute("DELETE FROM meta WHERE key IN ('model', 'dimensions', 'embedder')")
            self._bump_generation()

    # -- chunks -----------------------------------------------------------------------------------

    def all_vectors(self, batch: int = 20_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) in batches, for rebuilding the FAISS index from the truth."""
        with self.lock:
            cursor = self.conn.execute("SELECT id, vector FROM chunks WHERE vector IS NOT NULL ORDER BY id")
            while rows := cursor.fetchmany(batch):
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
                yield ids, vectors

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the database, however other processes commit meanwhile.

        Re-entrant, and exclusive among this connection's threads (they share one connection)."""
        with self.lock:
            if self.conn.in_transaction:
                yield
                return
            self.conn.execute("BEGIN")  # deferred: a read snapshot that no commit can move
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    def vector_snapshot(self) -> tuple[str | None, int, np.ndarray, np.ndarray]:
        """(index id, generation, ids, vectors) read in one transaction, so the label fits the vectors
        even while another process commits."""
        with self.read_snapshot():
            index_id, generation = self.state()
            batches = list(self.all_vectors())
        if not batches:
            return index_id, generation, np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.concatenate([i for i, _ in batches])
        return index_id, generation, ids, np.concatenate([v for _, v in batches])

    def existing_chunk_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of these chunk ids have a row (a cached vector without one means a stale cache)."""
        found: set[int] = set()
        with self.lock:
            for part, marks in _batches([int(i) for i in ids]):
                found.update(r[0] for r in self.conn.execute(f"SELECT id FROM chunks WHERE id IN ({marks})", part))
        return found

    def integrity_check(self) -> str:
        """SQLite's own check of the file: "ok" or the problems it found."""
        with self.lock:
            return "\n".join(r[0] for r in self.conn.execute("PRAGMA integrity_check"))

    def chunk_id_summary(self) -> tuple[int, int]:
        """(count, sum) of embedded chunks' ids in one consistent read: what the vector cache must mirror.
        From the summary the triggers keep; counted from the rows in an index that has none yet."""
        with self.lock:
            row = None
            if self._summarised:
                row = self.conn.execute("SELECT count, id_sum FROM embedded_summary WHERE one = 0").fetchone()
            if row is None:
                row = self.conn.execute(
                    "SELECT count(*), coalesce(sum(id), 0) FROM chunks WHERE vector IS NOT NULL"
                ).fetchone()
        return int(row[0]), int(row[1])

    def chunk_count(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def file_count(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT count(*) FROM files").fetchone()[0]

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRecord]:
        """Chunk rows (without vectors) by id, joined with their file path."""
        found: dict[int, ChunkRecord] = {}
        with self.lock:
            for part, marks in _batches([int(i) for i in ids]):
                for row in self.conn.execute(
                    "SELECT c.id, c.file_id, f.path, c.ordinal, c.start_line, c.end_line, c.page, c.heading, "
                    "c.text, c.text_hash, c.anchor "
                    f"FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})",
                    part,
                ):
                    found[row[0]] = ChunkRecord(
                        ordinal=row[3],
                        start_line=row[4],
                        end_line=row[5],
                        page=row[6],
                        heading=row[7],
                        text=row[8],
                        text_hash=row[9],
                        id=row[0],
                        file_id=row[1],
                        path=row[2],
                        anchor=row[10],
                    )
        return found

    def file_by_id(self, file_id: int) -> FileRecord | None:
        """One indexed file by its id (the search page opens files by id, never by a path it was sent)."""
        with self.lock:
            r = self.conn.execute(
                "SELECT id, path, size, mtime_ns, content_hash, kind, title FROM files WHERE id = ?", [int(file_id)]
            ).fetchone()
        return FileRecord(r[1], r[2], r[3], r[4], r[5], r[6], r[0]) if r else None

    def file_by_path(self, path: str) -> FileRecord | None:
        """One indexed file by its exact stored path (`get` and `related` check membership with it)."""
        with self.lock:
            r = self.conn.execute(
                "SELECT id, path, size, mtime_ns, content_hash, kind, title FROM files WHERE path = ?", [path]
            ).fetchone()
        return FileRecord(r[1], r[2], r[3], r[4], r[5], r[6], r[0]) if r else None

    def paths_ending_with(self, suffix: str, limit: int = 10) -> list[str]:
        """Stored paths that end with `suffix` (compared exactly, no pattern), sorted."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT path FROM files WHERE substr(path, -?) = ? ORDER BY path LIMIT ?", [len(suffix), suffix, limit]
            ).fetchall()
        return [r[0] for r in rows]

    def path_bounds(self) -> tuple[str, str] | None:
        """The first and last stored file path in sort order: their common folder is every file's."""
        with self.lock:
            low, high = self.conn.execute("SELECT min(path), max(path) FROM files").fetchone()
        return (low, high) if low is not None else None

    def file_chunks(self, file_id: int) -> list[ChunkRecord]:
        """A file's chunks (without vectors) in reading order."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT c.id, f.path, c.ordinal, c.start_line, c.end_line, c.page, c.heading, c.text, c.text_hash, "
                "c.anchor FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.file_id = ? ORDER BY c.ordinal",
                [int(file_id)],
            ).fetchall()
        return [
            ChunkRecord(
                r[2], r[3], r[4], r[6], r[7], r[8], page=r[5], id=r[0], file_id=int(file_id), path=r[1], anchor=r[9]
            )
            for r in rows
        ]

    def chunk_paths(self, ids: Sequence[int]) -> dict[int, str]:
        """The file path (or document id) of each chunk id."""
        found: dict[int, str] = {}
        with self.lock:
            for part, marks in _batches([int(i) for i in ids]):
                found.update(
                    self.conn.execute(
                        f"SELECT c.id, f.path FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})",
                        part,
                    ).fetchall()
                )
        return found

    def chunk_labels(self, ids: Sequence[int]) -> dict[int, tuple[str, str, str | None]]:
        """(file path, heading, file kind) of each chunk id: what the ranking signals look at."""
        found: dict[int, tuple[str, str, str | None]] = {}
        with self.lock:
            for part, marks in _batches([int(i) for i in ids]):
                for row in self.conn.execute(
                    f"SELECT c.id, f.path, c.heading, f.kind FROM chunks c JOIN files f ON f.id = c.file_id "
                    f"WHERE c.id IN ({marks})",
                    part,
                ):
                    found[row[0]] = (row[1] or "", row[2] or "", row[3])
        return found

    def file_paths(self) -> dict[int, str]:
        """Every indexed file's path by id (what a path filter is matched against)."""
        with self.lock:
            return dict(self.conn.execute("SELECT id, path FROM files").fetchall())

    def chunk_ids_of_files(self, file_ids: Iterable[int] | None = None) -> np.ndarray:
        """Ids of the chunks of these files (all chunks for None), in id order."""
        with self.lock:
            if file_ids is None:
                rows = self.conn.execute("SELECT id FROM chunks ORDER BY id").fetchall()
            else:
                rows = self.conn.execute(
                    "SELECT id FROM chunks WHERE file_id IN (SELECT value FROM json_each(?)) ORDER BY id",
                    [json.dumps(sorted(int(i) for i in file_ids))],
                ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def vectors_for(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Stored vectors by chunk id; ids without a row (deleted by a writer meanwhile) are left out."""
        found: dict[int, np.ndarray] = {}
        with self.lock:
            for part, marks in _batches([int(i) for i in ids]):
                for chunk_id, blob in self.conn.execute(
                    f"SELECT id, vector FROM chunks WHERE id IN ({marks}) AND vector IS NOT NULL", part
                ):
                    found[chunk_id] = np.frombuffer(blob, dtype=np.float32)
        return found

    def keyword_search(
        self, expression: str, k: int, weights: Sequence[float], file_ids: Iterable[int] | None = None
    ) -> list[tuple[int, float]]:
        """BM25 over the FTS columns for an FTS5 MATCH expression, best first (higher is better).

        file_ids restricts the search to those files' chunks before the top k is cut, so a filtered
        search never loses a match to files outside the filter."""
        if not expression:
            return []
        bm25 = f"bm25(chunks_fts, {', '.join(str(float(w)) for w in weights)})"
        sql = f"SELECT rowid, {bm25} AS score FROM chunks_fts WHERE chunks_fts MATCH ?"
        parameters: list = [expression]
        if file_ids is not None:
            sql += " AND rowid IN (SELECT id FROM chunks WHERE file_id IN (SELECT value FROM json_each(?)))"
            parameters.append(json.dumps(sorted(int(i) for i in file_ids)))
        with self.lock:
            rows = self.conn.execute(sql + " ORDER BY score LIMIT ?", [*parameters, k]).fetchall()
        return [(r[0], -r[1]) for r in rows]

    def match_count(self, expression: str) -> int:
        """Rows an FTS5 MATCH expression finds."""
        if not expression:
            return 0
        with self.lock:
            row = self.conn.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", [expression]).fetchone()
        return row[0]

    def close(self) -> None:
        with self.lock:
            self.conn.close()


KeywordColumns = Callable[[int, "str | None", str, str, "str | None"], tuple]


def plain_keyword_columns(chunk_id: int, heading: str | None, text: str, path: str, kind: str | None) -> tuple:
    """FTS row of a chunk when no keyword policy is given: heading and text only."""
    return chunk_id, heading or "", text, "", "", ""
