"""Bad input to a real `semsearch serve` is a 4xx with Ollama's JSON error, never a 5xx; caps hold."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from tests.conftest import running_server
from tests.serve.test_api import LONG, SKY

DEEP = b"[" * 20_000 + b"]" * 20_000


def embed(url: str, **body) -> requests.Response:
    return requests.post(f"{url}/api/embed", json={"model": "all-minilm", **body})


# -- 11: no 5xx on bad input ----------------------------------------------------------------------


def test_huge_keep_alive_is_forever_and_ps_still_answers(live_server):
    for keep_alive in [1e12, "1e12", -1, "-5m", "99999999999h", 10**30]:
        assert embed(live_server, input="hi", keep_alive=keep_alive).status_code == 200
        reply = requests.get(f"{live_server}/api/ps")
        assert reply.status_code == 200
        expires = reply.json()["models"][0]["expires_at"]
        assert datetime.fromisoformat(expires.replace("Z", "+00:00")).year > 2100, keep_alive
    embed(live_server, input="hi")  # back to the default 5m


def test_keep_alive_past_float_range_is_forever(live_server):
    body = b'{"model": "all-minilm", "input": "hi", "keep_alive": 1' + b"0" * 400 + b"}"
    assert requests.post(f"{live_server}/api/embed", data=body).status_code == 200
    assert requests.get(f"{live_server}/api/ps").status_code == 200


@pytest.mark.parametrize("keep_alive", ["nan", "NaN", "inf5m", [], {}, True, "5 minutes"])
def test_unreadable_keep_alive_is_a_400(live_server, keep_alive):
    reply = embed(live_server, input="hi", keep_alive=keep_alive)
    assert reply.status_code == 400
    named = f" {keep_alive!r}" if isinstance(keep_alive, str) else ""
    assert reply.json()["error"] in (
        f"invalid keep_alive{named}: use a duration like '5m' or a number of seconds",
        "keep_alive must be a duration like '5m' or a number of seconds",
    )


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(live_server, literal):
    reply = requests.post(f"{live_server}/api/embed", data=b'{"model": "all-minilm", "keep_alive": ' + literal + b"}")
    assert reply.status_code == 400 and "invalid JSON value" in reply.json()["error"]


@pytest.mark.parametrize("dimensions", ["8", 8.5, True, [8], {"n": 8}])
def test_openai_dimensions_of_the_wrong_type_is_a_400(live_server, dimensions):
    reply = requests.post(
        f"{live_server}/v1/embeddings", json={"model": "all-minilm", "input": "x", "dimensions": dimensions}
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == {
        "message": "dimensions must be an integer",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


@pytest.mark.parametrize("path", ["/api/embed", "/v1/embeddings", "/api/embeddings", "/api/show"])
def test_a_body_nested_20000_deep_is_a_400(live_server, path):
    for body in (DEEP, b'{"model": "all-minilm", "input": ' + DEEP + b"}"):
        reply = requests.post(live_server + path, data=body)
        assert reply.status_code == 400
        error = reply.json()["error"]
        assert (error["message"] if path.startswith("/v1") else error) == "invalid JSON: nested too deeply"


@pytest.mark.parametrize("path", ["/api/embeddings", "/v1/embeddings", "/api/show"])
def test_a_model_that_is_not_a_string_is_a_400(live_server, path):
    reply = requests.post(live_server + path, json={"model": [[["all-minilm"]]], "input": "x", "prompt": "x"})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert (error["message"] if path.startswith("/v1") else error) == "model must be a string"


def test_lone_surrogates_are_replaced_not_a_500(live_server):
    reply = requests.post(
        f"{live_server}/api/embed", data=b'{"model": "all-minilm", "input": ["a\\ud800b", "\\udfff"]}'
    )
    assert reply.status_code == 200 and len(reply.json()["embeddings"]) == 2
    reply = requests.post(f"{live_server}/api/embed", data=b'{"model": "x\\ud800", "input": "hi"}')
    assert reply.status_code == 404 and reply.json() == {"error": 'model "x\ufffd" not found, try pulling it first'}


@pytest.mark.parametrize("options", [[1], "num_ctx=8", 5])
def test_options_that_are_not_an_object_are_a_400(live_server, options):
    reply = embed(live_server, input="hi", options=options)
    assert reply.status_code == 400 and reply.json() == {"error": "options must be a JSON object"}


# -- 12: Ollama's own behaviour ------------------------------------------------------------------


def test_truncate_null_means_true(live_server):
    reply = embed(live_server, input=LONG, truncate=None)
    assert reply.status_code == 200 and reply.json()["prompt_eval_count"] == 256
    assert reply.json()["embeddings"] == embed(live_server, input=LONG).json()["embeddings"]


@pytest.mark.parametrize("dimensions, length", [(0, 384), (-5, 384), (384, 384), (10_000, 384), (383, 383), (1, 1)])
def test_dimensions_outside_1_to_n_minus_1_are_ignored(live_server, dimensions, length):
    reply = embed(live_server, input="Why is the sky blue?", dimensions=dimensions)
    assert reply.status_code == 200
    vector = reply.json()["embeddings"][0]
    assert len(vector) == length and float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)
    if length == 384:
        assert vector[:10] == pytest.approx(SKY, abs=1e-3)
    openai = requests.post(
        f"{live_server}/v1/embeddings", json={"model": "all-minilm", "input": "x", "dimensions": dimensions}
    )
    assert openai.status_code == 200 and len(openai.json()["data"][0]["embedding"]) == length


def test_load_duration_is_on_every_non_empty_response(live_server):
    embed(live_server, input="warm up")
    for _ in range(3):
        reply = embed(live_server, input=["one", "two"]).json()
        assert reply["load_duration"] > 0 and reply["total_duration"] >= reply["load_duration"]


def test_num_ctx_1_embeds_the_first_word(live_server):
    cut = embed(live_server, input="why is the sky blue?", options={"num_ctx": 1}).json()
    why = embed(live_server, input="why").json()
    assert cut["prompt_eval_count"] == 3 == why["prompt_eval_count"]
    assert cut["embeddings"][0] == pytest.approx(why["embeddings"][0], abs=1e-6)
    refused = embed(live_server, input="why is the sky blue?", options={"num_ctx": 1}, truncate=False)
    assert refused.status_code == 400 and refused.json() == {"error": "the input length exceeds the context length"}


# -- 10: caps ------------------------------------------------------------------------------------


def test_too_many_inputs_is_a_413():
    with running_server("--max-inputs", "3") as url:
        assert embed(url, input=["a", "b", "c"]).status_code == 200
        reply = embed(url, input=["a", "b", "c", "d"])
        assert reply.status_code == 413
        assert reply.json() == {
            "error": "too many inputs: 4 in one request, this server takes at most 3 (send them in several requests)"
        }
        openai = requests.post(f"{url}/v1/embeddings", json={"model": "all-minilm", "input": ["a"] * 4})
        assert openai.status_code == 413 and openai.json()["error"]["type"] == "invalid_request_error"


def test_tokens_queued_are_capped():
    with running_server("--max-queued-tokens", "1100") as url:
        alone = embed(url, input=[LONG] * 5)  # 5 x 256 tokens: could never run under the cap
        assert alone.status_code == 413
        assert alone.json()["error"].startswith("request too large: 1280 tokens after truncation")
        statuses, errors = [], []

        def send():
            reply = embed(url, input=[LONG] * 4)  # 1024 tokens each: one at a time fits
            statuses.append(reply.status_code)
            errors.append(reply.json().get("error"))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 200 in statuses and 503 in statuses and set(statuses) <= {200, 503}
        assert "maximum pending requests exceeded (over 1100 tokens queued)" in next(e for e in errors if e)
        assert embed(url, input="Why is the sky blue?").json()["embeddings"][0][:10] == pytest.approx(SKY, abs=1e-3)


def test_bodies_held_in_memory_are_capped():
    """A slow upload holds its bytes; a second body that would pass the budget gets 503 at once."""
    with running_server("--max-body", "2k", "--max-pending-bytes", "3k") as url:
        parts = urlsplit(url)
        body = b'{"model": "all-minilm", "input": "' + b"x" * 1950 + b'"}'
        with socket.create_connection((parts.hostname, parts.port)) as slow:
            head = f"POST /api/embed HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {len(body)}\r\n\r\n"
            slow.sendall(head.encode() + body[:1900])
            time.sleep(0.5)  # the server has read (and holds) 1900 bytes
            busy = requests.post(f"{url}/api/embed", data=b'{"model": "all-minilm", "input": "' + b"y" * 1500 + b'"}')
            assert busy.status_code == 503
            assert busy.json()["error"].startswith("server busy, please try again.  maximum pending requests exceeded")
            slow.sendall(body[1900:])
            answer = slow.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200")
        assert embed(url, input="y" * 1500).status_code == 200  # the budget was given back


def test_failed_embedding_is_a_400(monkeypatch):
    """The model cannot be made to fail on demand through a real server: drive the app in-process."""
    from starlette.testclient import TestClient

    from semsearch.embed.local import LocalEmbedder
    from semsearch.serve.app import create_app

    def broken(self, ids):
        raise RuntimeError("onnxruntime refused the batch")

    monkeypatch.setattr(LocalEmbedder, "run_ids", broken)
    with TestClient(create_app()) as client:
        reply = client.post("/api/embed", json={"model": "all-minilm", "input": "hi"})
        assert reply.status_code == 400
        assert reply.json() == {"error": "failed to generate embeddings: RuntimeError: onnxruntime refused the batch"}
