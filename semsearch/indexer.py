"""The indexing pipeline: walk, extract and chunk on a worker thread, embed and write in batches.

`Index.add`, `Index.add_texts` and `Index.remove` call these under the index's writer lock.
Each batch of files is one SQLite transaction, so an interrupted run keeps what it finished.
"""

from __future__ import annotations

import functools
import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semsearch.errors import IndexInterrupted, SemsearchError
from semsearch.settings import env_int
from semsearch.store.db import ChunkRecord, FileRecord, text_hash
from semsearch.store.pausepoints import pause_point
from semsearch.words import plural

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.index import Index

DEFAULT_CHUNK_TOKENS = 200
DEFAULT_OVERLAP_TOKENS = 30
DEFAULT_MAX_FILE_BYTES = 10_000_000
WRITE_BATCH_CHUNKS = 256  # chunks per embed call and commit; $SEMSEARCH_WRITE_BATCH_CHUNKS overrides it


def write_batch_chunks() -> int:
    """Chunks per embed call and commit, read where used (a bad value is one line naming the variable)."""
    return env_int("SEMSEARCH_WRITE_BATCH_CHUNKS", WRITE_BATCH_CHUNKS, meaning="a whole number of chunks", minimum=1)


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
            f"{self.failed} failed; {plural(self.chunks_embedded, 'chunk')} embedded in {self.seconds:.1f}s "
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


def add_paths(
    index: Index,
    paths: Iterable[str | os.PathLike],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    on_warning: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Index files under `paths`: new and changed files are embedded, deleted ones removed.

    Only what is known to be gone leaves the index: a file that no longer exists, or exists
    but can no longer be indexed (now empty, binary, too big). A file or folder that could
    not be looked at (permissions, I/O errors) keeps what was indexed from it.
    """
    from semsearch.ingest.walk import FoundFile, printable, walk

    started = time.perf_counter()
    report = IndexReport()
    warn = on_warning or (lambda line: None)
    roots = [Path(p).expanduser().resolve() for p in paths]
    for root in roots:
        if not root.exists():
            raise SemsearchError(f"no such file or directory: {printable(root)}")
    index.record_model()
    index.vectors  # noqa: B018 - load (or rebuild) before writing

    existing = index.db.files()
    keep: set[str] = set()  # indexed paths that stay: seen in the walk, or under something we could not look at
    unseen_folders: list[Path] = []
    todo: list[tuple[FoundFile, FileRecord | None, str | None]] = []
    touched: list[FileRecord] = []
    for item in walk(roots, include=include, exclude=exclude, max_file_bytes=max_file_bytes):
        path = str(item.path)
        if not isinstance(item, FoundFile):
            report.failed += 1
            report.failures.append((printable(path), item.reason))
            warn(f"skipped {printable(path)}: {item.reason}")
            if item.unseen:
                keep.add(path)
                unseen_folders.append(item.path)
            continue
        keep.add(path)
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
    index.db.touch_files(touched)

    jobs = [
        _Job(FileRecord(str(f.path), f.size, f.mtime_ns, digest), old is None, functools.partial(_extract, f.path))
        for f, old, digest in todo
    ]
    keep -= _index_jobs(index, jobs, report, warn, on_progress)
    # Removed last, so a renamed file's chunks were still there to reuse their vectors.
    gone = [p for p in existing if p not in keep and _is_under(p, roots) and not _is_under(p, unseen_folders)]
    if gone:
        index.vectors.update(index.db.remove_files(gone), [], index.db.generation)
        report.deleted = len(gone)
    index.vectors.save(index.db)
    report.seconds = time.perf_counter() - started
    return report


def add_texts(
    index: Index,
    items: Iterable[tuple[str, str, str]],
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Index (id, title, text) triples that are not files, e.g. a BEIR corpus."""
    from semsearch.ingest.extract import Document, Section

    started = time.perf_counter()
    report = IndexReport()
    index.record_model()
    index.vectors  # noqa: B018 - load (or rebuild) before writing
    existing = index.db.files()
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
                Section(text=text, start_line=1, end_line=text.count("\n") + 1, heading_path=(title,) if title else ())
            ],
            title=title or None,
        )
        record = FileRecord(doc_id, len(text.encode()), 0, digest, "text", title or None)
        jobs.append(_Job(record, old is None, lambda doc=doc: doc))
    _index_jobs(index, jobs, report, lambda line: None, on_progress)
    index.vectors.save(index.db)
    report.seconds = time.perf_counter() - started
    return report


