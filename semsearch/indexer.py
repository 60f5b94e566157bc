"""The indexing pipeline, the one every run goes through (`index`, `watch`, MCP's `index`, `--ray`).

1. `plan_paths` / `plan_changes`: list what is on disk and diff it with the index: new, changed,
   unchanged, gone, and could not look (an unreadable folder: what was indexed there is kept).
2. Extract and chunk the new and changed files: `run_jobs` here (a worker thread extracts
   while this one commits), or `semsearch.distributed` on a Ray cluster (which embeds too).
3. `commit_files` writes each batch in one transaction, about once a second: the files are
   keyword-searchable at once. Chunks whose text is already stored reuse its vector (a renamed
   file is not embedded again); the others are pending.
4. `finish` removes what is gone (after the writes, so renamed files could reuse their vectors),
   and only what the run looked at: a run narrowed by --include/--exclude or to a subfolder
   leaves every other file alone. Then `embed_pending` gives pending chunks their vectors, a
   batch a transaction: dense search finds them as they arrive. An interrupted run keeps what
   it committed; the next run embeds whatever is still pending.
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

from semsearch.collection import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS
from semsearch.errors import IndexInterrupted, SemsearchError
from semsearch.paths import PathPattern, selected
from semsearch.settings import env_int
from semsearch.store.db import ChunkRecord, FileRecord, text_hash
from semsearch.words import plural

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.collection import Collection
    from semsearch.ingest.extract import Document
    from semsearch.store.warned import WarnOnce

__all__ = [
    "DEFAULT_CHUNK_TOKENS",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_OVERLAP_TOKENS",
    "IndexInterrupted",
    "IndexReport",
    "RunOptions",
]

DEFAULT_MAX_FILE_BYTES = 10_000_000
WRITE_BATCH_CHUNKS = 256  # chunks per embed call and commit; $SEMSEARCH_WRITE_BATCH_CHUNKS overrides it
COMMIT_EVERY_S = 1.0  # files become keyword-searchable at least this often during a run


def write_batch_chunks() -> int:
    """Chunks per embed call and commit, read where used (a bad value is one line naming the variable)."""
    return env_int("SEMSEARCH_WRITE_BATCH_CHUNKS", WRITE_BATCH_CHUNKS, meaning="a whole number of chunks", minimum=1)


@dataclass
class RunOptions:
    """What a run looks at (--include/--exclude, the size limit) and whom it tells (warnings, progress)."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    on_warning: Callable[[str], None] | None = None
    on_progress: Callable[[int, int], None] | None = None  # (files done, files to do)
    on_embed_progress: Callable[[int, int], None] | None = None  # (chunks embedded, chunks pending at the start)

    def warn(self, line: str) -> None:
        if self.on_warning:
            self.on_warning(line)

    def progress(self, done: int, total: int) -> None:
        if self.on_progress:
            self.on_progress(done, total)

    def looks_at(self, path: str, roots: Sequence[Path]) -> bool:
        """Whether this run's --include/--exclude select an indexed path (relative to its root)."""
        if not self.include and not self.exclude:
            return True
        root = next((r for r in roots if is_under(path, [r])), None)
        rel = os.path.relpath(path, root) if root is not None and path != str(root) else Path(path).name
        return selected(rel, *self.patterns)

    @functools.cached_property
    def patterns(self) -> tuple[PathPattern | None, PathPattern | None]:
        """--include and --exclude, compiled once for the run."""
        return PathPattern.of(self.include), PathPattern.of(self.exclude)


