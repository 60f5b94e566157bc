"""`semsearch index PATH... --ray`: the indexing pipeline with extraction, chunking and embedding on Ray.

The run is the local one (semsearch.indexer): the same plan (listing and diffing with the index,
here on the driver), the same commits and the same removal at the end. Only the middle moves:
extraction + chunking run as CPU tasks (one row per chunk) and embedding on an actor pool (the
in-process model, or clients of the `--embedder` hosts); the rows stream back to this process,
which commits them as a local run does. Chunks whose text the index already holds are not sent
to the actors (a renamed file reuses its vectors), and whatever is gone is removed last.

The cluster must see the files at the same paths (one machine, or a shared filesystem) and
have semsearch installed. Ray is imported only here, only for `--ray`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semsearch import indexer
from semsearch.collection import embedding_text
from semsearch.errors import SemsearchError
from semsearch.indexer import DEFAULT_MAX_FILE_BYTES, Extracted, IndexReport, Plan, RunOptions, write_batch_chunks
from semsearch.store.db import ChunkRecord, FileRecord, text_hash

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.collection import Collection
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


def _row(job: dict, **values) -> dict:
    """A uniform row (Arrow wants the same columns everywhere; None is encoded as a flag)."""
    row = {
        "path": job["path"],
        "size": job["size"],
        "mtime_ns": job["mtime_ns"],
        "content_hash": job["content_hash"],
        "is_new": job["is_new"],
        "status": "chunk",  # chunk | failed
        "error": "",
        "unindexable": False,  # failed on what the file holds (empty, corrupt), not on reading it
        "kind": "",
        "title": "",
        "has_title": False,
        "n_chunks": 0,
        "ordinal": -1,
        "start_line": 0,
        "end_line": 0,
        "page": 0,
        "has_page": False,
        "anchor": "",  # "" for none
        "heading": "",
        "has_heading": False,
        "text": "",
        "text_hash": "",
        "embed_text": "",
    }
    row.update(values)
    return row


def extract_and_chunk(job: dict) -> list[dict]:
    """Extract and chunk one file into one row per chunk: a Ray task (never raises)."""
    from semsearch.ingest.chunk import chunk_document
    from semsearch.ingest.extract import UnreadableFileError

    path = job["path"]
    try:
        doc = indexer.extract_file(path)
        embedder = _embedder(job["spec"], job["model"])
        pieces = chunk_document(
            doc, embedder.count_tokens, max_tokens=job["max_tokens"], overlap_tokens=job["overlap_tokens"]
        )
        if not pieces:
            raise SemsearchError(f"{path}: no text to index")
    except UnreadableFileError as e:
        return [_row(job, status="failed", error=str(e))]
    except SemsearchError as e:
        return [_row(job, status="failed", error=str(e), unindexable=True)]
    except Exception as e:  # a broken file must never stop the run
        return [_row(job, status="failed", error=f"{path}: {type(e).__name__}: {e}", unindexable=True)]
    rows = []
    for c in pieces:
        embed_text = embedding_text(job["prefix"], c.heading or doc.title or "", c.text)
        rows.append(
            _row(
                job,
                kind=doc.kind,
                title=doc.title or "",
                has_title=doc.title is not None,
                n_chunks=len(pieces),
                ordinal=c.ordinal,
                start_line=c.start_line,
                end_line=c.end_line,
                page=c.page or 0,
                has_page=c.page is not None,
                anchor=c.anchor or "",
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

    def __init__(self, spec: str, model: str, dimensions: int, known: frozenset[str] = frozenset()):
        """known: hashes of chunk texts the index already holds: not embedded again."""
        self.embedder = _embedder(spec, model)
        self.dimensions = dimensions
        self.known = known
        from semsearch.embed.local import LocalEmbedder

        if isinstance(self.embedder, LocalEmbedder):
            self.embedder.loaded  # noqa: B018 - load the model now: a GPU actor without CUDA fails before any work

    def __call__(self, batch: dict) -> dict:
        wanted = [i for i in np.flatnonzero(batch["ordinal"] >= 0) if str(batch["text_hash"][i]) not in self.known]
        vectors = np.zeros((len(batch["ordinal"]), self.dimensions), dtype=np.float32)
        embedded = np.zeros(len(batch["ordinal"]), dtype=bool)
        if wanted:
            vectors[wanted] = self.embedder.embed([str(batch["embed_text"][i]) for i in wanted])
            embedded[wanted] = True
        batch["vector"] = vectors
        batch["embedded"] = embedded
        del batch["embed_text"]  # only the vector travels back
        return batch


# -- the driver ---------------------------------------------------------------------------------------


def actor_spec(collection: Collection, options: RayOptions) -> str:
    """What the actors embed with: the hosts named on the command line, else the driver's server, else local."""
    from semsearch.embed.ollama import OllamaEmbedder
    from semsearch.embed.pool import PooledEmbedder

    if options.embedder_spec:
        return options.embedder_spec
    embedder = collection.embedder
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
    on_embed_progress: Callable[[int, int], None] | None = None,
    run_options: RunOptions | None = None,
) -> IndexReport:
    """Index files under `paths` on a Ray cluster, into `index`, as `Index.add` would locally."""
    if reindex:  # the crash-safe rebuild (build beside, then swap) runs the local pipeline
        raise SemsearchError("--reindex runs locally: drop --ray for the rebuild, then use --ray for updates")
    ray = import_ray()
    options = options or RayOptions()
    run_options = run_options or RunOptions(
        include, exclude, max_file_bytes, on_warning, on_progress, on_embed_progress
    )
    collection = index.collection
    paths = list(paths)
    for root in paths:
        if not Path(root).expanduser().exists():
            raise SemsearchError(f"no such file or directory: {root}")
    owns_cluster = not ray.is_initialized()
    if owns_cluster:
        address = None if options.address in ("", "auto") else options.address
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False, **options.init_options)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise SemsearchError(f"cannot reach the Ray cluster at {options.address}: {e}") from None
    try:
        with collection.writing():
            return _run(ray, collection, paths, options, run_options)
    finally:
        if owns_cluster:
            ray.shutdown()