def remove_paths(index: Index, paths: Iterable[str | os.PathLike]) -> int:
    """Forget files (or every file under a folder); returns how many were removed."""
    roots = [Path(p).expanduser().resolve() for p in paths]
    gone = [p for p in index.db.files() if _is_under(p, roots)]
    index.vectors  # noqa: B018 - load (or rebuild) before writing
    if gone:
        index.vectors.update(index.db.remove_files(gone), [], index.db.generation)
        index.vectors.save(index.db)
    return len(gone)


def _index_jobs(index: Index, jobs: list[_Job], report: IndexReport, warn, on_progress) -> set[str]:
    """Extract and chunk on a worker thread while this thread embeds and writes.

    Returns the paths found unindexable (empty, no text, corrupt): what was indexed from
    them is out of date. Files that could not be read are not among them.
    """
    from semsearch.ingest.extract import UnreadableFileError

    ready: queue.Queue = queue.Queue(maxsize=64)
    stop = threading.Event()
    embedder = index.embedder
    prefix = _document_prefix(index.model)
    max_tokens = max(32, min(index.chunk_tokens, embedder.context_length - 16))

    def produce() -> None:
        from semsearch.ingest.chunk import chunk_document

        for job in jobs:
            if stop.is_set():
                break
            path = job.record.path
            try:
                doc = job.load()
                pieces = chunk_document(
                    doc, embedder.count_tokens, max_tokens=max_tokens, overlap_tokens=index.overlap_tokens
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
            except UnreadableFileError as e:
                ready.put((path, str(e), False))
            except SemsearchError as e:
                ready.put((path, str(e), True))
            except Exception as e:  # a broken file must never stop the run
                ready.put((path, f"{path}: {type(e).__name__}: {e}", True))
        ready.put(None)

    batch_chunks = write_batch_chunks()
    worker = threading.Thread(target=produce, name="semsearch-extract", daemon=True)
    worker.start()
    batch: list[_Pending] = []
    unindexable: set[str] = set()
    done = 0
    try:
        while True:
            item = ready.get()
            if item is None:
                break
            done += 1
            if isinstance(item, tuple):
                path, message, known = item
                if known:
                    unindexable.add(path)
                report.failed += 1
                report.failures.append((path, message))
                warn(f"skipped {message if message.startswith(path) else path + ': ' + message}")
            else:
                batch.append(item)
                if sum(len(p.chunks) for p in batch) >= batch_chunks:
                    _write_batch(index, batch, report, prefix)
                    batch = []
            if on_progress:
                on_progress(done, len(jobs))
        if batch:
            _write_batch(index, batch, report, prefix)
    except KeyboardInterrupt as e:  # Ctrl-C, SIGTERM: say what is kept (the report counts committed files)
        committed = report.new + report.changed
        raise IndexInterrupted(committed, len(jobs) - committed) from e
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get_nowait()
            except queue.Empty:
                worker.join(0.05)
    return unindexable


def _write_batch(index: Index, batch: list[_Pending], report: IndexReport, prefix: str) -> None:
    hashes = [c.text_hash for p in batch for c in p.chunks]
    known = index.db.vectors_by_hash(hashes)
    missing: dict[str, str] = {}
    for pending in batch:
        title = pending.record.title or ""
        for c in pending.chunks:
            if c.text_hash not in known and c.text_hash not in missing:
                missing[c.text_hash] = _embedding_text(prefix, c.heading or title, c.text)
    if missing:
        fresh = index.embedder.embed(list(missing.values()))
        known.update(zip(missing.keys(), fresh, strict=True))
    report.chunks_embedded += len(missing)
    report.chunks_reused += len(hashes) - len(missing)
    items = [(p.record, p.chunks, np.vstack([known[c.text_hash] for c in p.chunks]).astype(np.float32)) for p in batch]
    removed, added = index.db.write_files(items)
    for p in batch:  # counted as soon as committed: an interrupted run reports them
        if p.is_new:
            report.new += 1
        else:
            report.changed += 1
    pause_point("batch-committed")
    index.vectors.update(removed, added, index.db.generation)


def _extract(path: Path):
    from semsearch.ingest.extract import extract

    return extract(path)


def _file_hash(path: Path) -> str:
    with path.open("rb") as f:  # file_digest reuses one buffer; read(1 MiB) allocated 1 MiB a call
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def _is_under(path: str, roots: Sequence[Path | str]) -> bool:
    return any(path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep) for root in roots)


def _embedding_text(prefix: str, heading: str, text: str) -> str:
    """What the model sees for a chunk: the heading path gives a short passage its context."""
    return f"{prefix}{heading}\n\n{text}" if heading else f"{prefix}{text}"


def _document_prefix(model: str) -> str:
    from semsearch.embed.registry import document_prefix

    return document_prefix(model)


