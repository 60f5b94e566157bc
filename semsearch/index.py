"""`Index`: the Python API for indexing folders and searching them.

    index = Index("notes")            # or Index("./my-index-dir"), or Index() for the default
    report = index.add(["./docs"])    # incremental: unchanged files cost a stat() each
    hits = index.search("how do I rotate the logs?", k=5)

SQLite holds the truth (files, chunks, vectors, keyword index); FAISS is a cache of the
vectors rebuilt whenever it disagrees with SQLite.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from semsearch.embed.base import Embedder
from semsearch.errors import IndexMismatchError, IndexNotFoundError, SemsearchError
from semsearch.indexer import (
    DEFAULT_CHUNK_TOKENS,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_OVERLAP_TOKENS,
    IndexReport,
)
from semsearch.search import DEFAULT_MODE, SEARCH_MODES, SearchResult
from semsearch.store.db import Database
from semsearch.store.location import DB_FILE, resolve_index_dir
from semsearch.store.lock import WriterLock
from semsearch.store.pausepoints import pause_point
from semsearch.store.vectors import VectorIndex, remove_temp_files

__all__ = ["SEARCH_MODES", "Index", "IndexReport", "SearchResult"]

REBUILD_DIR = ".rebuild"  # where --reindex builds the new index, inside the live one's folder
VECTOR_FILES = ("vectors.faiss", "vectors.json")  # the cache, then its sidecar (the order a swap moves them)


class Index:
    """A searchable collection of files, stored in one folder (index.db + vectors.faiss)."""

    def __init__(
        self,
        name_or_path: str | os.PathLike | None = None,
        *,
        embedder: Embedder | str | None = None,
        model: str | None = None,
        chunk_tokens: int | None = None,
        overlap_tokens: int | None = None,
        create: bool = True,
        wait_for_writer: bool = True,
        on_wait: Callable[[str], None] | None = None,
    ):
        """create=False: refuse a folder that holds no index yet, instead of starting one there.

        wait_for_writer=False: a write while another process writes raises IndexBusyError
        instead of waiting; on_wait hears one line when a write has to wait.
        """
        self.path = resolve_index_dir(name_or_path)
        if not create and not (self.path / DB_FILE).is_file():
            option = f" --index {name_or_path}" if name_or_path else ""
            raise IndexNotFoundError(f"no index at {self.path}: build one with `semsearch index PATH...{option}`")
        self.db = Database(self.path / DB_FILE)
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
        self.writer_lock = WriterLock(self.path)
        self.wait_for_writer = wait_for_writer
        self.on_wait = on_wait

    # -- setup --------------------------------------------------------------------------------------

    def _check_model(self) -> None:
        """Refuse to mix vectors of two models in one index."""
        meta = self.db.meta()
        built_with = meta.get("model")
        model = self.model
        if built_with and built_with != model:
            raise IndexMismatchError(
                f"index {self.path} was built with model {built_with} ({meta.get('dimensions')} dims), not {model}; "
                f"rebuild it with `semsearch index --reindex -m {model} PATH...` or choose another --index"
            )

    @property
    def embedder(self) -> Embedder:
        return self.open_embedder()

    def open_embedder(self, *, check_model: bool = True) -> Embedder:
        """The embedder; check_model=False for --reindex, which may switch the index to another model."""
        if self._embedder is None:
            from semsearch.embed import get_embedder

            if check_model:
                self._check_model()  # "built with another model" says more than the model's own errors
            self._embedder = get_embedder(self._embedder_spec, model=self.model)
        return self._embedder

    @property
    def vectors(self) -> VectorIndex:
        """The vector cache, loaded (or rebuilt from SQLite) on first use and after it fell behind."""
        if self._vectors is None or self._vectors.stale:
            dimensions = int(self.db.get_meta("dimensions", "0") or 0)
            self._vectors = VectorIndex(self.path / "vectors.faiss", dimensions)
            if dimensions:
                self._vectors.load(self.db)
        return self._vectors

    def _current_vectors(self) -> VectorIndex:
        """The cache, reloaded first if another process committed since it was read (readers stay current)."""
        vectors = self.vectors
        if vectors.state != self.db.state():
            self._vectors = None
            vectors = self.vectors
        return vectors

    def record_model(self) -> None:
        """Write model and chunker settings on first use; refuse a different dimension count later."""
        self._check_model()
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
            self._vectors = None

    # -- indexing (the pipeline lives in semsearch.indexer) -------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the index's writer lock (re-entrant): one writer per index, readers never wait.

        On taking it, a vector cache read before another process wrote is dropped (it would
        miss that writer's vectors), and what a killed --reindex left behind is cleared.
        """
        outermost = not self.writer_lock.held
        with self.writer_lock.hold(wait=self.wait_for_writer, on_wait=self.on_wait):
            if outermost:
                if self._vectors is not None and self._vectors.state != self.db.state():
                    self._vectors = None
                _remove_tree(self.path / REBUILD_DIR)
                remove_temp_files(self.path)
            yield

    def add(
        self,
        paths: Iterable[str | os.PathLike],
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        reindex: bool = False,
        on_warning: Callable[[str], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Index files under `paths`: new and changed files are embedded, deleted ones removed.

        on_warning gets one line per file that could not be indexed; on_progress gets
        (files done, files to do). Work is committed in batches, so an interrupted run keeps
        what it finished and the next run picks up the rest.
        """
        from semsearch import indexer

        options = dict(
            include=include,
            exclude=exclude,
            max_file_bytes=max_file_bytes,
            on_warning=on_warning,
            on_progress=on_progress,
        )
        with self.writing():
            if reindex:
                return self._rebuild(paths, **options)
            return indexer.add_paths(self, paths, **options)

    def _rebuild(self, paths: Iterable[str | os.PathLike], **options) -> IndexReport:
        """--reindex: build a complete new index beside this one, then swap it in at once.

        Until the swap the old index answers queries; a kill or an error anywhere before it
        leaves the old index as it was (the half-built one is cleared by the next writer).
        The swap copies the new SQLite file into the live one in a single transaction (SQLite's
        backup API), so readers see the old state or the new one, never a mix.
        """
        from semsearch import indexer

        staging = self.path / REBUILD_DIR
        _remove_tree(staging)
        embedder = self.open_embedder(check_model=False)
        fresh = Index(
            staging,
            embedder=embedder,
            model=self.model,
            chunk_tokens=self.chunk_tokens,
            overlap_tokens=self.overlap_tokens,
        )
        try:
            # Generations keep rising across the swap, so no reader mistakes the new state for one it cached.
            fresh.db.set_meta({"generation": str(self.db.generation + 1)})
            report = indexer.add_paths(fresh, paths, **options)
            fresh.vectors.save(fresh.db)
            pause_point("rebuild-built")
            self._vectors = None
            fresh.db.conn.backup(self.db.conn)  # the swap: one SQLite transaction
            pause_point("rebuild-swapped")
            fresh.db.close()
            # The new cache mirrors exactly what was swapped in (same index id, generation, ids).
            for name in VECTOR_FILES:
                if (staging / name).exists():
                    os.replace(staging / name, self.path / name)
        finally:
            fresh.db.close()
            _remove_tree(staging)
        return report

    def add_texts(
        self,
        items: Iterable[tuple[str, str, str]],
        *,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Index documents that are not files: (id, title, text) triples, e.g. a BEIR corpus.

        The id is stored as the result's path; the title becomes the heading of every chunk.
        A text whose id is already indexed with the same content is skipped.
        """
        from semsearch import indexer

        with self.writing():
            return indexer.add_texts(self, items, on_progress=on_progress)

    def apply(
        self,
        changed: Iterable[str | os.PathLike] = (),
        deleted: Iterable[str | os.PathLike] = (),
        *,
        roots: Sequence[str | os.PathLike] = (),
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        on_warning: Callable[[str], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Follow a batch of file-system changes (what `watch` hears): files or folders created,
        modified, deleted or moved, under `roots` (whose ignore files and globs apply, as in `add`).

        Each path is judged by what is on disk now, so `changed` and `deleted` may overlap or be
        wrong (an editor's save dance, a file gone before it was read): a path that exists is
        (re)indexed, one that does not leaves the index with everything under it.
        """
        from semsearch import indexer

        with self.writing():
            return indexer.apply_changes(
                self,
                [*changed, *deleted],
                roots=roots,
                include=include,
                exclude=exclude,
                max_file_bytes=max_file_bytes,
                on_warning=on_warning,
                on_progress=on_progress,
            )

    def remove(self, paths: Iterable[str | os.PathLike]) -> int:
        """Forget files (or every file under a folder); returns how many were removed."""
        from semsearch import indexer

        with self.writing():
            return indexer.remove_paths(self, paths)

    # -- searching ----------------------------------------------------------------------------------

    def search(
        self,
        text: str,
        k: int = 10,
        *,
        mode: str = DEFAULT_MODE,
        path_glob: str | None = None,
        min_score: float | None = None,
        files: bool = False,
    ) -> list[SearchResult]:
        """The k chunks that best match `text`, best first (ranking lives in semsearch.search).

        files=True: the k best files, each as its best chunk.
        """
        from semsearch.search import search

        return search(self, text, k, mode=mode, path_glob=path_glob, min_score=min_score, files=files)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, with the model's query prefix (e.g. nomic-embed-text's "search_query: ")."""
        prefix = _query_prefix(self.model)
        return self.embedder.embed([prefix + t for t in texts])

    def dense_ranking(self, query: np.ndarray, depth: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) for the nearest chunks, best first.

        A cached id without a SQLite row means the cache is stale: it is rebuilt and the
        search run again, never answered with silently missing hits.
        """
        ranking = self._current_vectors().search(query, depth)
        if ranking and len(self.db.existing_chunk_ids([i for i, _ in ranking])) < len(ranking):
            self._vectors = VectorIndex(self.path / "vectors.faiss", int(self.db.get_meta("dimensions", "0") or 0))
            self._vectors.rebuild(self.db)
            ranking = self._vectors.search(query, depth)
            known = self.db.existing_chunk_ids([i for i, _ in ranking])  # a writer may delete meanwhile
            ranking = [(i, s) for i, s in ranking if i in known]
        return ranking

    def keyword_ranking(self, text: str, depth: int) -> list[tuple[int, float]]:
        """(chunk id, BM25) for the chunks matching the query's words, best first."""
        return self.db.keyword_search(text, depth)

    # -- inspection ---------------------------------------------------------------------------------

    def status(self) -> dict:
        meta = self.db.meta()
        return {
            "index": str(self.path),
            "model": meta.get("model") or None,
            "dimensions": int(meta["dimensions"]) if meta.get("dimensions") else None,
            "embedder": meta.get("embedder") or None,
            "files": self.db.file_count(),
            "chunks": self.db.chunk_count(),
            "chunk_tokens": self.chunk_tokens,
            "overlap_tokens": self.overlap_tokens,
            "schema_version": int(meta.get("schema_version", 0)),
            "generation": int(meta.get("generation", 0)),
        }

    def to_dataframe(self, results: Sequence[SearchResult] | None = None):
        """Search results (or every chunk) as a pandas DataFrame; needs pandas installed."""
        try:
            import pandas as pd
        except ImportError as e:
            raise SemsearchError("to_dataframe needs pandas: pip install pandas") from e
        if results is not None:
            return pd.DataFrame([r.to_dict() for r in results])
        return pd.read_sql_query(
            "SELECT c.id AS chunk_id, f.path, c.ordinal, c.start_line, c.end_line, c.page, c.anchor, c.heading, c.text "
            "FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY f.path, c.ordinal",
            self.db.conn,
        )

    def close(self) -> None:
        """Save the vector cache (best effort: SQLite holds the truth) and close the database."""
        if self._vectors is not None and self._vectors.dirty:
            # Only a writer saves the cache: a reader that rebuilt it saves it only while no one
            # writes. A read-only folder cannot take it at all: the next open rebuilds it from SQLite.
            with contextlib.suppress(OSError), self.writer_lock.try_hold() as free:
                if free:
                    self._vectors.save(self.db)
        self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _remove_tree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _query_prefix(model: str) -> str:
    from semsearch.embed.registry import query_prefix

    return query_prefix(model)
