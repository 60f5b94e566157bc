"""What the MCP tools do, in plain Python (the server module only describes and exposes them).

Two `Index` objects share one embedder: a reader for `search`, `get`, `related` and `status`,
which never waits for a writer, follows their commits and serves concurrent calls (its collection
takes reads in turn), and a writer for the `index` tool and the optional watcher.
The watcher holds the index's writer lock for the server's life; the `index` tool then writes
through the same writer object, one write at a time (`write_gate`), so it neither deadlocks nor
races the watcher.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from semsearch.errors import IndexNotFoundError, SemsearchError
from semsearch.search.engine import DEFAULT_MODE

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.index import Index
    from semsearch.watch import Watcher

STALE_EXAMPLES = 5  # files named in `status` when the index lags behind the disk


class SearchService:
    """One index, searched and kept up to date on behalf of an MCP client."""

    def __init__(
        self,
        index_name: str | os.PathLike | None = None,
        *,
        model: str | None = None,
        embedder: str | None = None,
        watch: Sequence[str | os.PathLike] = (),
    ):
        from semsearch.store.location import resolve_index_dir

        self.index_name = index_name
        self.path = resolve_index_dir(index_name)
        self.model = model
        self.embedder_spec = embedder
        self.watch_paths = [Path(p).expanduser().resolve() for p in watch]
        for path in self.watch_paths:
            if not path.exists():
                raise SemsearchError(f"no such file or directory: {path}")
        self._reader: Index | None = None
        self._writer: Index | None = None
        self._embedder = None
        self._open_lock = threading.Lock()
        self.write_gate = threading.RLock()
        self.watcher: Watcher | None = None
        self._watch_thread: threading.Thread | None = None

    # -- the indexes ----------------------------------------------------------------------------------

    def _shared_embedder(self, index: Index):
        if self._embedder is None:
            self._embedder = index.embedder
        return self._embedder

    def reader(self) -> Index:
        """The index for reading; IndexNotFoundError (with what to do) until one exists."""
        from semsearch.index import Index

        with self._open_lock:
            if self._reader is None:
                try:
                    index = Index(self.path, model=self.model, embedder=self._embedder or self.embedder_spec,
                                  create=False)  # fmt: skip
                except IndexNotFoundError as e:
                    raise IndexNotFoundError(
                        f"{e}; or call the `index` tool with the folders to search, then search again"
                    ) from None
                self._reader = index
            return self._reader

    def writer(self) -> Index:
        """The index for writing (created on first use); never waits for another process."""
        from semsearch.index import Index

        with self._open_lock:
            if self._writer is None:
                self._writer = Index(self.path, model=self.model, embedder=self._embedder or self.embedder_spec,
                                     wait_for_writer=False)  # fmt: skip
            return self._writer

    # -- tools ------------------------------------------------------------------------------------------

    def search(
        self,
        query: str | None = None,
        k: int = 8,
        mode: str = DEFAULT_MODE,
        path: str | None = None,
        *,
        queries: Sequence[dict] | None = None,
        max_tokens: int | None = None,
        **options,
    ) -> dict:
        from semsearch.search.subqueries import SubQuery

        typed = [SubQuery(q["type"], q["query"]) for q in queries or ()]
        if query is not None and (not isinstance(query, str) or not query.strip()):
            raise SemsearchError("the query is empty: pass the question or the words to look for")
        if query is None and not typed:
            raise SemsearchError("missing argument query: pass query (a question) or queries (typed sub-queries)")
        if not 1 <= k <= 100:
            raise SemsearchError(f"k must be between 1 and 100, not {k}")
        index = self.reader()
        hits = index.search(query, k, mode=mode, path=path or None, queries=typed or None, **options)
        answer: dict = {"query": query} if query is not None else {}
        if typed:
            answer["queries"] = [{"type": q.type, "query": q.query} for q in typed]
        else:
            answer["mode"] = mode
        answer["results"] = [hit_record(hit) for hit in hits]
        if not hits:
            answer["note"] = self._why_empty(index, path)
        if max_tokens is not None:
            from semsearch.mcp.budget import fit

            answer = fit(answer, max_tokens)
        return answer

    def get(self, path: str, start_line: int = 1, end_line: int | None = None) -> dict:
        index = self.reader()
        return index.read_lines(path, start_line, end_line).to_dict()

    def related(self, path: str, line: int | None = None, k: int = 8) -> dict:
        if not 1 <= k <= 100:
            raise SemsearchError(f"k must be between 1 and 100, not {k}")
        index = self.reader()
        hits = index.related(path, line, k)
        return {"path": path, "line": line, "results": [hit_record(hit) for hit in hits]}

    def _why_empty(self, index: Index, path: str | None) -> str:
        if index.collection.file_count() == 0:
            return "the index is empty: call the `index` tool with the folders to search"
        if path:
            return f"no indexed file matches the path filter {path!r}; try without it"
        return "nothing matched"

    def status(self) -> dict:
        info: dict = {"index": str(self.path)}
        try:
            index = self.reader()
        except IndexNotFoundError as e:
            info.update(exists=False, message=str(e))
        else:
            info.update(exists=True, **index.status())
            info["freshness"] = freshness(index)
        if self.watcher is not None:
            info["watching"] = self.watcher.state.to_dict()
        else:
            info["watching"] = None
        return info

    def index(self, paths: Sequence[str]) -> dict:
        if not paths:
            raise SemsearchError("no paths given: pass the folders or files to index")
        if self.watcher is not None and self.watcher.state.phase == "waiting for the writer lock":
            holder = self.writer().writer_lock.holder()
            raise SemsearchError(
                f"the watcher is waiting for another semsearch writing {self.path}"
                + (f" (pid {holder})" if holder else "")
                + "; try again when it finishes"
            )
        writer = self.writer()
        with self.write_gate:
            report = writer.add(paths)
        self._shared_embedder(writer)
        return report.to_dict()

    # -- the watcher ------------------------------------------------------------------------------------

    def start_watching(self, on_warning=None, on_batch=None) -> None:
        """Run a Watcher over --watch folders on a thread, through the writer index."""
        from semsearch.watch import Watcher

        if not self.watch_paths:
            return
        # The watcher waits for a running `semsearch index` to finish; the `index` tool never waits.
        self.watcher = Watcher(
            self.writer(),
            self.watch_paths,
            write_gate=self.write_gate,
            on_warning=on_warning,
            on_batch=on_batch,
            wait_for_writer=True,
        )

        def run() -> None:
            try:
                self.watcher.run()
            except Exception as e:  # the server keeps answering; status says what happened
                self.watcher.state.error = f"{type(e).__name__}: {e}" if not isinstance(e, SemsearchError) else str(e)
                self.watcher.state.phase = "failed"
                if on_warning:
                    on_warning(f"the watcher stopped: {self.watcher.state.error}")

        self._watch_thread = threading.Thread(target=run, name="semsearch-watch", daemon=True)
        self._watch_thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the watcher (it finishes the file in hand), then close both indexes."""
        if self.watcher is not None:
            self.watcher.stop()
        if self._watch_thread is not None:
            self._watch_thread.join(timeout)
        with self.write_gate:  # let an `index` call in flight commit
            for index in (self._writer, self._reader):
                if index is not None:
                    index.close()
            self._writer = self._reader = None


def hit_record(hit) -> dict:
    """A search result as the tools return it."""
    return {
        "path": hit.path,
        "start_line": hit.start_line,
        "end_line": hit.end_line,
        "page": hit.page,
        "cell": hit.cell,
        "slide": hit.slide,
        "heading": hit.heading or None,
        "score": None if hit.score is None else round(float(hit.score), 4),
        "text": hit.text,
    }


def freshness(index: Index) -> dict:
    """How far the index lags behind the disk: indexed files changed or deleted since."""
    changed: list[str] = []
    missing: list[str] = []
    checked = 0
    for path, record in index.collection.files().items():
        if not os.path.isabs(path):
            continue  # a document id (add_texts), not a file
        checked += 1
        try:
            info = os.stat(path)
        except OSError:
            missing.append(path)
            continue
        if info.st_size != record.size or info.st_mtime_ns != record.mtime_ns:
            changed.append(path)
    return {
        "up_to_date": not changed and not missing,
        "files_checked": checked,
        "changed_since_indexed": len(changed),
        "deleted_since_indexed": len(missing),
        "examples": sorted(changed)[:STALE_EXAMPLES] + sorted(missing)[:STALE_EXAMPLES],
    }
