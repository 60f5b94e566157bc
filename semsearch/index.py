"""`Index`: the Python API for indexing folders and searching them.

    index = Index("notes")            # or Index("./my-index-dir"), or Index() for the default
    report = index.add(["./docs"])    # incremental: unchanged files cost a stat() each
    hits = index.search("how do I rotate the logs?", k=5)

SQLite holds the truth (files, chunks, vectors, keyword index); FAISS is a cache of the
vectors rebuilt whenever it disagrees with SQLite. Both sit behind the collection layer
(semsearch.collection); this façade adds the indexing runs and the search on top.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from semsearch import indexer
from semsearch.collection import REBUILD_DIR, VECTOR_FILE, Collection, remove_tree
from semsearch.embed.base import Embedder
from semsearch.errors import IndexNotFoundError, SemsearchError
from semsearch.indexer import DEFAULT_MAX_FILE_BYTES, IndexReport, RunOptions
from semsearch.search import DEFAULT_MODE, SEARCH_MODES, SearchResult
from semsearch.search import search as run_search
from semsearch.search.keywords import keyword_columns
from semsearch.search.results import SearchResults
from semsearch.store.db import Database
from semsearch.store.location import DB_FILE, resolve_index_dir
from semsearch.store.lock import WriterLock
from semsearch.store.pausepoints import pause_point
from semsearch.store.vectors import VectorIndex

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.files import FileLines
    from semsearch.search.subqueries import SubQuery

__all__ = ["SEARCH_MODES", "Index", "IndexReport", "RunOptions", "SearchResult", "SearchResults"]

VECTOR_FILES = (VECTOR_FILE, "vectors.json")  # the cache, then its sidecar (the order a swap moves them)


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
        self.collection = Collection(
            self.path,
            keyword_columns=keyword_columns,
            embedder=embedder,
            model=model,
            chunk_tokens=chunk_tokens,
            overlap_tokens=overlap_tokens,
            wait_for_writer=wait_for_writer,
            on_wait=on_wait,
        )

    # -- what it is ---------------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.collection.model

    @property
    def chunk_tokens(self) -> int:
        return self.collection.chunk_tokens

    @property
    def overlap_tokens(self) -> int:
        return self.collection.overlap_tokens

    @property
    def db(self) -> Database:
        """The SQLite store (for inspection and tests; features go through `collection`)."""
        return self.collection.db

    @property
    def vectors(self) -> VectorIndex:
        """The vector cache (for inspection and tests)."""
        return self.collection.vectors()

    @property
    def writer_lock(self) -> WriterLock:
        return self.collection.writer_lock

    @property
    def embedder(self) -> Embedder:
        return self.collection.embedder

    def open_embedder(self, *, check_model: bool = True) -> Embedder:
        """The embedder; check_model=False for --reindex, which may switch the index to another model."""
        return self.collection.open_embedder(check_model=check_model)

    def record_model(self) -> None:
        self.collection.record_model()

    # -- indexing (the pipeline lives in semsearch.indexer) -------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the index's writer lock (re-entrant): one writer per index, readers never wait."""
        with self.collection.writing():
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
        on_embed_progress: Callable[[int, int], None] | None = None,
        options: RunOptions | None = None,
    ) -> IndexReport:
        """Index files under `paths`: new and changed files are embedded, gone ones removed.

        include/exclude narrow what this run looks at (files outside stay indexed); on_warning
        gets one line per file that could not be indexed; on_progress gets (files done, files
        to do), then on_embed_progress (chunks embedded, chunks waiting). `options` gives all of
        these at once. Work is committed in batches, so an interrupted run keeps what it finished
        and the next run picks up the rest.
        """
        options = options or RunOptions(include, exclude, max_file_bytes, on_warning, on_progress, on_embed_progress)
        with self.writing():
            if reindex:
                return self._rebuild(paths, options)
            return indexer.add_paths(self.collection, paths, options)

    def _rebuild(self, paths: Iterable[str | os.PathLike], options: RunOptions) -> IndexReport:
        """--reindex: build a complete new index beside this one, then swap it in at once.

        Until the swap the old index answers queries; a kill or an error anywhere before it
        leaves the old index as it was (the half-built one is cleared by the next writer).
        The swap copies the new SQLite file into the live one in a single transaction (SQLite's
        backup API), so readers see the old state or the new one, never a mix.
        """
        staging = self.path / REBUILD_DIR
        remove_tree(staging)
        live = self.collection
        fresh = Collection(
            staging,
            keyword_columns=keyword_columns,
            embedder=live.open_embedder(check_model=False),
            model=live.model,
            chunk_tokens=live.chunk_tokens,
            overlap_tokens=live.overlap_tokens,
        )
        try:
            # Generations keep rising across the swap, so no reader mistakes the new state for one it cached.
            fresh.db.set_meta({"generation": str(live.db.generation + 1)})
            report = indexer.add_paths(fresh, paths, options)
            pause_point("rebuild-built")
            live.clear_for_rebuild()
            fresh.db.conn.backup(live.db.conn)  # the swap: one SQLite transaction
            pause_point("rebuild-swapped")
            fresh.close()
            # The new cache mirrors exactly what was swapped in (same index id, generation, ids).
            for name in VECTOR_FILES:
                if (staging / name).exists():
                    os.replace(staging / name, self.path / name)
        finally:
            fresh.close()
            remove_tree(staging)
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
        with self.writing():
            return indexer.add_texts(self.collection, items, RunOptions(on_progress=on_progress))

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
        options: RunOptions | None = None,
    ) -> IndexReport:
        """Follow a batch of file-system changes (what `watch` hears): files or folders created,
        modified, deleted or moved, under `roots` (whose ignore files and globs apply, as in `add`).

        Each path is judged by what is on disk now, so `changed` and `deleted` may overlap or be
        wrong (an editor's save dance, a file gone before it was read): a path that exists is
        (re)indexed, one that does not leaves the index with everything under it.
        """
        options = options or RunOptions(include, exclude, max_file_bytes, on_warning, on_progress)
        with self.writing():
            return indexer.apply_changes(self.collection, [*changed, *deleted], roots, options)

    def remove(self, paths: Iterable[str | os.PathLike]) -> int:
        """Forget files (or every file under a folder); returns how many were removed."""
        with self.writing():
            return indexer.remove_paths(self.collection, paths)

    # -- searching ----------------------------------------------------------------------------------

    def search(
        self,
        text: str | None = None,
        k: int = 10,
        *,
        mode: str = DEFAULT_MODE,
        path: str | Sequence[str] | None = None,
        path_glob: str | Sequence[str] | None = None,
        min_score: float | None = None,
        files: bool = False,
        queries: Sequence[SubQuery] | None = None,
    ) -> SearchResults:
        """The k chunks that best match `text`, best first (ranking lives in semsearch.search); a list that
        Jupyter shows as a table. Each score is the chunk's cosine similarity to the query (BM25 in
        keyword mode), and min_score a floor on it.

        path: only files it selects (`docs/ops`, `ops/*.md`, `*.pdf`, or several: semsearch.paths);
        path_glob is its old name. files=True: the k best files, each as its best chunk.
        queries: typed sub-queries (`SubQuery("lex", ...)`, "vec", "hyde") fused into one ranking;
        `text`, if also given, counts as one lex and one vec sub-query, and `mode` is not used.
        """
        where = path or path_glob
        if queries:
            from semsearch.search.subqueries import SubQuery, search_typed

            typed = [q if isinstance(q, SubQuery) else SubQuery(**q) for q in queries]
            if text is not None:
                typed += [SubQuery("lex", text), SubQuery("vec", text)]
            hits = search_typed(self.collection, typed, k, path=where, min_score=min_score, files=files)
            return SearchResults(hits)
        if text is None:
            raise SemsearchError("the query is empty: pass text or typed sub-queries")
        hits = run_search(self.collection, text, k, mode=mode, path=where, min_score=min_score, files=files)
        return SearchResults(hits)

    def related(self, path: str | os.PathLike, line: int | None = None, k: int = 10) -> list[SearchResult]:
        """The k indexed files most like `path` (or like its chunk at `line`), each as its best chunk."""
        from semsearch.search.related import related

        return related(self.collection, os.fspath(path), line, k)

    def read_lines(self, path: str | os.PathLike, start_line: int = 1, end_line: int | None = None) -> FileLines:
        """Lines of a file this index holds (absolute, or relative to the indexed folders); nothing else is read."""
        from semsearch.files import read_lines

        return read_lines(self.collection, os.fspath(path), start_line, end_line)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, with the model's query prefix (e.g. nomic-embed-text's "search_query: ")."""
        return self.collection.embed_queries(texts)

    # -- inspection ---------------------------------------------------------------------------------

    def status(self) -> dict:
        meta = self.collection.meta()
        return {
            "index": str(self.path),
            "model": meta.get("model") or None,
            "dimensions": int(meta["dimensions"]) if meta.get("dimensions") else None,
            "embedder": meta.get("embedder") or None,
            "files": self.collection.file_count(),
            "chunks": self.collection.chunk_count(),
            "embedded": self.collection.embedded_count(),
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
            self.collection.db.conn,
        )

    def close(self) -> None:
        """Save the vector cache (best effort: SQLite holds the truth), close its files and the database."""
        self.collection.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- exploring (semsearch.explore) ------------------------------------------------------------------

    def chunk_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, their vectors as rows) of every embedded chunk, for analyses of your own."""
        from semsearch.explore import chunk_vectors

        return chunk_vectors(self.collection)

    def map(self, clusters: int | None = None, *, max_points: int = 2500, seed: int = 0):
        """The corpus as a DataFrame: 2-D coordinates, folder, heading and named cluster of each chunk."""
        from semsearch.explore import corpus_map

        return corpus_map(self.collection, clusters, max_points=max_points, seed=seed)
