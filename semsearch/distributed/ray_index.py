"""`semsearch index PATH... --ray`: the indexing pipeline as a Ray Data job.

Listing (one task per root), hashing + extraction + chunking (CPU tasks, one row per chunk)
and embedding (an actor pool: the in-process model, or clients of the `--embedder` hosts)
run on the cluster; the rows stream back to this process, which writes them into the index
exactly as a local run does: under the writer lock, one SQLite transaction per batch of
files, the vector cache following each commit. So the index is the same, and a re-run skips
unchanged files the same way (size + mtime, then content hash).

The cluster must see the files at the same paths (one machine, or a shared filesystem) and
have semsearch installed. Ray is imported only here, only for `--ray`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semsearch.errors import SemsearchError
from semsearch.indexer import (
    DEFAULT_MAX_FILE_BYTES,
    IndexReport,
    _document_prefix,
    _embedding_text,
    _file_hash,
    _is_under,
    write_batch_chunks,
)
from semsearch.store.db import ChunkRecord, FileRecord, text_hash

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.index import Index

MISSING_RAY = "--ray needs the Ray extra: pip install 'semsearch[ray]'"
EMBED_BATCH = 64  # rows per actor call


def import_ray():
    """Ray, or the one-line error saying how to get it."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data ships in the extra ('ray[data]')
    except ImportError:
        raise SemsearchError(MISSING_RAY) from None
    return ray


@dataclass
class RayOptions:
    """Where the cluster is and how the embedding runs there."""

    address: str = "auto"  # "auto": the running cluster if there is one, else a local one
    actors: int | None = None  # embedding actors (default: one per embed host, or per 4 CPUs for the model)
    embedder_spec: str | None = None  # what each actor embeds with: "local[:cpu|:cuda]" or host URL(s)
    init_options: dict = field(default_factory=dict)  # extra ray.init arguments (tests: num_cpus, memory)


# -- what runs on the cluster ------------------------------------------------------------------------

_EMBEDDERS: dict[tuple[str, str], object] = {}


def _embedder(spec: str, model: str):
    """One embedder per worker process (tokenizer and model load once)."""
    key = (spec, model)
    if key not in _EMBEDDERS:
        from semsearch.embed import get_embedder

        _EMBEDDERS[key] = get_embedder(spec, model=model)
    return _EMBEDDERS[key]


def list_root(root: str, include: Sequence[str], exclude: Sequence[str], max_file_bytes: int) -> list[dict]:
    """One root's files (path, size, mtime) and skips (path, reason): a Ray task."""
    from semsearch.ingest.walk import FoundFile, walk

    found = []
    for item in walk([Path(root)], include=include, exclude=exclude, max_file_bytes=max_file_bytes):
        if isinstance(item, FoundFile):
            found.append({"path": str(item.path), "size": item.size, "mtime_ns": item.mtime_ns, "reason": ""})
        else:
            found.append({"path": str(item.path), "size": 0, "mtime_ns": 0, "reason": item.reason})
    return found


def _row(job: dict, **values) -> dict:
    """A uniform row (Arrow wants the same columns everywhere; None is encoded as a flag)."""
    row = {
        "path": job["path"],
        "size": job["size"],
        "mtime_ns": job["mtime_ns"],
        "content_hash": "",
        "is_new": job["old_hash"] == "",
        "status": "chunk",  # chunk | unchanged | failed
        "error": "",
        "kind": "",
        "title": "",
        "has_title": False,
        "n_chunks": 0,
        "ordinal": -1,
        "start_line": 0,
        "end_line": 0,
        "page": 0,
        "has_page": False,
        "heading": "",
        "has_heading": False,
        "text": "",
        "text_hash": "",
        "embed_text": "",
    }
    row.update(values)
    return row


def extract_and_chunk(job: dict) -> list[dict]:
    """Hash, extract and chunk one file into one row per chunk: a Ray task (never raises)."""
    from semsearch.indexer import _extract
    from semsearch.ingest.chunk import chunk_document

    path = job["path"]
    try:
        digest = _file_hash(Path(path))
        if digest == job["old_hash"]:
            return [_row(job, content_hash=digest, status="unchanged")]
        doc = _extract(Path(path))
        embedder = _embedder(job["spec"], job["model"])
        pieces = chunk_document(
            doc, embedder.count_tokens, max_tokens=job["max_tokens"], overlap_tokens=job["overlap_tokens"]
        )
        if not pieces:
            raise SemsearchError(f"{path}: no text to index")
    except SemsearchError as e:
        return [_row(job, status="failed", error=str(e))]
    except Exception as e:  # a broken file must never stop the run
        return [_row(job, status="failed", error=f"{path}: {type(e).__name__}: {e}")]
    rows = []
    for c in pieces:
        embed_text = _embedding_text(job["prefix"], c.heading or doc.title or "", c.text)
        rows.append(
            _row(
                job,
                content_hash=digest,
                kind=doc.kind,
                title=doc.title or "",
                has_title=doc.title is not None,
                n_chunks=len(pieces),
                ordinal=c.ordinal,
                start_line=c.start_line,
                end_line=c.end_line,
                page=c.page or 0,
                has_page=c.page is not None,
                heading=c.heading or "",
                has_heading=c.heading is not None,
                text=c.text,
                text_hash=text_hash(embed_text),
                embed_text=embed_text,
            )
        )
    return rows


