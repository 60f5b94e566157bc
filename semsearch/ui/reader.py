"""Read-only access to one index for the search page: searches, file views, status.

The page only reads: the index is opened with create=False and the writer lock is never
taken, so `semsearch index` can update the index while the page is open. When another
process commits a write (the index's generation moves on), the next request reopens the
index, so searches see the new files.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from semsearch.errors import SemsearchError
from semsearch.index import Index
from semsearch.search import DEFAULT_MODE
from semsearch.store.db import ChunkRecord, FileRecord
from semsearch.ui.highlight import Parts, query_terms, snippet
from semsearch.ui.plaintext import plain_text

MAX_K = 100
MAX_QUERY_CHARS = 2000
MAX_VIEW_LINES = 20_000  # a file view shows at most this many lines, around the matched chunk


class NotInIndexError(SemsearchError):
    """A file or chunk id the index does not hold: the page serves nothing else."""

    status = 404


@dataclass
class Hit:
    """One search result as the page shows it."""

    rank: int
    chunk_id: int
    file_id: int
    path: str  # relative to the corpus root, for display
    file: str  # as stored in the index
    start_line: int
    end_line: int
    page: int | None
    heading: str
    score: float | None  # cosine similarity (BM25 in keyword mode); None: not embedded yet
    snippet: Parts
    anchor: str | None = None  # "cell 3", "slide 2"

    @property
    def lines(self) -> str:
        return line_span(self.start_line, self.end_line, self.page, self.anchor)

    def to_dict(self) -> dict:
        return {
            "rank": self.rank,
            "chunk_id": self.chunk_id,
            "file_id": self.file_id,
            "path": self.path,
            "file": self.file,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "page": self.page,
            "anchor": self.anchor,
            "lines": self.lines,
            "heading": self.heading,
            "score": None if self.score is None else round(self.score, 6),
            "snippet": [[text, matched] for text, matched in self.snippet],
        }


@dataclass
class SearchAnswer:
    query: str
    mode: str
    k: int
    path: str
    hits: list[Hit]
    terms: list[str]
    milliseconds: float

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "mode": self.mode,
            "k": self.k,
            "path": self.path,
            "terms": self.terms,
            "milliseconds": round(self.milliseconds, 2),
            "results": [h.to_dict() for h in self.hits],
        }


@dataclass
class FileView:
    """What the file view shows: the file's lines (or one PDF page's), and which chunks to mark."""

    record: FileRecord
    path: str
    chunks: list[ChunkRecord]  # every chunk of the file, in order
    focus: ChunkRecord | None  # the chunk the user opened
    lines: list[str] | None  # None: the file cannot be shown as it was indexed; show `chunks` instead
    first_line: int = 1  # number of lines[0] (a long file is cut around the focus)
    page: int | None = None
    pages: list[int] = field(default_factory=list)
    note: str | None = None

    def page_chunks(self) -> list[ChunkRecord]:
        return [c for c in self.chunks if c.page == self.page] if self.page else self.chunks


def line_span(start: int, end: int, page: int | None = None, anchor: str | None = None) -> str:
    """'lines 3–7', 'line 3', 'page 2, lines 1–9', 'cell 4, lines 12–15': where a chunk sits, as the page shows it."""
    span = f"line {start}" if start == end else f"lines {start}–{end}"
    part = f"page {page}" if page else anchor
    return f"{part}, {span}" if part else span


class IndexReader:
    """One index, opened for reading only, shared by the page's request threads."""

    def __init__(
        self,
        index_path: str | os.PathLike | None,
        *,
        embedder=None,
        model: str | None = None,
        threads: int | None = None,
    ):
        """threads: OpenMP threads for the vector search (None: FAISS's default, all cores)."""
        self.threads = threads
        # One Index for every request thread: its collection takes reads in turn on one connection,
        # follows other processes' commits (reloading the vector cache, closing the old one's files).
        self.index = Index(index_path, create=False, embedder=embedder, model=model)
        self.path = self.index.path
        self._root: tuple[int, str] | None = None
        self._map = None

    # -- keeping up with writers ---------------------------------------------------------------------

    def current(self) -> Index:
        return self.index

    @property
    def _generation(self) -> int:
        return self.index.collection.generation

    def warm_up(self) -> str | None:
        """Load the vectors and the model now, so the first keystroke is answered fast. Returns the embedder."""
        collection = self.index.collection
        if not collection.has_model:
            return None
        collection.current_vectors()
        collection.embed_queries(["warm up"])
        return collection.embedder.description

    def close(self) -> None:
        """Close without saving the vector cache: a reader leaves that to writers."""
        self.index.collection.close(save=False)

    # -- display paths -------------------------------------------------------------------------------

    def root(self) -> str:
        """The folder all indexed files share; paths are shown relative to it."""
        index = self.current()
        generation = self._generation
        if self._root is None or self._root[0] != generation:
            paths = list(index.collection.files())
            root = ""
            if paths and all(os.path.isabs(p) for p in paths):
                root = os.path.commonpath(paths)
                if len(paths) == 1 or root in paths:
                    root = os.path.dirname(root)
            self._root = (generation, root)
        return self._root[1]

    def display(self, path: str) -> str:
        root = self.root()
        if root and path.startswith(root):
            return path[len(root) :].lstrip("/\\") or os.path.basename(path)
        return path

    # -- searching -----------------------------------------------------------------------------------

    def search(self, query: str, k: int = 10, mode: str = DEFAULT_MODE, path_filter: str = "") -> SearchAnswer:
        if len(query) > MAX_QUERY_CHARS:
            raise SemsearchError(f"the query is too long ({len(query)} characters; at most {MAX_QUERY_CHARS})", 400)
        if not 1 <= k <= MAX_K:
            raise SemsearchError(f"k must be between 1 and {MAX_K}, not {k}", 400)
        started = time.perf_counter()
        terms = query_terms(query)
        hits: list[Hit] = []
        if query.strip():
            index = self.current()
            if self.threads:
                import faiss

                faiss.omp_set_num_threads(self.threads)  # per thread: each request thread has its own setting
            try:
                results = index.search(query, k, mode=mode, path=path_filter.strip() or None)
            except SemsearchError as e:
                raise SemsearchError(str(e), 400) from None
            rows = index.collection.chunks([r.chunk_id for r in results])
            for rank, r in enumerate(results, start=1):
                row = rows.get(r.chunk_id)
                if row is None:  # removed by a writer between the ranking and this read
                    continue
                hits.append(
                    Hit(
                        rank=rank,
                        chunk_id=r.chunk_id,
                        file_id=int(row.file_id),
                        path=self.display(r.path),
                        file=r.path,
                        start_line=r.start_line,
                        end_line=r.end_line,
                        page=r.page,
                        heading=r.heading or "",
                        score=r.score,
                        snippet=snippet(plain_text(r.text, r.path), terms),
                        anchor=row.anchor,
                    )
                )
        elapsed = (time.perf_counter() - started) * 1000
        return SearchAnswer(query, mode, k, path_filter, hits, terms, elapsed)

    def related(self, file_id: int, k: int = 10) -> tuple[FileRecord, SearchAnswer]:
        """The files most like an indexed file (by id), as a search answer: the page's "similar" link."""
        index = self.current()
        record = index.collection.file_by_id(file_id) if 0 <= file_id < 2**63 else None
        if record is None:
            raise NotInIndexError(f"the index holds no file with id {file_id}")
        started = time.perf_counter()
        results = index.related(record.path, k=k) if os.path.isabs(record.path) else []
        rows = index.collection.chunks([r.chunk_id for r in results])
        hits = [
            Hit(rank, r.chunk_id, int(row.file_id), self.display(r.path), r.path, r.start_line, r.end_line, r.page,
                r.heading or "", r.score, snippet(r.text, []))
            for rank, r in enumerate(results, start=1)
            if (row := rows.get(r.chunk_id)) is not None
        ]  # fmt: skip
        elapsed = (time.perf_counter() - started) * 1000
        return record, SearchAnswer("", DEFAULT_MODE, k, "", hits, [], elapsed)

    # -- one file ------------------------------------------------------------------------------------

    def file_view(self, file_id: int, chunk_id: int | None = None, page: int | None = None) -> FileView:
        """A file the index holds, by id; its text is shown only while it still is what was indexed."""
        index = self.current()
        record = index.collection.file_by_id(file_id) if 0 <= file_id < 2**63 else None  # SQLite ids are 64-bit
        if record is None:
            raise NotInIndexError(f"the index holds no file with id {file_id}")
        chunks = index.collection.file_chunks(file_id)
        focus = None
        if chunk_id is not None:
            focus = next((c for c in chunks if c.id == chunk_id), None)
            if focus is None:
                raise NotInIndexError(f"file {file_id} has no chunk with id {chunk_id}")
        view = FileView(record, self.display(record.path), chunks, focus, None)
        view.pages = sorted({c.page for c in chunks if c.page})
        if view.pages:
            wanted = page or (focus.page if focus else None) or view.pages[0]
            if wanted not in view.pages:
                raise NotInIndexError(f"file {file_id} has no indexed text on page {wanted}")
            view.page = wanted
        _load_text(view)
        return view

    # -- the whole index -----------------------------------------------------------------------------

    def status(self) -> dict:
        index = self.current()
        info = index.status()
        info["root"] = self.root()
        info["last_update"] = last_update(index.path)
        return info

    def corpus_map(self, max_points: int = 2500):
        from semsearch.ui.corpus_map import build_map

        index = self.current()
        generation = self._generation
        if self._map is None or self._map[0] != generation:
            self._map = (generation, build_map(index.collection, self.display, max_points=max_points))
        return self._map[1]


