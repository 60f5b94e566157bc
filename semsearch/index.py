"""`Index`: the Python API for indexing folders and searching them.

    index = Index("notes")            # or Index("./my-index-dir"), or Index() for the default
    report = index.add(["./docs"])    # incremental: unchanged files cost a stat() each
    hits = index.search("how do I rotate the logs?", k=5)

SQLite holds the truth (files, chunks, vectors, keyword index); FAISS is a cache of the
vectors rebuilt whenever it disagrees with SQLite.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from semsearch.embed.base import Embedder
from semsearch.errors import IndexMismatchError, IndexNotFoundError, SemsearchError
from semsearch.store.db import ChunkRecord, Database, FileRecord, text_hash
from semsearch.store.location import DB_FILE, resolve_index_dir
from semsearch.store.vectors import VectorIndex

DEFAULT_CHUNK_TOKENS = 200
DEFAULT_OVERLAP_TOKENS = 30
DEFAULT_MAX_FILE_BYTES = 10_000_000
WRITE_BATCH_CHUNKS = 256  # chunks per embed call and per SQLite transaction
SEARCH_MODES = ("dense", "keyword", "hybrid")


@dataclass
class SearchResult:
    """One matching chunk."""

    path: str
    start_line: int
    end_line: int
    heading: str
    text: str
    score: float
    page: int | None = None
    chunk_id: int = 0

    @property
    def location(self) -> str:
        where = f"{self.start_line}-{self.end_line}" if self.end_line != self.start_line else f"{self.start_line}"
        page = f" (page {self.page})" if self.page else ""
        return f"{self.path}:{where}{page}"

    def snippet(self, width: int = 200) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class IndexReport:
    """What one `add` run did; the CLI prints it as the summary line."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0

    @property
    def indexed(self) -> int:
        return self.new + self.changed + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, {self.deleted} deleted, "
            f"{self.failed} failed; {self.chunks_embedded} chunks embedded in {self.seconds:.1f}s "
            f"({self.chunks_per_second:.1f} chunks/s)"
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["chunks_per_second"] = round(self.chunks_per_second, 2)
        data["failures"] = [{"path": p, "error": e} for p, e in self.failures]
        return data


@dataclass
class _Job:
    """A file (or text) to extract, chunk and embed."""

    record: FileRecord
    is_new: bool
    load: Callable[[], object]  # returns an ingest Document


