"""Dynamic batching: concurrent requests share one pass through the model.

Ollama serves embedding requests one at a time. Here each request tokenizes its own
inputs (its own truncate / num_ctx), then queues its token ids; one worker thread waits a
few milliseconds for company, runs everything queued through the model together (sorted
by length, so little padding), and hands each request back its own vectors, in order.
The queue is bounded: past it, callers get Ollama's 503. A request cancelled while it waited
(its client went away) is dropped before the model sees it; nothing a job does stops the thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field

import numpy as np

from semsearch.errors import SemsearchError, ServerBusyError

log = logging.getLogger("semsearch.serve")


@dataclass
class _Job:
    embedder: object  # a LocalEmbedder; jobs for different models are run separately
    ids: list[list[int]]
    tokens: int = 0
    future: Future = field(default_factory=Future)


class Batcher:
    """Runs queued jobs through the model on one worker thread."""

    def __init__(
        self,
        *,
        max_pending: int = 512,
        max_batch_requests: int = 64,
        max_batch_inputs: int = 256,
        max_wait_ms: float = 0.0,
        max_pending_tokens: int = 1 << 20,
    ):
        self.max_pending = max_pending
        self.max_pending_tokens = max_pending_tokens
        self.max_batch_requests = max(1, max_batch_requests)  # 1 = one request at a time, as Ollama does
        self.max_batch_inputs = max(1, max_batch_inputs)
        self.max_wait = max_wait_ms / 1000
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        self._pending_tokens = 0
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name="semsearch-batcher", daemon=True)
        self._worker.start()

    def submit(self, embedder, ids: list[list[int]]) -> Future:
        """Queue one request's token ids; the future resolves to its pooled vectors.

        Bounded twice: by requests (Ollama's 503) and by tokens waiting, so a few huge
        requests cannot hold the memory of hundreds. One request over the token bound alone
        could never run: that is a 413, not a "try again".
        """
        tokens = sum(map(len, ids))
        if tokens > self.max_pending_tokens:
            raise SemsearchError(
                f"request too large: {tokens} tokens after truncation, this server queues at most "
                f"{self.max_pending_tokens} (send fewer inputs per request)",
                status=413,
            )
        with self._lock:
            if self._pending >= self.max_pending:
                raise ServerBusyError()
            if self._pending_tokens + tokens > self.max_pending_tokens:
                raise ServerBusyError(
                    "server busy, please try again.  maximum pending requests exceeded "
                    f"(over {self.max_pending_tokens} tokens queued)"
                )
            self._pending += 1
            self._pending_tokens += tokens
        job = _Job(embedder, ids, tokens)
        self._queue.put(job)
        return job.future

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=5)

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        """The first job plus whatever arrives within max_wait, up to the batch size."""
        jobs = [first]
        inputs = len(first.ids)
        deadline = time.monotonic() + self.max_wait
        while inputs < self.max_batch_inputs and len(jobs) < self.max_batch_requests:
            remaining = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            inputs += len(job.ids)
        return jobs, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            jobs, stopping = self._collect(first)
            try:
                self._run_jobs(jobs)
            except Exception as e:  # a bug in one batch must not leave every later request waiting forever
                log.exception("batch failed")
                for job in jobs:
                    if not job.future.done():
                        with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
                            self._finish(job, error=e)

    def _run_jobs(self, jobs: list[_Job]) -> None:
        by_model: dict[int, list[_Job]] = {}
        for job in jobs:
            if not job.future.set_running_or_notify_cancel():  # cancelled while it waited: drop it
                self._release(job)
                continue
            by_model.setdefault(id(job.embedder), []).append(job)
        for group in by_model.values():
            self._run_group(group)

    def _run_group(self, jobs: list[_Job]) -> None:
        try:
            all_ids = [ids for job in jobs for ids in job.ids]
            vectors = jobs[0].embedder.run_ids(all_ids) if all_ids else np.zeros((0, 0), np.float32)
        except Exception as e:  # hand the failure to every waiting request
            for job in jobs:
                self._finish(job, error=e)
            return
        start = 0
        for job in jobs:
            self._finish(job, result=vectors[start : start + len(job.ids)])
            start += len(job.ids)

    def _release(self, job: _Job) -> None:
        with self._lock:
            self._pending -= 1
            self._pending_tokens -= job.tokens

    def _finish(self, job: _Job, result=None, error: Exception | None = None) -> None:
        """Hand a running job its vectors or error (a running future cannot be cancelled any more)."""
        self._release(job)
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)