@dataclass
class IndexReport:
    """What one `add` run did; the CLI prints it as the summary line."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    skipped: int = 0  # left out on purpose, without a warning: images, empty files, lock files, drawings
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
            f"{self.failed} failed, {self.skipped} skipped; {plural(self.chunks_embedded, 'chunk')} embedded "
            f"in {self.seconds:.1f}s ({self.chunks_per_second:.1f} chunks/s)"
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["chunks_per_second"] = round(self.chunks_per_second, 2)
        data["failures"] = [{"path": p, "error": e} for p, e in self.failures]
        return data

    def fail(self, path: str, message: str) -> None:
        self.failed += 1
        self.failures.append((path, message))

    def merge(self, part: IndexReport) -> None:
        for name in ("new", "changed", "unchanged", "deleted", "failed", "skipped", "chunks_embedded", "chunks_reused"):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self.failures += part.failures


@dataclass
class Job:
    """A file (or text) to extract, chunk and embed."""

    record: FileRecord
    is_new: bool
    load: Callable[[], Document]


@dataclass
class Extracted:
    """A file extracted and chunked, waiting for its vectors."""

    record: FileRecord
    chunks: list[ChunkRecord]
    is_new: bool
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # embedded elsewhere (Ray), by text hash


@dataclass
class Plan:
    """What a run found on disk against the index: the work to do and what it may remove after."""

    roots: list[Path]
    existing: dict[str, FileRecord]
    jobs: list[Job] = field(default_factory=list)
    keep: set[str] = field(default_factory=set)  # indexed paths that stay (seen, or could not be looked at)
    unseen_folders: list[Path] = field(default_factory=list)
    # Paths at or under which whatever is not kept is gone (watch: the changed paths; add: the roots).
    scope: list[str] = field(default_factory=list)
    report: IndexReport = field(default_factory=IndexReport)
    started: float = field(default_factory=time.perf_counter)
    warnings: WarnOnce | None = None  # a warning about a file is shown once while the file is unchanged

    def warn(self, options: RunOptions, path: str, line: str) -> None:
        if self.warnings is not None:
            self.warnings(path, line)
        else:
            options.warn(line)


def file_hash(path: Path) -> str:
    """The content hash that decides whether a file whose mtime moved really changed."""
    with path.open("rb") as f:  # file_digest reuses one buffer; read(1 MiB) allocated 1 MiB a call
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def is_under(path: str, roots: Sequence[Path | str]) -> bool:
    return any(path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep) for root in roots)


def extract_file(path: str | Path) -> Document:
    from semsearch.ingest.extract import extract

    return extract(Path(path))


def chunk_records(collection: Collection, doc: Document, count_tokens: Callable[[str], int]) -> list[ChunkRecord]:
    """A document's chunks as records with the hash of what the model sees (equal hash, equal vector)."""
    from semsearch.ingest.chunk import chunk_document

    pieces = chunk_document(
        doc, count_tokens, max_tokens=collection.max_chunk_tokens, overlap_tokens=collection.overlap_tokens
    )
    if not pieces:
        raise SemsearchError(f"{doc.path}: no text to index")
    return [
        ChunkRecord(
            ordinal=c.ordinal,
            start_line=c.start_line,
            end_line=c.end_line,
            heading=c.heading,
            text=c.text,
            page=c.page,
            anchor=c.anchor,
            text_hash=text_hash(collection.embedding_text(c.heading or doc.title or "", c.text)),
        )
        for c in pieces
    ]


# -- 1. plans ------------------------------------------------------------------------------------------


def plan_paths(collection: Collection, paths: Iterable[str | os.PathLike], options: RunOptions) -> Plan:
    """Walk the paths and diff them with the index (size + mtime first, then the content hash)."""
    from semsearch.ingest.walk import FoundFile, printable, walk

    roots = [Path(p).expanduser().resolve() for p in paths]
    for root in roots:
        if not root.exists():
            raise SemsearchError(f"no such file or directory: {printable(root)}")
    plan = Plan(roots=roots, existing=collection.files(), scope=[str(r) for r in roots])
    plan.warnings = collection.warn_once(options.warn)
    touched: list[FileRecord] = []
    for item in walk(roots, include=options.include, exclude=options.exclude, max_file_bytes=options.max_file_bytes):
        path = str(item.path)
        if not isinstance(item, FoundFile):
            if item.quiet:  # empty, binary or junk: skipped without a word (and gone from the index)
                plan.report.skipped += 1
                continue
            plan.report.fail(printable(path), item.reason)
            plan.warn(options, path, f"skipped {printable(path)}: {item.reason}")
            if item.unseen:
                plan.keep.add(path)
                plan.unseen_folders.append(item.path)
            continue
        plan.keep.add(path)
        if record := _diff(plan, item.path, item.size, item.mtime_ns, touched):
            plan.jobs.append(Job(record, path not in plan.existing, functools.partial(extract_file, item.path)))
    collection.touch(touched)
    return plan