class EmbedActor:
    """An embedding worker: the in-process model, or a client of the embed hosts."""

    def __init__(self, spec: str, model: str, dimensions: int):
        self.embedder = _embedder(spec, model)
        self.dimensions = dimensions
        from semsearch.embed.local import LocalEmbedder

        if isinstance(self.embedder, LocalEmbedder):
            self.embedder.loaded  # noqa: B018 - load the model now: a GPU actor without CUDA fails before any work

    def __call__(self, batch: dict) -> dict:
        wanted = np.flatnonzero(batch["ordinal"] >= 0)
        vectors = np.zeros((len(batch["ordinal"]), self.dimensions), dtype=np.float32)
        if len(wanted):
            vectors[wanted] = self.embedder.embed([str(batch["embed_text"][i]) for i in wanted])
        batch["vector"] = vectors
        del batch["embed_text"]  # only the vector travels back
        return batch


# -- the driver ---------------------------------------------------------------------------------------


def actor_spec(index: Index, options: RayOptions) -> str:
    """What the actors embed with: the hosts named on the command line, else the driver's server, else local."""
    from semsearch.embed.ollama import OllamaEmbedder
    from semsearch.embed.pool import PooledEmbedder

    if options.embedder_spec:
        return options.embedder_spec
    embedder = index.embedder
    if isinstance(embedder, PooledEmbedder):
        return ",".join(embedder.hosts)
    if isinstance(embedder, OllamaEmbedder):
        return embedder.client.base_url
    return "local"


