"""One Embedder over many embedding hosts (each an Ollama or a `semsearch serve`).

`--embedder http://a:11434,http://b:11434`: a call's texts are cut into small batches that
go to whichever host is free, so a fast host takes more of them. A host that fails (refused
or dropped connection, timeout, 5xx) is benched for a while and its batch goes back in the
queue for the others; the call completes while one host answers. Errors every host would
give alike (400: bad input, 404: no such model) end the call at once: retrying elsewhere
cannot help. Order is kept: vectors come back in the order of the texts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from semsearch.embed.base import Embedder, EmbedResult, check_texts
from semsearch.embed.ollama import OllamaEmbedder
from semsearch.errors import EmbedderHTTPError

log = logging.getLogger("semsearch.embed.pool")

DEFAULT_BATCH = 32  # texts per request: small enough that two hosts share a 256-chunk write batch
DEFAULT_BENCH_SECONDS = 30.0
DEFAULT_IN_FLIGHT = 2  # requests per host at once: the next batch is on the wire while one computes


def split_hosts(spec: str) -> list[str]:
    """'http://a:11434, http://b:11434' -> the hosts, in order, without blanks or repeats."""
    hosts: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if part and part not in hosts:
            hosts.append(part)
    return hosts


def host_failure(error: EmbedderHTTPError) -> bool:
    """Whether an error says the host is unwell (try another) rather than the request is wrong."""
    return error.status == 0 or error.status >= 500 or error.status in (408, 429)


@dataclass
class _Batch:
    start: int
    texts: list[str]
    attempts: int = 0


class PooledEmbedder(Embedder):
    """Spreads embedding over several hosts; a failing host is retried elsewhere and benched."""

    def __init__(
        self,
        hosts: Sequence[str],
        model: str = "all-minilm",
        *,
        batch_size: int = DEFAULT_BATCH,
        in_flight: int = DEFAULT_IN_FLIGHT,
        bench_seconds: float = DEFAULT_BENCH_SECONDS,
        max_attempts: int | None = None,
        timeout: float = 120.0,
    ):
        if not hosts:
            raise EmbedderHTTPError("no embedding hosts given", status=0)
        # One quick retry in the client (a dropped keep-alive connection); failover is ours.
        self.members = [
            OllamaEmbedder(host, model, batch_size=batch_size, retries=1, backoff=0.1, timeout=timeout)
            for host in hosts
        ]
        self.model = model
        self.context_length = self.members[0].context_length
        self.batch_size = batch_size
        self.in_flight = max(1, in_flight)
        self.bench_seconds = bench_seconds
        self.max_attempts = max_attempts or len(self.members) + 2
        self._benched_until = [0.0] * len(self.members)
        self.requests_sent = [0] * len(self.members)  # successful batches per host (for tests and --json)
        self._state_lock = threading.Lock()

    @property
    def hosts(self) -> list[str]:
        return [m.client.base_url for m in self.members]

    @property
    def description(self) -> str:
        return f"Ollama API at {len(self.members)} hosts ({', '.join(self.hosts)}) ({self.model})"

    @property
    def dimensions(self) -> int:
        error: EmbedderHTTPError | None = None
        for member in self._by_health():
            try:
                return member.dimensions
            except EmbedderHTTPError as e:
                error = e
        raise error or EmbedderHTTPError("no embedding host answered", status=0)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.members[0].count_tokens(texts)

    def _by_health(self) -> list[OllamaEmbedder]:
        order = sorted(range(len(self.members)), key=lambda i: self._benched_until[i])
        return [self.members[i] for i in order]

    def bench(self, host: int, error: Exception) -> None:
        with self._state_lock:
            already = self._benched_until[host] > time.monotonic()
            self._benched_until[host] = time.monotonic() + self.bench_seconds
        if not already:
            log.warning(
                "semsearch: embedding host %s failed (%s); out of rotation for %gs, its work goes to the others",
                self.hosts[host],
                error,
                self.bench_seconds,
            )

    def embed_result(
        self, texts: Sequence[str], *, truncate: bool = True, dimensions: int | None = None
    ) -> EmbedResult:
        import numpy as np

        texts = check_texts(texts)
        started = time.perf_counter_ns()
        if not texts:
            return EmbedResult(np.zeros((0, 0), np.float32), [0])
        run = _Run(self, texts, truncate=truncate, dimensions=dimensions)
        run.go()
        vectors = np.concatenate([run.results[start] for start in sorted(run.results)])
        return EmbedResult(vectors, [run.tokens], time.perf_counter_ns() - started, run.load)


class _Run:
    """One embed call: a queue of batches and a worker per (host, slot) draining it."""

    def __init__(self, pool: PooledEmbedder, texts: list[str], *, truncate: bool, dimensions: int | None):
        self.pool = pool
        self.truncate = truncate
        self.dimensions = dimensions
        size = pool.batch_size
        self.queue: deque[_Batch] = deque(_Batch(i, texts[i : i + size]) for i in range(0, len(texts), size))
        self.remaining = len(self.queue)
        self.results: dict[int, object] = {}
        self.tokens = 0
        self.load = 0
        self.error: Exception | None = None
        self.cond = threading.Condition()

    def go(self) -> None:
        workers = [
            threading.Thread(target=self.work, args=(host,), name=f"semsearch-embed-{host}", daemon=True)
            for host in range(len(self.pool.members))
            for _ in range(self.pool.in_flight)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if self.error is not None:
            raise self.error

    def finished(self) -> bool:
        return self.error is not None or self.remaining == 0

    def take(self, host: int) -> _Batch | None:
        """The next batch for this host, once it is off the bench; None when the run is over."""
        pool = self.pool
        with self.cond:
            while not self.finished():
                rest = pool._benched_until[host] - time.monotonic()
                if rest <= 0 and self.queue:
                    return self.queue.popleft()
                # Benched, or the queue is empty while other hosts still hold batches (which may come back).
                self.cond.wait(timeout=min(max(rest, 0.05), 0.5))
            return None

    def work(self, host: int) -> None:
        member = self.pool.members[host]
        while (batch := self.take(host)) is not None:
            try:
                result = member.client.embed(
                    batch.texts,
                    member.model,
                    truncate=None if self.truncate else False,
                    dimensions=self.dimensions,
                )
            except EmbedderHTTPError as e:
                self.failed(host, batch, e)
                continue
            except Exception as e:  # a bug or an odd reply: end the call, never hang it
                self.fail(e)
                return
            with self.cond:
                self.results[batch.start] = result.vectors
                self.tokens += result.prompt_eval_count
                self.load += result.load_duration
                self.pool.requests_sent[host] += 1
                self.remaining -= 1
                self.cond.notify_all()

    def failed(self, host: int, batch: _Batch, error: EmbedderHTTPError) -> None:
        if not host_failure(error):
            self.fail(error)  # the request itself is wrong: every host would say the same
            return
        self.pool.bench(host, error)
        with self.cond:
            batch.attempts += 1
            if batch.attempts >= self.pool.max_attempts:
                hosts = ", ".join(self.pool.hosts)
                self.error = EmbedderHTTPError(
                    f"no embedding host could embed a batch after {batch.attempts} tries ({hosts}); "
                    f"last error: {error}",
                    status=error.status,
                )
            else:
                self.queue.appendleft(batch)
            self.cond.notify_all()

    def fail(self, error: Exception) -> None:
        with self.cond:
            if self.error is None:
                self.error = error
            self.cond.notify_all()