def last_update(index_dir: Path) -> str | None:
    """When the index was last written (its database or write-ahead log), as local ISO time."""
    times = [p.stat().st_mtime for p in (index_dir / "index.db", index_dir / "index.db-wal") if p.exists()]
    if not times:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(max(times)))


def _load_text(view: FileView) -> None:
    """Fill view.lines from the file on disk, but only if its content still hashes to what was indexed."""
    from semsearch.indexer import file_hash

    path = Path(view.record.path)
    try:
        unchanged = path.is_absolute() and path.is_file() and file_hash(path) == view.record.content_hash
    except OSError:
        unchanged = False
    if not unchanged:
        gone = not path.is_absolute() or not path.exists()
        view.note = (
            "This document has no file on disk; showing its indexed passages."
            if not path.is_absolute()
            else "The file is gone; showing its indexed passages."
            if gone
            else "The file has changed since it was indexed; showing its indexed passages."
        )
        return
    try:
        if view.page:
            lines = _pdf_page_lines(path, view.page)
        else:
            from semsearch.ingest.documents import text_lines

            lines = text_lines(path)  # a notebook's or an Office file's text as the indexer extracted it
    except SemsearchError as e:
        view.note = f"Cannot read the file ({e}); showing its indexed passages."
        return
    if len(lines) > MAX_VIEW_LINES:
        centre = view.focus.start_line if view.focus and (view.focus.page == view.page) else 1
        first = max(1, centre - MAX_VIEW_LINES // 2)
        view.note = f"Long file: showing lines {first}–{first + MAX_VIEW_LINES - 1} of {len(lines)}."
        lines = lines[first - 1 : first - 1 + MAX_VIEW_LINES]
        view.first_line = first
    view.lines = lines


def _pdf_page_lines(path: Path, page: int) -> list[str]:
    """The page's text as the indexer extracted it (pypdf), so chunk line numbers match."""
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path), strict=False)
        return (reader.pages[page - 1].extract_text() or "").splitlines()
    except Exception as e:  # pypdf raises many types for corrupt files
        raise SemsearchError(f"{type(e).__name__}: {e}") from None