@dataclass
class _Pending:
    """A file extracted and chunked, waiting for its vectors."""

    record: FileRecord
    chunks: list[ChunkRecord]
    is_new: bool


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
    ):
        """create=False: refuse a folder that holds no index yet, instead of starting one there."""
        self.path = resolve_index_dir(name_or_path)
        if not create and not (self.path / DB_FILE).is_file():
            option = f" --index {name_or_path}" if name_or_path else ""
            raise IndexNotFoundError(f"no index at {self.path}: build one with `semsearch index PATH...{option}`")
        self.db = Database(self.path / DB_FILE)
        meta = self.db.meta()
        self.model = model or meta.get("model") or "all-minilm"
        self._embedder_spec = embedder
        self._embedder: Embedder | None = embedder if isinstance(embedder, Embedder) else None
        self.chunk_tokens = chunk_tokens or int(meta.get("chunk_tokens", 0)) or DEFAULT_CHUNK_TOKENS
        self.overlap_tokens = (
            overlap_tokens if overlap_tokens is not None else int(meta.get("overlap_tokens", DEFAULT_OVERLAP_TOKENS))
        )
        self._vectors: VectorIndex | None = None

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
        if self._embedder is None:
            from semsearch.embed import get_embedder

            self._check_model()  # "built with another model" says more than the model's own errors
            self._embedder = get_embedder(self._embedder_spec, model=self.model)
        return self._embedder

    @property
    def vectors(self) -> VectorIndex:
        if self._vectors is None:
            dimensions = int(self.db.get_meta("dimensions", "0") or 0)
            self._vectors = VectorIndex(self.path / "vectors.faiss", dimensions)
            if dimensions:
                self._vectors.load(self.db)
        return self._vectors

    def _record_model(self) -> None:
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

    # -- indexing -----------------------------------------------------------------------------------

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
        from semsearch.ingest.walk import FoundFile, walk

        started = time.perf_counter()
        report = IndexReport()
        warn = on_warning or (lambda line: None)
        roots = [Path(p).expanduser().resolve() for p in paths]
        for root in roots:
            if not root.exists():
                raise SemsearchError(f"no such file or directory: {root}")
        if reindex:
            self.db.clear()
            self._vectors = None
        self._record_model()
        vectors = self.vectors

        existing = self.db.files()
        seen: set[str] = set()
        todo: list[tuple[FoundFile, FileRecord | None, str | None]] = []
        touched: list[FileRecord] = []
        for item in walk(roots, include=include, exclude=exclude, max_file_bytes=max_file_bytes):
            path = str(item.path)
            seen.add(path)
            if not isinstance(item, FoundFile):
                report.failed += 1
                report.failures.append((path, item.reason))
                warn(f"skipped {path}: {item.reason}")
                continue
            old = existing.get(path)
            if old and old.size == item.size and old.mtime_ns == item.mtime_ns:
                report.unchanged += 1
                continue
            digest = _file_hash(item.path)
            if old and digest == old.content_hash:
                report.unchanged += 1
                touched.append(FileRecord(path, item.size, item.mtime_ns, digest))
                continue
            todo.append((item, old, digest))
        self.db.touch_files(touched)

        gone = [p for p in existing if p not in seen and _is_under(p, roots)]
        if gone:
            vectors.update(self.db.remove_files(gone), [], self.db.generation)
            report.deleted = len(gone)

        jobs = [
            _Job(FileRecord(str(f.path), f.size, f.mtime_ns, digest), old is None, functools.partial(_extract, f.path))
            for f, old, digest in todo
        ]
        self._index_jobs(jobs, report, warn, on_progress)
        vectors.save()
        report.seconds = time.perf_counter() - started
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
        from semsearch.ingest.extract import Document, Section

        started = time.perf_counter()
        report = IndexReport()
        self._record_model()
        self.vectors  # noqa: B018 - load (or rebuild) before writing
        existing = self.db.files()
        jobs = []
        for doc_id, title, text in items:
            digest = text_hash(f"{title}\x00{text}")
            old = existing.get(doc_id)
            if old and old.content_hash == digest:
                report.unchanged += 1
                continue
            doc = Document(
                path=Path(doc_id),
                kind="text",
                # The title is the heading: keyword search sees it, and every chunk is embedded under it.
                sections=[
                    Section(
                        text=text, start_line=1, end_line=text.count("\n") + 1, heading_path=(title,) if title else ()
                    )
                ],
                title=title or None,
            )
            record = FileRecord(doc_id, len(text.encode()), 0, digest, "text", title or None)
            jobs.append(_Job(record, old is None, lambda doc=doc: doc))
        self._index_jobs(jobs, report, lambda line: None, on_progress)
        self.vectors.save()
        report.seconds = time.perf_counter() - started
        return report

    def _index_jobs(self, jobs: list[_Job], report: IndexReport, warn, on_progress) -> None:
        """Extract and chunk on a worker thread while this thread embeds and writes."""
        ready: queue.Queue = queue.Queue(maxsize=64)
        stop = threading.Event()
        embedder = self.embedder
        prefix = _document_prefix(self.model)
        max_tokens = max(32, min(self.chunk_tokens, embedder.context_length - 16))

        def produce() -> None:
            from semsearch.ingest.chunk import chunk_document

            for job in jobs:
                if stop.is_set():
                    break
                path = job.record.path
                try:
                    doc = job.load()
                    pieces = chunk_document(
                        doc, embedder.count_tokens, max_tokens=max_tokens, overlap_tokens=self.overlap_tokens
                    )
                    if not pieces:
                        raise SemsearchError(f"{path}: no text to index")
                    chunks = [
                        ChunkRecord(
                            ordinal=c.ordinal,
                            start_line=c.start_line,
                            end_line=c.end_line,
                            heading=c.heading,
                            text=c.text,
                            page=c.page,
                            text_hash=text_hash(_embedding_text(prefix, c.heading or doc.title or "", c.text)),
                        )
                        for c in pieces
                    ]
                    job.record.kind, job.record.title = doc.kind, doc.title
                    ready.put(_Pending(job.record, chunks, job.is_new))
                except SemsearchError as e:
                    ready.put((path, str(e)))
                except Exception as e:  # a broken file must never stop the run
                    ready.put((path, f"{path}: {type(e).__name__}: {e}"))
            ready.put(None)

        worker = threading.Thread(target=produce, name="semsearch-extract", daemon=True)
        worker.start()
        batch: list[_Pending] = []
        done = 0
        try:
            while True:
                item = ready.get()
                if item is None:
                    break
                done += 1
                if isinstance(item, tuple):
                    path, message = item
                    report.failed += 1
                    report.failures.append((path, message))
                    warn(f"skipped {message if message.startswith(path) else path + ': ' + message}")
                else:
                    batch.append(item)
                    if sum(len(p.chunks) for p in batch) >= WRITE_BATCH_CHUNKS:
                        self._write_batch(batch, report, prefix)
                        batch = []
                if on_progress:
                    on_progress(done, len(jobs))
            if batch:
                self._write_batch(batch, report, prefix)
        finally:
            stop.set()
            while worker.is_alive():  # unblock a producer waiting on a full queue
                try:
                    ready.get_nowait()
                except queue.Empty:
                    worker.join(0.05)

    def _write_batch(self, batch: list[_Pending], report: IndexReport, prefix: str) -> None:
        hashes = [c.text_hash for p in batch for c in p.chunks]
        known = self.db.vectors_by_hash(hashes)
        missing: dict[str, str] = {}
        for pending in batch:
            title = pending.record.title or ""
            for c in pending.chunks:
                if c.text_hash not in known and c.text_hash not in missing:
                    missing[c.text_hash] = _embedding_text(prefix, c.heading or title, c.text)
        if missing:
            fresh = self.embedder.embed(list(missing.values()))
            known.update(zip(missing.keys(), fresh, strict=True))
        report.chunks_embedded += len(missing)
        report.chunks_reused += len(hashes) - len(missing)
        items = [
            (p.record, p.chunks, np.vstack([known[c.text_hash] for c in p.chunks]).astype(np.float32)) for p in batch
        ]
        removed, added = self.db.write_files(items)
        self.vectors.update(removed, added, self.db.generation)
        for p in batch:
            if p.is_new:
                report.new += 1
            else:
                report.changed += 1

    def remove(self, paths: Iterable[str | os.PathLike]) -> int:
        """Forget files (or every file under a folder); returns how many were removed."""
        roots = [Path(p).expanduser().resolve() for p in paths]
        gone = [p for p in self.db.files() if _is_under(p, roots)]
        if gone:
            self.vectors.update(self.db.remove_files(gone), [], self.db.generation)
            self.vectors.save()
        return len(gone)

    # -- searching ----------------------------------------------------------------------------------

    def search(
        self,
        text: str,
        k: int = 10,
        *,
        mode: str = "dense",
        path_glob: str | None = None,
        min_score: float | None = None,
    ) -> list[SearchResult]:
        """The k chunks that best match `text`, best first."""
        if mode not in SEARCH_MODES:
            raise SemsearchError(f"unknown search mode {mode!r}: choose one of {', '.join(SEARCH_MODES)}")
        if not text.strip():
            raise SemsearchError("the query is empty")
        self._check_model()
        if not self.db.get_meta("model") or self.db.file_count() == 0:
            return []
        allowed = self.db.chunk_ids_for_paths(_glob(path_glob)) if path_glob else None
        depth = k if allowed is None else k * 10
        if mode == "keyword":
            ranked = self._keyword(text, depth, allowed)
        elif mode == "dense":
            ranked = self._dense(text, depth, allowed)
        else:
            from semsearch.search import HYBRID_DEPTH, fuse

            pool = max(HYBRID_DEPTH, depth)
            ranked = fuse([self._dense(text, pool, allowed), self._keyword(text, pool, allowed)])
        if min_score is not None:
            ranked = [(i, s) for i, s in ranked if s >= min_score]
        ranked = ranked[:k]
        rows = self.db.chunks([i for i, _ in ranked])
        return [
            SearchResult(
                path=r.path or "",
                start_line=r.start_line,
                end_line=r.end_line,
                heading=r.heading,
                text=r.text,
                score=score,
                page=r.page,
                chunk_id=i,
            )
            for i, score in ranked
            if (r := rows.get(i)) is not None
        ]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, with the model's query prefix (e.g. nomic-embed-text's "search_query: ")."""
        prefix = _query_prefix(self.model)
        return self.embedder.embed([prefix + t for t in texts])

    def dense_ranking(self, query: np.ndarray, depth: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) for the nearest chunks, best first."""
        return self.vectors.search(query, depth)

    def keyword_ranking(self, text: str, depth: int) -> list[tuple[int, float]]:
        """(chunk id, BM25) for the chunks matching the query's words, best first."""
        return self.db.keyword_search(text, depth)

    def _dense(self, text: str, depth: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        query = self.embed_queries([text])[0]
        if allowed is None:
            return self.dense_ranking(query, depth)
        if len(allowed) == 0:
            return []
        scores = self.db.vectors_for(allowed.tolist()) @ query
        top = np.argsort(-scores)[:depth]
        return [(int(allowed[i]), float(scores[i])) for i in top]

    def _keyword(self, text: str, depth: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        hits = self.keyword_ranking(text, depth if allowed is None else depth * 10)
        if allowed is not None:
            keep = set(allowed.tolist())
            hits = [h for h in hits if h[0] in keep]
        return hits[:depth]

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
            "SELECT c.id AS chunk_id, f.path, c.ordinal, c.start_line, c.end_line, c.page, c.heading, c.text "
            "FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY f.path, c.ordinal",
            self.db.conn,
        )

    def close(self) -> None:
        """Save the vector cache (best effort: SQLite holds the truth) and close the database."""
        if self._vectors is not None:
            # A read-only index folder cannot take the cache: the next open rebuilds it from SQLite.
            with contextlib.suppress(OSError):
                self._vectors.save()
        self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _extract(path: Path):
    from semsearch.ingest.extract import extract

    return extract(path)


def _file_hash(path: Path) -> str:
    with path.open("rb") as f:  # file_digest reuses one buffer; read(1 MiB) allocated 1 MiB a call
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def _is_under(path: str, roots: Sequence[Path]) -> bool:
    return any(path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep) for root in roots)


def _glob(pattern: str) -> str:
    """Let users write `docs/*.md` or `*.md`; stored paths are absolute."""
    return pattern if pattern.startswith(("/", "*")) else "*/" + pattern


def _embedding_text(prefix: str, heading: str, text: str) -> str:
    """What the model sees for a chunk: the heading path gives a short passage its context."""
    return f"{prefix}{heading}\n\n{text}" if heading else f"{prefix}{text}"


def _document_prefix(model: str) -> str:
    from semsearch.embed.registry import document_prefix

    return document_prefix(model)


def _query_prefix(model: str) -> str:
    from semsearch.embed.registry import query_prefix

    return query_prefix(model)