def _run(ray, collection: Collection, paths: list, options: RayOptions, run_options: RunOptions) -> IndexReport:
    collection.record_model()
    collection.vectors()  # load (or rebuild) before writing
    embed = embed_plan(ray.cluster_resources(), actor_spec(collection, options), options.actors)  # a bad plan: 1 line
    plan = indexer.plan_paths(collection, paths, run_options)
    unindexable: set[str] = set()
    if plan.jobs:
        unindexable = _stream(ray, collection, plan, embed, run_options)
    return indexer.finish(collection, plan, unindexable, run_options)


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


def _stream(ray, collection: Collection, plan: Plan, embed: EmbedPlan, options: RunOptions) -> set[str]:
    """Extract, chunk and embed the plan's jobs on the cluster; commit files as their rows arrive.

    Returns the paths found unindexable, as `indexer.run_jobs` does."""
    import ray.data

    from semsearch.embed.registry import document_prefix

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours is the bar the user sees
    common = {
        "spec": embed.spec,
        "model": collection.model,
        "prefix": document_prefix(collection.model),
        "max_tokens": collection.max_chunk_tokens,
        "overlap_tokens": collection.overlap_tokens,
    }
    jobs = [
        {
            **common,
            "path": job.record.path,
            "size": job.record.size,
            "mtime_ns": job.record.mtime_ns,
            "content_hash": job.record.content_hash,
            "is_new": job.is_new,
        }
        for job in plan.jobs
    ]
    known = collection.stored_hashes()
    blocks = min(len(jobs), 4 * max(1, int(ray.cluster_resources()["CPU"])))
    dataset = (
        ray.data.from_items(jobs, override_num_blocks=blocks)
        .flat_map(extract_and_chunk)
        .map_batches(
            EmbedActor,
            fn_constructor_kwargs={
                "spec": embed.spec,
                "model": collection.model,
                "dimensions": collection.embedder.dimensions,
                "known": known,
            },
            batch_size=EMBED_BATCH * (4 if embed.num_gpus else 1),
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=embed.actors),
            num_cpus=embed.num_cpus,
            num_gpus=embed.num_gpus,
        )
    )
    report = plan.report
    partial: dict[str, list[dict]] = {}
    batch: list[Extracted] = []
    unindexable: set[str] = set()
    done = 0
    for row in _rows(dataset):
        path = str(row["path"])
        if row["status"] == "failed":
            if row["unindexable"]:
                unindexable.add(path)
            indexer.report_failure(plan, options, path, str(row["error"]))
        else:
            rows = partial.setdefault(path, [])
            rows.append(row)
            if len(rows) < int(row["n_chunks"]):
                continue
            del partial[path]
            batch.append(_extracted(sorted(rows, key=lambda r: int(r["ordinal"]))))
            if sum(len(e.chunks) for e in batch) >= write_batch_chunks():
                indexer.commit_files(collection, batch, report)
                batch = []
        done += 1
        options.progress(done, len(jobs))
    if batch:
        indexer.commit_files(collection, batch, report)
    if partial:  # cannot happen unless rows were lost on the way: say so rather than index half a file
        raise SemsearchError(f"Ray returned incomplete chunks for {len(partial)} files, e.g. {next(iter(partial))}")
    return unindexable


def _extracted(rows: list[dict]) -> Extracted:
    """One file's rows, back as the pipeline's Extracted (with the vectors the actors made)."""
    first = rows[0]
    record = FileRecord(
        str(first["path"]),
        int(first["size"]),
        int(first["mtime_ns"]),
        str(first["content_hash"]),
        str(first["kind"]),
        str(first["title"]) if first["has_title"] else None,
    )
    chunks = [
        ChunkRecord(
            ordinal=int(r["ordinal"]),
            start_line=int(r["start_line"]),
            end_line=int(r["end_line"]),
            heading=str(r["heading"]) if r["has_heading"] else None,
            text=str(r["text"]),
            page=int(r["page"]) if r["has_page"] else None,
            anchor=str(r["anchor"]) or None,
            text_hash=str(r["text_hash"]),
        )
        for r in rows
    ]
    vectors = {str(r["text_hash"]): np.asarray(r["vector"], dtype=np.float32) for r in rows if r["embedded"]}
    return Extracted(record, chunks, bool(first["is_new"]), vectors)


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