def _query_prefix(model: str) -> str:
    from semsearch.embed.registry import query_prefix

    return query_prefix(model)


def apply_changes(
    index: Index,
    paths: Iterable[str | os.PathLike],
    *,
    roots: Sequence[str | os.PathLike] = (),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    on_warning: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Bring the index up to date for paths that changed on disk (files or folders; created,
    modified, deleted or moved), judging each by what is on disk now, under the rules of `add`.

    `roots` are the folders the paths were found under (their ignore files and --include/--exclude
    apply); a path under no root is judged alone. A changed ignore file re-runs `add_paths` over its
    root. New files are written before gone ones are removed, so a moved file reuses its vectors.
    """
    from semsearch.ingest.walk import IGNORE_FILES, FoundFile, walk_under

    started = time.perf_counter()
    report = IndexReport()
    warn = on_warning or (lambda line: None)
    given = sorted({Path(p).expanduser().absolute() for p in paths})
    root_paths = [Path(r).expanduser().resolve() for r in roots]
    by_root: dict[Path, list[Path]] = {}
    for path in given:
        root = next((r for r in root_paths if _is_under(str(path), [r])), None)
        by_root.setdefault(root if root is not None else path, []).append(path)

    rescan = [r for r, members in by_root.items() if r.is_dir() and any(p.name in IGNORE_FILES for p in members)]
    if rescan:  # what an ignore file hides changed: the full incremental run over that root decides
        _merge_reports(report, add_paths(index, rescan, include=include, exclude=exclude,
                                         max_file_bytes=max_file_bytes, on_warning=on_warning))  # fmt: skip
        for root in rescan:
            del by_root[root]
    if not by_root:
        report.seconds = time.perf_counter() - started
        return report

    index.record_model()
    vectors = index.vectors
    existing = index.db.files()
    seen: set[str] = set()
    todo: list[_Job] = []
    touched: list[FileRecord] = []
    for root, members in by_root.items():
        for item in walk_under(root, members, include=include, exclude=exclude, max_file_bytes=max_file_bytes):
            path = str(item.path)
            if not isinstance(item, FoundFile):
                if os.path.lexists(path):
                    seen.add(path)  # there but unreadable: keep what was indexed, as `add` does
                    report.failed += 1
                    report.failures.append((path, item.reason))
                    warn(f"skipped {path}: {item.reason}")
                continue
            old = existing.get(path)
            if old and old.size == item.size and old.mtime_ns == item.mtime_ns:
                seen.add(path)
                report.unchanged += 1
                continue
            try:
                digest = _file_hash(item.path)
            except OSError:
                if os.path.lexists(path):
                    seen.add(path)
                    report.failed += 1
                    report.failures.append((path, "cannot read file"))
                continue  # vanished between the event and the read: it is gone
            seen.add(path)
            if old and digest == old.content_hash:
                report.unchanged += 1
                touched.append(FileRecord(path, item.size, item.mtime_ns, digest))
                continue
            record = FileRecord(path, item.size, item.mtime_ns, digest)
            todo.append(_Job(record, old is None, functools.partial(_extract, item.path)))
    index.db.touch_files(touched)

    known_failures = len(report.failures)
    _index_jobs(index, todo, report, lambda line: None, on_progress)
    # A file that vanished before it could be read is gone, not failed.
    vanished = {p for p, _ in report.failures[known_failures:] if not os.path.lexists(p)}
    report.failures = [(p, m) for p, m in report.failures if p not in vanished]
    report.failed = len(report.failures)
    for path, message in report.failures[known_failures:]:
        warn(f"skipped {message if message.startswith(path) else path + ': ' + message}")
    seen -= vanished

    # Whatever was indexed at or under a changed path and was not seen there now is gone.
    changed_paths = {str(g) for g in given}
    gone = [p for p in existing if p not in seen and _at_or_under_any(p, changed_paths)]
    gone += [p for p in vanished if p in existing and p not in gone]
    if gone:
        vectors.update(index.db.remove_files(gone), [], index.db.generation)
        report.deleted += len(gone)
    vectors.save(index.db)
    report.seconds = time.perf_counter() - started
    return report


def _at_or_under_any(path: str, folders: set[str]) -> bool:
    """Whether `path` or one of its parent folders is in `folders` (a walk up, not a scan of them)."""
    current = Path(path)
    return str(current) in folders or any(str(parent) in folders for parent in current.parents)


def _merge_reports(total: IndexReport, part: IndexReport) -> None:
    for name in ("new", "changed", "unchanged", "deleted", "failed", "chunks_embedded", "chunks_reused"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.failures += part.failures
