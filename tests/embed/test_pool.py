"""Many embed hosts: real `semsearch serve` processes share the work; a killed one is routed around."""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from semsearch.embed import get_embedder
from semsearch.embed.ollama import OllamaEmbedder
from semsearch.embed.pool import PooledEmbedder, split_hosts
from semsearch.errors import EmbedderHTTPError
from semsearch.index import Index
from tests.conftest import free_port, server_output, server_process
from tests.distributed.compare import assert_same_index

DATA = Path(__file__).resolve().parents[2] / "data"
EMBED_LINE = re.compile(r"POST /api/embed 200 inputs=(\d+)")


def test_a_comma_separated_spec_gives_a_pool_and_one_host_stays_plain():
    pool = get_embedder("http://127.0.0.1:1, http://127.0.0.1:2,", model="all-minilm")
    assert isinstance(pool, PooledEmbedder)
    assert pool.hosts == ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    assert type(get_embedder("http://127.0.0.1:1,", model="all-minilm")) is OllamaEmbedder
    assert split_hosts(" a ,b,a,, ") == ["a", "b"]
    with pytest.raises(EmbedderHTTPError, match="no embedding hosts given"):
        get_embedder(",", model="all-minilm")


def test_a_dead_host_is_benched_and_the_live_one_does_everything(live_server):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    texts = [f"sentence number {i} about tides" for i in range(40)]
    pool = PooledEmbedder([dead, live_server], batch_size=4, bench_seconds=600)
    vectors = pool.embed(texts)
    expected = OllamaEmbedder(live_server).embed(texts)
    assert vectors.shape == expected.shape
    assert np.allclose(vectors, expected, atol=1e-5)  # order kept across batches and hosts
    assert pool.requests_sent == [0, 10]


def test_every_host_down_is_one_error_naming_them():
    hosts = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    pool = PooledEmbedder(hosts, bench_seconds=0.05)
    with pytest.raises(EmbedderHTTPError, match=r"no embedding host could embed a batch after 4 tries") as caught:
        pool.embed(["hello"])
    assert all(h in str(caught.value) for h in hosts)


def test_a_request_every_host_would_refuse_fails_at_once_without_benching(live_server):
    pool = PooledEmbedder([live_server, live_server + "/"], "no-such-model")
    with pytest.raises(EmbedderHTTPError, match="404"):
        pool.embed(["hello"])
    assert pool._benched_until == [0.0, 0.0]


@pytest.mark.slow
def test_two_serve_hosts_share_the_work_and_one_killed_mid_run_loses_nothing(tmp_path):
    reference = tmp_path / "local"
    with Index(reference, embedder="local") as idx:
        idx.add([DATA])

    killed = threading.Event()
    with server_process() as (url_a, proc_a), server_process() as (url_b, proc_b):
        pool = PooledEmbedder([url_a, url_b], batch_size=16, bench_seconds=600)
        at_kill: list[int] = []

        def kill_a_once_it_has_worked() -> None:
            while not killed.is_set():
                if pool.requests_sent[0] >= 2 and pool.requests_sent[1] >= 1:
                    proc_a.send_signal(signal.SIGKILL)  # with requests of the run still queued or in flight
                    at_kill.extend(pool.requests_sent)
                    killed.set()
                time.sleep(0.005)

        watcher = threading.Thread(target=kill_a_once_it_has_worked, daemon=True)
        watcher.start()
        try:
            with Index(tmp_path / "pooled", embedder=pool) as idx:
                report = idx.add([DATA])
        finally:
            killed.set()
            watcher.join()
        assert at_kill, "host A was never killed: the run was too short to test failover"
        proc_a.wait(10)
        log_a, log_b = server_output(proc_a), server_output(proc_b)

    assert report.failed == 0 and report.chunks_embedded > 0
    # Both hosts served embeddings (their own access logs say so), and B took over after A died.
    served_a = sum(int(n) for n in EMBED_LINE.findall(log_a))
    served_b = sum(int(n) for n in EMBED_LINE.findall(log_b))
    assert served_a > 0 and served_b > 0
    assert pool.requests_sent[1] > at_kill[1], "host B did no work after A was killed"
    assert pool.requests_sent[0] == at_kill[0], "the dead host is still counted as serving"
    # Nothing lost: the same files, chunks and vectors as a clean local run.
    assert_same_index(reference, tmp_path / "pooled")