def add_paths_ray(
    index: Index,
    paths: Iterable[str | os.PathLike],
    options: RayOptions | None = None,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    reindex: bool = False,
    on_warning: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Index files under `paths` on a Ray cluster, into `index`, as `Index.add` would locally."""
    if reindex:  # the crash-safe rebuild (build beside, then swap) runs the local pipeline
        raise SemsearchError("--reindex runs locally: drop --ray for the rebuild, then use --ray for updates")
    ray = import_ray()
    options = options or RayOptions()
    started = time.perf_counter()
    roots = [Path(p).expanduser().resolve() for p in paths]
    for root in roots:
        if not root.exists():
            raise SemsearchError(f"no such file or directory: {root}")
    owns_cluster = not ray.is_initialized()
    if owns_cluster:
        address = None if options.address in ("", "auto") else options.address
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False, **options.init_options)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise SemsearchError(f"cannot reach the Ray cluster at {options.address}: {e}") from None
    try:
        with index.writing():
            return _run(ray, index, roots, options, include, exclude, max_file_bytes, on_warning, on_progress, started)
    finally:
        if owns_cluster:
            ray.shutdown()


def _run(ray, index, roots, options, include, exclude, max_file_bytes, on_warning, on_progress, started):
    warn = on_warning or (lambda line: None)
    report = IndexReport()
    index.record_model()
    vectors = index.vectors
    embedder = index.embedder
    spec = actor_spec(index, options)
    plan = embed_plan(ray.cluster_resources(), spec, options.actors)  # before any change: a bad plan is one line

    # 1. Listing: a task per root, compared with the index here (size + mtime first, as locally).
    lister = ray.remote(list_root)
    listing = ray.get([lister.remote(str(r), list(include), list(exclude), max_file_bytes) for r in roots])
    existing = index.db.files()
    seen: set[str] = set()
    jobs: list[dict] = []
    common = {
        "spec": spec,
        "model": index.model,
        "prefix": _document_prefix(index.model),
        "max_tokens": max(32, min(index.chunk_tokens, embedder.context_length - 16)),
        "overlap_tokens": index.overlap_tokens,
    }
    for item in (item for found in listing for item in found):
        path = item["path"]
        if path in seen:
            continue
        seen.add(path)
        if item["reason"]:
            report.failed += 1
            report.failures.append((path, item["reason"]))
            warn(f"skipped {path}: {item['reason']}")
            continue
        old = existing.get(path)
        if old and old.size == item["size"] and old.mtime_ns == item["mtime_ns"]:
            report.unchanged += 1
            continue
        jobs.append({**item, **common, "old_hash": old.content_hash if old else ""})
    gone = [p for p in existing if p not in seen and _is_under(p, roots)]
    if gone:
        vectors.update(index.db.remove_files(gone), [], index.db.generation)
        report.deleted = len(gone)

    # 2. Extraction + chunking as tasks, embedding on an actor pool; rows stream back here.
    if jobs:
        _stream(ray, index, jobs, plan, embedder.dimensions, report, warn, on_progress)
    vectors.save(index.db)
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class EmbedPlan:
    """How the embedding actors run: what each embeds with, how many, and what each reserves."""

    spec: str
    actors: int
    num_cpus: float
    num_gpus: int = 0


def embed_plan(resources: dict, spec: str, actors: int | None = None) -> EmbedPlan:
    """The actor pool for a cluster with `resources` (ray.cluster_resources()).

    "local" uses the cluster's GPUs when it has them (one actor per GPU, the model on ONNX Runtime's
    CUDA provider), else one actor per 4 CPUs; "local:cpu" never uses a GPU; "local:cuda" requires one.
    Hosts: an actor per host, each mostly waiting on HTTP.
    """
    gpus = int(resources.get("GPU", 0))
    if spec == "local:cuda" and not gpus:
        raise SemsearchError("--embedder local:cuda: the Ray cluster has no GPUs (use local or local:cpu)")
    if spec == "local:cuda" or (spec == "local" and gpus):
        return EmbedPlan("local:cuda", actors or gpus, num_cpus=1, num_gpus=1)
    if spec in ("local", "local:cpu"):
        return EmbedPlan(spec, actors or max(1, int(resources.get("CPU", 1)) // 4), num_cpus=1)
    return EmbedPlan(spec, actors or max(1, len(spec.split(","))), num_cpus=0.25)


def _stream(ray, index, jobs, plan: EmbedPlan, dimensions, report, warn, on_progress) -> None:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours is the bar the user sees
    dataset = (
        ray.data.from_items(jobs, override_num_blocks=min(len(jobs), 4 * max(1, int(ray.cluster_resources()["CPU"]))))
        .flat_map(extract_and_chunk)
        .map_batches(
            EmbedActor,
            fn_constructor_kwargs={"spec": plan.spec, "model": index.model, "dimensions": dimensions},
            batch_size=EMBED_BATCH * (4 if plan.num_gpus else 1),
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=plan.actors),
            num_cpus=plan.num_cpus,
            num_gpus=plan.num_gpus,
        )
    )
    touched: list[FileRecord] = []
    partial: dict[str, list[dict]] = {}
    batch: list[tuple[FileRecord, list[ChunkRecord], np.ndarray, bool]] = []
    done = 0

    def file_done() -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(done, len(jobs))

    for row in _rows(dataset):
        path = str(row["path"])
        record = FileRecord(path, int(row["size"]), int(row["mtime_ns"]), str(row["content_hash"]))
        if row["status"] == "failed":
            report.failed += 1
            report.failures.append((path, str(row["error"])))
            message = str(row["error"])
            warn(f"skipped {message if message.startswith(path) else path + ': ' + message}")
            file_done()
            continue
        if row["status"] == "unchanged":
            report.unchanged += 1
            touched.append(record)
            file_done()
            continue
        rows = partial.setdefault(path, [])
        rows.append(row)
        if len(rows) < int(row["n_chunks"]):
            continue
        del partial[path]
        rows.sort(key=lambda r: int(r["ordinal"]))
        record.kind = str(row["kind"])
        record.title = str(row["title"]) if row["has_title"] else None
        chunks = [
            ChunkRecord(
                ordinal=int(r["ordinal"]),
                start_line=int(r["start_line"]),
                end_line=int(r["end_line"]),
                heading=str(r["heading"]) if r["has_heading"] else None,
                text=str(r["text"]),
                page=int(r["page"]) if r["has_page"] else None,
                text_hash=str(r["text_hash"]),
            )
            for r in rows
        ]
        vectors = np.vstack([np.asarray(r["vector"], dtype=np.float32) for r in rows])
        batch.append((record, chunks, vectors, bool(row["is_new"])))
        report.chunks_embedded += len(chunks)
        if sum(len(c) for _, c, _, _ in batch) >= write_batch_chunks():
            _commit(index, batch, report)
            batch = []
        file_done()
    if batch:
        _commit(index, batch, report)
    if partial:  # cannot happen unless rows were lost on the way: say so rather than index half a file
        raise SemsearchError(f"Ray returned incomplete chunks for {len(partial)} files, e.g. {next(iter(partial))}")
    index.db.touch_files(touched)


def _rows(dataset):
    """The job's rows as they arrive; a SemsearchError raised on the cluster comes back as its one line."""
    try:
        yield from dataset.iter_rows()
    except Exception as e:
        cause: BaseException | None = e
        while cause is not None and not isinstance(cause, SemsearchError):
            cause = getattr(cause, "cause", None) or cause.__cause__
        if cause is not None:
            raise SemsearchError(str(cause)) from None
        # An actor that failed in its constructor comes back as ActorDiedError with the traceback as text.
        found = _REMOTE_ERROR.findall(f"{e} {getattr(e, 'error_msg', '')}")
        if not found:
            raise
        raise SemsearchError(found[-1].strip()) from None


_REMOTE_ERROR = re.compile(r"semsearch\.errors\.\w+: ([^\n]+)")


def _commit(index: Index, batch, report: IndexReport) -> None:
    """The local run's write path: one transaction for the files, the vector cache follows it."""
    removed, added = index.db.write_files([(record, chunks, vectors) for record, chunks, vectors, _ in batch])
    index.vectors.update(removed, added, index.db.generation)
    for *_, is_new in batch:
        if is_new:
            report.new += 1
        else:
            report.changed += 1