def plan_changes(
    collection: Collection, paths: Iterable[str | os.PathLike], roots: Sequence[str | os.PathLike], options: RunOptions
) -> tuple[Plan, list[Path]]:
    """The plan for paths that changed on disk (what `watch` hears), judged by what is there now.

    Returns the plan and the roots whose ignore files changed: those need a full `plan_paths`.
    """
    from semsearch.ingest.walk import IGNORE_FILES, FoundFile, walk_under

    given = sorted({Path(p).expanduser().absolute() for p in paths})
    root_paths = [Path(r).expanduser().resolve() for r in roots]
    by_root: dict[Path, list[Path]] = {}
    for path in given:
        root = next((r for r in root_paths if is_under(str(path), [r])), None)
        by_root.setdefault(root if root is not None else path, []).append(path)
    rescan = [r for r, members in by_root.items() if r.is_dir() and any(p.name in IGNORE_FILES for p in members)]
    for root in rescan:
        del by_root[root]

    plan = Plan(roots=root_paths, existing=collection.files() if by_root else {})
    plan.scope = [str(p) for members in by_root.values() for p in members]
    touched: list[FileRecord] = []
    for root, members in by_root.items():
        walked = walk_under(
            root, members, include=options.include, exclude=options.exclude, max_file_bytes=options.max_file_bytes
        )
        for item in walked:
            path = str(item.path)
            if not isinstance(item, FoundFile):
                if item.quiet:  # now empty, binary or junk: gone from the index, without a warning
                    plan.report.skipped += 1
                elif os.path.lexists(path):
                    plan.keep.add(path)  # there but unreadable: keep what was indexed, as `add` does
                    plan.report.fail(path, item.reason)
                    options.warn(f"skipped {path}: {item.reason}")
                continue
            try:
                record = _diff(plan, item.path, item.size, item.mtime_ns, touched)
            except OSError:
                if os.path.lexists(path):
                    plan.keep.add(path)
                    plan.report.fail(path, "cannot read file")
                continue  # vanished between the event and the read: it is gone
            plan.keep.add(path)
            if record:
                plan.jobs.append(Job(record, path not in plan.existing, functools.partial(extract_file, item.path)))
    collection.touch(touched)
    return plan, rescan


def _diff(plan: Plan, path: Path, size: int, mtime_ns: int, touched: list[FileRecord]) -> FileRecord | None:
    """The record to index for a file on disk, or None when the index already holds its content."""
    old = plan.existing.get(str(path))
    if old and old.size == size and old.mtime_ns == mtime_ns:
        plan.report.unchanged += 1
        return None
    digest = file_hash(path)
    if old and digest == old.content_hash:
        plan.report.unchanged += 1
        touched.append(FileRecord(str(path), size, mtime_ns, digest))
        return None
    return FileRecord(str(path), size, mtime_ns, digest)


# -- 2. extract, chunk, embed (locally) ----------------------------------------------------------------


def run_jobs(collection: Collection, plan: Plan, options: RunOptions) -> set[str]:
    """Extract and chunk on a worker thread while this thread commits the files (their chunks pending).

    Returns the paths found unindexable (empty, no text, corrupt): what was indexed from
    them is out of date. Files that could not be read are not among them.
    """
    from semsearch.ingest.extract import UnreadableFileError

    jobs, report = plan.jobs, plan.report
    ready: queue.Queue = queue.Queue(maxsize=64)
    stop = threading.Event()
    embedder = collection.embedder

    def produce() -> None:
        for job in jobs:
            if stop.is_set():
                break
            path = job.record.path
            try:
                doc = job.load()
                chunks = chunk_records(collection, doc, embedder.count_tokens)
                job.record.kind, job.record.title = doc.kind, doc.title
                ready.put(Extracted(job.record, chunks, job.is_new))
            except UnreadableFileError as e:
                ready.put((path, str(e), False))
            except SemsearchError as e:
                ready.put((path, str(e), True))
            except Exception as e:  # a broken file must never stop the run
                ready.put((path, f"{path}: {type(e).__name__}: {e}", True))
        ready.put(None)

    worker = threading.Thread(target=produce, name="semsearch-extract", daemon=True)
    worker.start()
    batch: list[Extracted] = []
    unindexable: set[str] = set()
    done = 0
    due = time.monotonic() + COMMIT_EVERY_S
    batch_chunks = write_batch_chunks()
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
                report_failure(plan, options, path, message)
            else:
                batch.append(item)
                if sum(len(p.chunks) for p in batch) >= batch_chunks or time.monotonic() > due:
                    commit_files(collection, batch, report)
                    batch, due = [], time.monotonic() + COMMIT_EVERY_S
            options.progress(done, len(jobs))
        if batch:
            commit_files(collection, batch, report)
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get_nowait()
            except queue.Empty:
                worker.join(0.05)
    return unindexable


