"""Serve row: 8 concurrent clients sending single short texts, dynamic batching vs one request at a time.

    python benchmarks/bench_serve.py [--quick]

Both servers are real `semsearch serve` subprocesses, measured one after the other in the same run.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402
from common import Row, doc_texts, main, median_time  # noqa: E402

CLIENTS = 8


def start_server(*args: str) -> tuple[str, subprocess.Popen]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "semsearch", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            requests.get(url, timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": "warm up"})
    return url, process


def requests_per_second(url: str, texts: list[str], per_client: int) -> float:
    def client(offset: int) -> None:
        with requests.Session() as session:
            for i in range(per_client):
                text = texts[(offset * per_client + i) % len(texts)]
                session.post(f"{url}/api/embed", json={"model": "all-minilm", "input": text}).raise_for_status()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return CLIENTS * per_client / (time.perf_counter() - started)


def model_ceiling(texts: list[str], repeats: int) -> tuple[float, float]:
    """Texts/s of the in-process model, one text per call and batched: the most batching can give here."""
    from semsearch.embed.local import LocalEmbedder

    embedder = LocalEmbedder()
    ids = embedder.prepare(texts)
    embedder.run_ids(ids[:16])  # load and warm up
    one = median_time(lambda: [embedder.run_ids([x]) for x in ids], repeats)
    batched = median_time(lambda: embedder.run_ids(ids), repeats)
    return len(ids) / batched, len(ids) / one


def run(quick: bool = False) -> list[Row]:
    per_client = 10 if quick else 40
    repeats = 1 if quick else 3
    workloads = {
        "short texts (8-20 words)": doc_texts(256, 8, 20),  # a query stream: HTTP-bound on 2 cores
        "paragraphs (60-120 words)": doc_texts(256, 60, 120),  # document chunks: model-bound
    }
    rates: dict[tuple[str, str], float] = {}
    for label, args in (("batched", ()), ("one at a time", ("--max-batch", "1"))):
        url, process = start_server(*args)
        try:
            for workload, texts in workloads.items():
                runs = [requests_per_second(url, texts, per_client) for _ in range(repeats)]
                rates[label, workload] = statistics.median(runs)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    rows = []
    for workload, texts in workloads.items():
        batched, one = model_ceiling(texts, repeats)
        rows += [
            Row(f"serve: 8 clients, {workload}, dynamic batching vs one at a time", rates["batched", workload],
                rates["one at a time", workload], "req/s", ">= 3x"),
            Row(f"serve ceiling: in-process model, {workload}, batched vs one text per call", batched, one,
                "texts/s", "bounds the row above", note="no HTTP: the most batching can gain on this CPU"),
        ]  # fmt: skip
    return rows


if __name__ == "__main__":
    main(run, __doc__)
