"""A request cancelled while it waits for the model (its client left) must not stop the server answering."""

from __future__ import annotations

import threading
import time

import numpy as np
import requests

from semsearch.serve.batcher import Batcher
from tests.conftest import server_output, server_process

LONG = "word " * 1000


class GatedModel:
    """Stands in for the model: each run waits for the test to open the gate (so a job can be cancelled meanwhile)."""

    def __init__(self):
        self.gate = threading.Event()
        self.running = threading.Event()
        self.runs: list[list[list[int]]] = []

    def run_ids(self, ids: list[list[int]]) -> np.ndarray:
        self.runs.append(ids)
        self.running.set()
        self.gate.wait(30)
        return np.ones((len(ids), 4), np.float32)


def test_a_cancelled_job_is_dropped_and_the_batcher_keeps_serving():
    batcher = Batcher(max_batch_requests=1)
    model = GatedModel()
    try:
        first = batcher.submit(model, [[1, 2]])
        assert model.running.wait(10)
        waiting = batcher.submit(model, [[3]])
        assert waiting.cancel()  # its client went away while the model was busy
        model.gate.set()
        assert first.result(10).shape == (1, 4)
        after = batcher.submit(model, [[4]])
        assert after.result(10).shape == (1, 4)
        assert model.runs == [[[1, 2]], [[4]]]  # the cancelled job never reached the model
        more = [batcher.submit(model, [[5]]) for _ in range(3)]  # its slot in the queue was given back
        assert [f.result(10).shape for f in more] == [(1, 4)] * 3
    finally:
        model.gate.set()
        batcher.close()


def test_a_client_that_leaves_mid_request_leaves_the_server_answering():
    """Real server: a request that gives up (short timeout) while the model is busy is dropped (499)."""
    with server_process("--max-batch", "1") as (url, process):
        assert requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": "warm"}, timeout=60).ok
        busy: dict = {}

        def long_request() -> None:
            reply = requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": [LONG] * 32}, timeout=120)
            busy["status"] = reply.status_code

        thread = threading.Thread(target=long_request)
        thread.start()
        gave_up = False
        while not gave_up and thread.is_alive():  # until one request waited behind the long one, and gave up
            time.sleep(0.2)
            try:
                requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": "gone"}, timeout=0.5)
            except requests.Timeout:
                gave_up = True
        assert gave_up, "no request had to wait for the model"
        thread.join(120)
        assert busy == {"status": 200}
        after = requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": "still there?"}, timeout=30)
        assert after.status_code == 200 and len(after.json()["embeddings"]) == 1
        log = server_output(process)
        assert " 499 " in log and "Traceback" not in log, log