def report_failure(plan: Plan, options: RunOptions, path: str, message: str) -> None:
    plan.report.fail(path, message)
    plan.warn(options, path, f"skipped {message if message.startswith(path) else path + ': ' + message}")


# -- 3. commit -----------------------------------------------------------------------------------------


def commit_files(collection: Collection, batch: list[Extracted], report: IndexReport) -> None:
    """Write a batch of files in one transaction. A chunk whose text is stored reuses its vector, one
    whose vector the batch brought (Ray) takes it; the rest are pending until `embed_pending`."""
    hashes = [c.text_hash for p in batch for c in p.chunks]
    known = collection.known_vectors(hashes)
    brought = {h: v for p in batch for h, v in p.vectors.items() if h not in known}
    report.chunks_reused += sum(h in known for h in hashes)
    report.chunks_embedded += len(brought)
    known.update(brought)
    collection.write([(p.record, p.chunks, [known.get(c.text_hash) for c in p.chunks]) for p in batch])
    for p in batch:
        if p.is_new:
            report.new += 1
        else:
            report.changed += 1


def embed_pending(collection: Collection, report: IndexReport, options: RunOptions) -> None:
    """Give every pending chunk its vector, a batch a transaction (this run's and any an earlier run left)."""
    batch = write_batch_chunks()
    rows = collection.pending_chunks(batch)
    total = collection.pending_count() if rows else 0  # counted only when there is work: a no-op run skips it
    done = 0
    while rows:
        texts: dict[str, str] = {}
        for chunk in rows:
            texts.setdefault(chunk.text_hash, collection.embedding_text(chunk.heading, chunk.text))
        known = collection.known_vectors(texts)
        missing = [h for h in texts if h not in known]
        if missing:
            known.update(zip(missing, collection.embedder.embed([texts[h] for h in missing]), strict=True))
        report.chunks_embedded += len(missing)
        collection.set_vectors([(chunk.chunk_id, known[chunk.text_hash]) for chunk in rows])
        done += len(rows)
        if options.on_embed_progress:
            options.on_embed_progress(done, max(total, done))
        rows = collection.pending_chunks(batch)


# -- 4. finish -----------------------------------------------------------------------------------------


def finish(collection: Collection, plan: Plan, unindexable: set[str], options: RunOptions) -> IndexReport:
    """Remove what the run looked at and found gone, embed what is pending, save the vector cache.

    Only what is known to be gone leaves the index: a file that no longer exists, one that
    exists but can no longer be indexed (now empty, binary, too big), or one a standing rule
    now hides (.gitignore, .semsearchignore, hidden or junk folders). A file or folder that
    could not be looked at keeps what was indexed from it; a file outside this run's
    --include/--exclude was not looked at, so it stays.
    """
    keep = plan.keep - unindexable
    gone = [
        p
        for p in plan.existing
        if p not in keep
        and _at_or_under_any(p, plan.scope)
        and not is_under(p, plan.unseen_folders)
        and options.looks_at(p, plan.roots)
    ]
    if gone:
        plan.report.deleted += collection.remove(gone)
    embed_pending(collection, plan.report, options)
    collection.save()
    if plan.warnings is not None:
        plan.warnings.save(lambda p: _at_or_under_any(p, plan.scope))
    plan.report.seconds = time.perf_counter() - plan.started
    return plan.report


