"""The collection layer: one index folder's storage and model behind one small interface.

SQLite (the truth), the vector cache (FAISS or the on-disk IVF), the writer lock, the embedder
and the model check live here. The indexing pipeline, the search engine, `watch`, MCP, the
page and Ray use this interface; `semsearch.Index` is the public façade over it.

Readers: every read that must agree with another (candidate ids, their vectors, their rows)
runs inside `snapshot()`, one SQLite read transaction, so a writer in another process can
commit meanwhile without a reader ever meeting a chunk id whose row is gone. One Collection may
serve many threads: snapshots take turns on its one connection, and the vector cache is
swapped (and the replaced one closed) under a lock.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semsearch.embed.base import Embedder
from semsearch.errors import IndexMismatchError
from semsearch.paths import PathPattern
from semsearch.store.db import ChunkRecord, Database, FileRecord, KeywordColumns
from semsearch.store.location import DB_FILE
from semsearch.store.lock import WriterLock
from semsearch.store.pausepoints import pause_point
from semsearch.store.vectors import VectorIndex, remove_temp_files
from semsearch.store.warned import WarnOnce

DEFAULT_CHUNK_TOKENS = 200
DEFAULT_OVERLAP_TOKENS = 30
REBUILD_DIR = ".rebuild"  # where --reindex builds the new index, inside the live one's folder
VECTOR_FILE = "vectors.faiss"

Ranking = list[tuple[int, float]]  # (chunk id, score), best first


@dataclass(frozen=True)
class Scope:
    """The files a search may return: None in a Collection method means every file."""

    file_ids: frozenset[int]

    def __len__(self) -> int:
        return len(self.file_ids)


@dataclass
class DenseSearch:
    """A dense search run alongside other work (`Collection.dense_alongside`): its ranking once done."""

    ranking: Ranking = field(default_factory=list)


# The dense half of a search runs here while the keyword half runs on the caller's thread. Its own pool:
# a dense job waits for the query's embedding, so it must never hold the worker that embedding needs.
_DENSE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="semsearch-dense")


def _resolved(query: np.ndarray | Future) -> np.ndarray:
    return query.result() if isinstance(query, Future) else query


@dataclass(frozen=True)
class PendingChunk:
    """A chunk committed without its vector (keyword-searchable, not yet dense-searchable)."""

    chunk_id: int
    heading: str | None  # its heading, else its document's title: what the model sees above the text
    text: str
    text_hash: str


class Collection:
    """An index folder: files, chunks, vectors and the model that made them."""

    def __init__(
        self,
        path: Path,
        *,
        keyword_columns: KeywordColumns,
        embedder: Embedder | str | None = None,
        model: str | None = None,
        chunk_tokens: int | None = None,
        overlap_tokens: int | None = None,
        wait_for_writer: bool = True,
        on_wait: Callable[[str], None] | None = None,
    ):
        """keyword_columns: what the keyword index holds for a chunk (the policy lives in semsearch.search)."""
        self.path = Path(path)
        self.db = Database(self.path / DB_FILE, keyword_columns=keyword_columns)
        meta = self.db.meta()
        # An embedder object knows its model; recording "all-minilm" for it would mislabel the index.
        given = embedder.model if isinstance(embedder, Embedder) else None
        self.model = model or given or meta.get("model") or "all-minilm"
        self._embedder_spec = embedder
        self._embedder: Embedder | None = embedder if isinstance(embedder, Embedder) else None
        self.chunk_tokens = chunk_tokens or int(meta.get("chunk_tokens", 0)) or DEFAULT_CHUNK_TOKENS
        self.overlap_tokens = (
            overlap_tokens if overlap_tokens is not None else int(meta.get("overlap_tokens", DEFAULT_OVERLAP_TOKENS))
        )
        self._vectors: VectorIndex | None = None
        self._vectors_lock = threading.RLock()
        # Counts (of files, chunks, keyword matches) for the committed state in _counted_at: a query asks for
        # them every time, and on 100,000 chunks counting the chunks alone cost 0.5-1 ms.
        self._counts: dict[object, int] = {}
        self._counted_at: tuple[str | None, int] | None = None
        self.writer_lock = WriterLock(self.path)
        self.wait_for_writer = wait_for_writer
        self.on_wait = on_wait

    # -- the model ----------------------------------------------------------------------------------

    def check_model(self) -> None:
        """Refuse to mix vectors of two models in one index."""
        meta = self.db.meta()
        built_with = meta.get("model")
        if built_with and built_with != self.model:
            raise IndexMismatchError(
                f"index {self.path} was built with model {built_with} ({meta.get('dimensions')} dims), "
                f"not {self.model}; rebuild it with `semsearch index --reindex -m {self.model} PATH...` "
                "or choose another --index"
            )

    @property
    def embedder(self) -> Embedder:
        return self.open_embedder()

    def open_embedder(self, *, check_model: bool = True) -> Embedder:
        """The embedder; check_model=False for --reindex, which may switch the index to another model."""
        if self._embedder is None:
            from semsearch.embed import get_embedder

            if check_model:
                self.check_model()  # "built with another model" says more than the model's own errors
            self._embedder = get_embedder(self._embedder_spec, model=self.model)
        return self._embedder

    def record_model(self) -> None:
        """Write model and chunker settings on first use; refuse a different dimension count later."""
        self.check_model()
        embedder = self.embedder
        meta = self.db.meta()
        dims = str(embedder.dimensions)
        if meta.get("dimensions") and meta["dimensions"] != dims:
            raise IndexMismatchError(
                f"index {self.path} holds {meta['dimensions']}-dim vectors but {embedder.model} gives {dims}; "
                f"rebuild it with `semsearch index --reindex PATH...`"
            )
        if not meta.get("model"):
            self.db.set_meta(
                {
                    "model": self.model,
                    "dimensions": dims,
                    "embedder": embedder.description,
                    "chunk_tokens": str(self.chunk_tokens),
                    "overlap_tokens": str(self.overlap_tokens),
                }
            )
            self._replace_vectors(None)

    @property
    def has_model(self) -> bool:
        """Whether anything was ever embedded into this index."""
        return bool(self.db.get_meta("model"))

    @property
    def max_chunk_tokens(self) -> int:
        """The chunk size the pipeline cuts to: the setting, within the model's context."""
        return max(32, min(self.chunk_tokens, self.embedder.context_length - 16))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, with the model's query prefix (e.g. nomic-embed-text's "search_query: ")."""
        from semsearch.embed.registry import query_prefix

        prefix = query_prefix(self.model)
        return self.embedder.embed_queries([prefix + t for t in texts])

    def embedding_text(self, heading: str | None, text: str) -> str:
        """What the model sees for a chunk of this collection."""
        from semsearch.embed.registry import document_prefix

        return embedding_text(document_prefix(self.model), heading, text)

    # -- writing ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the index's writer lock (re-entrant): one writer per index, readers never wait.

        On taking it, a vector cache read before another process wrote is dropped (it would
        miss that writer's vectors), and what a killed --reindex left behind is cleared.
        """
        outermost = not self.writer_lock.held
        with self.writer_lock.hold(wait=self.wait_for_writer, on_wait=self.on_wait):
            if outermost:
                with self._vectors_lock:
                    if self._vectors is not None and self._vectors.state != self.db.state():
                        self._replace_vectors(None)
                remove_tree(self.path / REBUILD_DIR)
                remove_temp_files(self.path)
            yield

    def warn_once(self, show: Callable[[str], None]) -> WarnOnce:
        """A (path, line) warning callback that stays quiet about a file it warned of while it is unchanged."""
        return WarnOnce(self.db, show)

    def files(self) -> dict[str, FileRecord]:
        """Every indexed file by path."""
        return self.db.files()

    def touch(self, records: Sequence[FileRecord]) -> None:
        """Record a new size/mtime for files whose content did not change."""
        self.db.touch_files(records)

    def stored_hashes(self) -> frozenset[str]:
        """Hashes of every chunk text the index holds (work that need not be sent to an embedder)."""
        return self.db.text_hashes()

    def known_vectors(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of chunk texts already embedded (a moved or unchanged chunk is not embedded again)."""
        return self.db.vectors_by_hash(hashes)

    def write(self, items: Sequence[tuple[FileRecord, Sequence[ChunkRecord], Sequence[np.ndarray | None]]]) -> None:
        """Replace these files and their chunks in one transaction; the vector cache follows.

        A chunk given no vector (None) is pending: keyword search finds it now, `set_vectors` completes it."""
        vectors = self.vectors()
        removed, added = self.db.write_files(items)
        pause_point("batch-committed")
        vectors.update(removed, added, self.db.generation)

    def set_vectors(self, vectors: Sequence[tuple[int, np.ndarray]]) -> None:
        """Give pending chunks their vectors in one transaction; the vector cache follows."""
        cache = self.vectors()
        added = self.db.set_vectors(vectors)
        pause_point("vectors-committed")
        cache.update([], added, self.db.generation)

    def pending_chunks(self, limit: int) -> list[PendingChunk]:
        """Chunks waiting for a vector, oldest first."""
        return [
            PendingChunk(i, heading or title, text, h) for i, heading, title, text, h in self.db.pending_chunks(limit)
        ]

    def unembedded(self, ids: Sequence[int]) -> set[int]:
        """Which of these chunks have no vector yet."""
        return self.db.unembedded(ids)

    def pending_count(self) -> int:
        return self.db.chunk_count() - self.db.embedded_count()

    def remove(self, paths: Sequence[str]) -> int:
        """Forget these indexed files (exact paths) in one transaction; returns how many there were."""
        known = self.db.files()
        gone = [p for p in paths if p in known]
        if gone:
            vectors = self.vectors()
            vectors.update(self.db.remove_files(gone), [], self.db.generation)
        return len(gone)

    def save(self) -> None:
        """Write the vector cache beside SQLite (a writer's job: readers only rebuild in memory)."""
        self.vectors().save(self.db)

    def clear_for_rebuild(self) -> None:
        """Forget the cache before another SQLite state is swapped in (--reindex)."""
        self._replace_vectors(None)

    # -- reading ------------------------------------------------------------------------------------

    def vectors(self) -> VectorIndex:
        """The vector cache, loaded (or rebuilt from SQLite) on first use and after it fell behind."""
        with self._vectors_lock:
            if self._vectors is None or self._vectors.stale:
                dimensions = int(self.db.get_meta("dimensions", "0") or 0)
                fresh = VectorIndex(self.path / VECTOR_FILE, dimensions)
                if dimensions:
                    fresh.load(self.db)
                self._replace_vectors(fresh)
            return self._vectors

    def _replace_vectors(self, fresh: VectorIndex | None) -> None:
        """Swap the cache, closing the files of the one it replaces (a long-lived reader must not leak them)."""
        with self._vectors_lock:
            old, self._vectors = self._vectors, fresh
            if old is not None and old is not fresh:
                old.close()

    def current_vectors(self) -> VectorIndex:
        """The cache, reloaded first if another process committed since it was read (readers stay current)."""
        with self._vectors_lock:
            vectors = self.vectors()
            if vectors.state != self.db.state():
                self._replace_vectors(None)
                vectors = self.vectors()
            return vectors

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state, whatever other processes write meanwhile."""
        with self.db.read_snapshot():
            yield

    def scope(self, pattern: PathPattern | None) -> Scope | None:
        """The files a path pattern selects (None: no filter)."""
        if pattern is None:
            return None
        return Scope(frozenset(i for i, path in self.db.file_paths().items() if pattern.matches(path)))

    def dense_candidates(self, query: np.ndarray, depth: int, scope: Scope | None = None) -> Ranking:
        """(chunk id, cosine) of the nearest chunks, best first; within `scope` when given.

        Call inside `snapshot()`. A cached id without a SQLite row means the cache is stale: it is
        rebuilt and the search run again, never answered with silently missing hits.
        """
        if scope is not None:  # the allowed chunks' vectors come from SQLite
            return self._exact(query, self.db.chunk_ids_of_files(scope.file_ids), depth)
        with self._vectors_lock:
            vectors = self.current_vectors()
            return self._checked(vectors, vectors.search(query, depth), query, depth)

    @contextlib.contextmanager
    def dense_alongside(
        self, query: np.ndarray | Future, depth: int, scope: Scope | None = None
    ) -> Iterator[DenseSearch]:
        """`dense_candidates` on a worker thread while the body of the `with` runs on this one (the
        keyword half: SQLite, FAISS and ONNX Runtime all release the GIL); `ranking` is set when it ends.

        query may be a Future of the query's vector (its embedding still running). Call inside
        `snapshot()`. The vector cache stays locked until the worker is done, so no swap closes it under it.
        """
        dense = DenseSearch()
        if scope is not None:
            yield dense
            dense.ranking = self.dense_candidates(_resolved(query), depth, scope)
            return
        with self._vectors_lock:
            vectors = self.current_vectors()
            running = _DENSE.submit(lambda: vectors.search(_resolved(query), depth))
            try:
                yield dense
            finally:
                wait([running])
            dense.ranking = self._checked(vectors, running.result(), _resolved(query), depth)

    def _checked(self, vectors: VectorIndex, ranking: Ranking, query: np.ndarray, depth: int) -> Ranking:
        """The cache's ranking with every id checked against the snapshot (call under the vectors lock)."""
        known = self.db.existing_chunk_ids([i for i, _ in ranking])
        if len(known) < len(ranking):
            fresh = VectorIndex(self.path / VECTOR_FILE, vectors.dimensions)
            fresh.rebuild(self.db)
            self._replace_vectors(fresh)
            ranking = fresh.search(query, depth)
            known = self.db.existing_chunk_ids([i for i, _ in ranking])
        return [(i, s) for i, s in ranking if i in known]

    def _exact(self, query: np.ndarray, ids: np.ndarray, depth: int) -> Ranking:
        """Brute force over these chunks' stored vectors (a path filter's allowed set)."""
        found = self.db.vectors_for(ids.tolist())
        if not found:
            return []
        kept = list(found)
        scores = np.vstack([found[i] for i in kept]) @ query
        top = np.argsort(-scores)[:depth]
        return [(int(kept[i]), float(scores[i])) for i in top]

    def keyword_candidates(
        self, expression: str, depth: int, weights: Sequence[float], scope: Scope | None = None
    ) -> Ranking:
        """(chunk id, BM25) for an FTS5 MATCH expression with these column weights, best first, within
        `scope` (restricted before the top `depth` is cut). What to match and how to weigh it is
        semsearch.search's policy."""
        if scope is not None and not scope:
            return []
        return self.db.keyword_search(expression, depth, weights, None if scope is None else scope.file_ids)

    def match_count(self, expression: str) -> int:
        """How many chunks an FTS5 MATCH expression finds (counting reads no positions: cheap); queries
        share words, so the count is remembered for the committed state (see _counted)."""
        return self._counted(("match", expression), lambda: self.db.match_count(expression))

    def _counted(self, key: object, count: Callable[[], int]) -> int:
        """count(), remembered until another state is committed (or another database swapped in)."""
        state = self.db.state()
        if state != self._counted_at or len(self._counts) >= 4096:
            self._counts, self._counted_at = {}, state
        if (found := self._counts.get(key)) is None:
            found = self._counts[key] = count()
        return found

    def cosines(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Each chunk's cosine similarity to the query (chunks deleted meanwhile are left out)."""
        return {i: float(v @ query) for i, v in self.db.vectors_for(ids).items()}

    def stored_vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Stored vectors by chunk id (chunks deleted meanwhile are left out)."""
        return self.db.vectors_for(ids)

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRecord]:
        return self.db.chunks(ids)

    def chunk_labels(self, ids: Sequence[int]) -> dict[int, tuple[str, str, str | None]]:
        return self.db.chunk_labels(ids)

    def chunk_paths(self, ids: Sequence[int]) -> dict[int, str]:
        return self.db.chunk_paths(ids)

    def chunk_ids(self, scope: Scope | None = None) -> np.ndarray:
        return self.db.chunk_ids_of_files(None if scope is None else scope.file_ids)

    def file_by_id(self, file_id: int) -> FileRecord | None:
        return self.db.file_by_id(file_id)

    def file_chunks(self, file_id: int) -> list[ChunkRecord]:
        return self.db.file_chunks(file_id)

    def file_by_path(self, path: str) -> FileRecord | None:
        """One indexed file by its exact stored path."""
        return self.db.file_by_path(path)

    def paths_ending_with(self, suffix: str, limit: int = 10) -> list[str]:
        return self.db.paths_ending_with(suffix, limit)

    def path_bounds(self) -> tuple[str, str] | None:
        """The first and last stored path in sort order (their common folder is every file's)."""
        return self.db.path_bounds()

    def file_count(self) -> int:
        return self._counted("files", self.db.file_count)

    def chunk_count(self) -> int:
        return self._counted("chunks", self.db.chunk_count)

    def embedded_count(self) -> int:
        return self.db.embedded_count()

    @property
    def generation(self) -> int:
        return self.db.generation

    def meta(self) -> dict[str, str]:
        return self.db.meta()

    def close(self, *, save: bool = True) -> None:
        """Save the vector cache (best effort: SQLite holds the truth), close its files and the database.

        save=False: a long-lived reader leaves saving to writers."""
        with self._vectors_lock:
            vectors = self._vectors
            if save and vectors is not None and vectors.dirty:
                # Only a writer saves the cache: a reader that rebuilt it saves it only while no one
                # writes. A read-only folder cannot take it at all: the next open rebuilds it from SQLite.
                with contextlib.suppress(OSError), self.writer_lock.try_hold() as free:
                    if free:
                        vectors.save(self.db)
            self._replace_vectors(None)
        self.db.close()


def embedding_text(prefix: str, heading: str | None, text: str) -> str:
    """What the model sees for a chunk: the model's document prefix, and the heading path for context."""
    return f"{prefix}{heading}\n\n{text}" if heading else f"{prefix}{text}"


def remove_tree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