def _at_or_under_any(path: str, folders: Sequence[str]) -> bool:
    """Whether `path` or one of its parent folders is in `folders` (a walk up, not a scan of them)."""
    wanted = set(folders)
    current = Path(path)
    return str(current) in wanted or any(str(parent) in wanted for parent in current.parents)


# -- the runs ------------------------------------------------------------------------------------------


def add_paths(collection: Collection, paths: Iterable[str | os.PathLike], options: RunOptions) -> IndexReport:
    """Index files under `paths`: new and changed files are embedded, gone ones removed."""
    paths = list(paths)
    collection.record_model()
    collection.vectors()  # load (or rebuild) before writing
    plan = plan_paths(collection, paths, options)
    try:
        unindexable = run_jobs(collection, plan, options)
        return finish(collection, plan, unindexable, options)
    except KeyboardInterrupt:
        committed = committed_files(collection, plan)
        raise IndexInterrupted(committed, len(plan.jobs) - committed, collection.pending_count()) from None


def committed_files(collection: Collection, plan: Plan) -> int:
    """How many of the plan's files the index now holds as they are on disk (what an interrupted run kept)."""
    held = collection.files()
    return sum(1 for job in plan.jobs if (r := held.get(job.record.path)) and r.content_hash == job.record.content_hash)


def apply_changes(
    collection: Collection, paths: Iterable[str | os.PathLike], roots: Sequence[str | os.PathLike], options: RunOptions
) -> IndexReport:
    """Bring the index up to date for paths that changed on disk (files or folders; created,
    modified, deleted or moved), judging each by what is on disk now, under the rules of `add`.

    A changed ignore file re-runs `add_paths` over its root. New files are written before gone
    ones are removed, so a moved file reuses its vectors.
    """
    collection.record_model()
    collection.vectors()
    plan, rescan = plan_changes(collection, paths, roots, options)
    report = IndexReport()
    if rescan:  # what an ignore file hides changed: the full incremental run over that root decides
        report.merge(add_paths(collection, rescan, options))
    if not plan.scope:
        report.seconds = time.perf_counter() - plan.started
        return report
    quiet = RunOptions(options.include, options.exclude, options.max_file_bytes, None, options.on_progress)
    known_failures = len(plan.report.failures)
    unindexable = run_jobs(collection, plan, quiet)
    # A file that vanished before it could be read is gone, not failed.
    vanished = {p for p, _ in plan.report.failures[known_failures:] if not os.path.lexists(p)}
    plan.report.failures = [(p, m) for p, m in plan.report.failures if p not in vanished]
    plan.report.failed = len(plan.report.failures)
    for path, message in plan.report.failures[known_failures:]:
        options.warn(f"skipped {message if message.startswith(path) else path + ': ' + message}")
    plan.keep -= vanished
    plan.scope += [p for p in vanished if p in plan.existing]
    report.merge(finish(collection, plan, unindexable, options))
    report.seconds = time.perf_counter() - plan.started
    return report


def add_texts(
    collection: Collection, items: Iterable[tuple[str, str, str]], options: RunOptions | None = None
) -> IndexReport:
    """Index (id, title, text) triples that are not files, e.g. a BEIR corpus."""
    from semsearch.ingest.extract import Document, Section

    options = options or RunOptions()
    collection.record_model()
    collection.vectors()
    plan = Plan(roots=[], existing=collection.files())
    for doc_id, title, text in items:
        digest = text_hash(f"{title}\x00{text}")
        old = plan.existing.get(doc_id)
        if old and old.content_hash == digest:
            plan.report.unchanged += 1
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
        plan.jobs.append(Job(record, old is None, lambda doc=doc: doc))
    run_jobs(collection, plan, RunOptions(on_progress=options.on_progress))
    return finish(collection, plan, set(), options)


def remove_paths(collection: Collection, paths: Iterable[str | os.PathLike]) -> int:
    """Forget files (or every file under a folder); returns how many were removed."""
    roots = [Path(p).expanduser().resolve() for p in paths]
    gone = [p for p in collection.files() if is_under(p, roots)]
    if not gone:
        return 0
    removed = collection.remove(gone)
    collection.save()
    return removed
