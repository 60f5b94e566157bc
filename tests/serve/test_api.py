"""A real `semsearch serve` speaks Ollama's embedding API, checked with the official client."""

from __future__ import annotations

import base64
import math
import signal
import threading
import time

import numpy as np
import ollama
import pytest
import requests

from tests.conftest import running_server, server_output, server_process

SKY = [0.010071029, -0.0017594862, 0.05007221, 0.04692972, 0.054916814,
       0.008599704, 0.105441414, -0.025878139, 0.12958129, 0.031952348]  # fmt: skip
GRASS = [-0.0098027075, 0.06042469, 0.025257962, -0.006364387, 0.07272725,
         0.017194884, 0.09032035, -0.051705178, 0.09951512, 0.09072481]  # fmt: skip
LONG = "word " * 1000


@pytest.fixture(scope="module")
def client(live_server):
    return ollama.Client(host=live_server)


def test_embed_single_matches_the_reference_vector(client):
    reply = client.embed(model="all-minilm", input="Why is the sky blue?")
    assert reply.model == "all-minilm"
    assert len(reply.embeddings) == 1 and len(reply.embeddings[0]) == 384
    assert reply.embeddings[0][:10] == pytest.approx(SKY, abs=1e-3)
    assert reply.prompt_eval_count == 8
    assert math.isclose(float(np.linalg.norm(reply.embeddings[0])), 1.0, abs_tol=1e-5)


def test_embed_batch_keeps_order(client):
    reply = client.embed(model="all-minilm:latest", input=["Why is the sky blue?", "Why is the grass green?"])
    assert reply.embeddings[0][:10] == pytest.approx(SKY, abs=1e-3)
    assert reply.embeddings[1][:10] == pytest.approx(GRASS, abs=1e-3)
    assert reply.prompt_eval_count == 16 and reply.total_duration > 0


def test_legacy_embeddings_returns_one_unnormalized_vector(client):
    vector = client.embeddings(model="all-minilm", prompt="Why is the sky blue?").embedding
    norm = float(np.linalg.norm(vector))
    assert len(vector) == 384 and not math.isclose(norm, 1.0, abs_tol=1e-3)
    assert (np.array(vector[:10]) / norm).tolist() == pytest.approx(SKY, abs=1e-3)


def test_unknown_model_is_a_404_response_error(client):
    with pytest.raises(ollama.ResponseError) as info:
        client.embed(model="no-such-model", input="hi")
    assert info.value.status_code == 404
    assert info.value.error == 'model "no-such-model" not found, try pulling it first'


def test_over_long_input_without_truncation_is_a_400(client):
    with pytest.raises(ollama.ResponseError) as info:
        client.embed(model="all-minilm", input=LONG, truncate=False)
    assert info.value.status_code == 400
    assert info.value.error == "the input length exceeds the context length"


def test_truncation_and_num_ctx_follow_the_request(client):
    default = client.embed(model="all-minilm", input=LONG)
    assert default.prompt_eval_count == 256
    short = client.embed(model="all-minilm", input=LONG, options={"num_ctx": 64})
    assert short.prompt_eval_count == 64
    assert not np.allclose(default.embeddings[0], short.embeddings[0], atol=1e-3)


def test_dimensions_cuts_and_renormalizes(client):
    reply = client.embed(model="all-minilm", input="Why is the sky blue?", dimensions=8)
    vector = np.array(reply.embeddings[0])
    assert vector.shape == (8,) and math.isclose(float(np.linalg.norm(vector)), 1.0, abs_tol=1e-5)
    full = np.array(SKY[:8])
    assert vector == pytest.approx(full / np.linalg.norm(full), abs=2e-3)


def test_openai_embeddings_float_and_base64_agree(live_server):
    body = {"model": "all-minilm", "input": ["Why is the sky blue?", "Why is the grass green?"]}
    floats = requests.post(f"{live_server}/v1/embeddings", json=body).json()
    encoded = requests.post(f"{live_server}/v1/embeddings", json={**body, "encoding_format": "base64"}).json()
    assert floats["object"] == "list" and floats["usage"] == {"prompt_tokens": 16, "total_tokens": 16}
    assert [d["index"] for d in floats["data"]] == [0, 1]
    decoded = np.frombuffer(base64.b64decode(encoded["data"][1]["embedding"]), dtype="<f4")
    assert decoded.tolist() == pytest.approx(floats["data"][1]["embedding"], abs=1e-7)
    assert floats["data"][0]["embedding"][:10] == pytest.approx(SKY, abs=1e-3)


@pytest.mark.parametrize(
    "path, body, status, error",
    [
        ("/api/embed", b"", 400, "missing request body"),
        ("/api/embed", b'{"model": "all-minilm", "input": [1, 2]}', 400, "invalid input type"),
        ("/api/embed", b'{"input": "hi"}', 404, "model '' not found"),
        ("/api/embed", b'{"model": "nope", "input": "hi"}', 404, 'model "nope" not found, try pulling it first'),
        ("/api/embeddings", b'{"prompt": "hi"}', 400, "model is required"),
        ("/api/show", b'{"model": "nope"}', 404, "model 'nope' not found"),
        ("/api/show", b"{}", 400, "model is required"),
    ],
)
def test_documented_errors(live_server, path, body, status, error):
    reply = requests.post(live_server + path, data=body)
    assert reply.status_code == status
    assert reply.json() == {"error": error}


def test_invalid_json_is_a_400_with_the_decoder_message(live_server):
    reply = requests.post(f"{live_server}/api/embed", data=b"{not json")
    assert reply.status_code == 400 and "line 1 column 2" in reply.json()["error"]


def test_unknown_route_is_plain_text_404(live_server):
    reply = requests.get(f"{live_server}/api/nothing-here")
    assert reply.status_code == 404 and reply.text == "404 page not found"


def test_openai_errors_have_the_openai_shape(live_server):
    reply = requests.post(f"{live_server}/v1/embeddings", json={"model": "all-minilm", "input": []})
    assert reply.status_code == 400
    assert reply.json() == {
        "error": {"message": "invalid input", "type": "invalid_request_error", "param": None, "code": None}
    }
    reply = requests.post(f"{live_server}/v1/embeddings", json={"model": "nope", "input": "x"})
    assert reply.status_code == 404 and reply.json()["error"]["type"] == "not_found_error"


def test_discovery_endpoints(live_server):
    assert requests.get(live_server + "/").text == "Ollama is running"
    assert requests.head(live_server + "/").status_code == 200
    assert requests.get(f"{live_server}/api/version").json()["version"]
    names = [m["name"] for m in requests.get(f"{live_server}/api/tags").json()["models"]]
    assert "all-minilm:latest" in names and "all-minilm:int8" in names
    show = requests.post(f"{live_server}/api/show", json={"model": "all-minilm"}).json()
    assert "embedding" in show["capabilities"]


def test_int8_tag_is_served_and_shown_as_quantized(client, live_server):
    reply = client.embed(model="all-minilm:int8", input="Why is the sky blue?")
    assert reply.model == "all-minilm:int8" and len(reply.embeddings[0]) == 384
    fp32 = client.embed(model="all-minilm", input="Why is the sky blue?").embeddings[0]
    assert 0.99 < float(np.dot(reply.embeddings[0], fp32)) < 0.99999
    show = requests.post(f"{live_server}/api/show", json={"model": "all-minilm:int8"}).json()
    assert show["details"]["quantization_level"] == "Q8_0"


def test_request_body_over_the_limit_is_a_413():
    with running_server("--max-body", "1k") as url:
        reply = requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": "x" * 5000})
        assert reply.status_code == 413 and "too large" in reply.json()["error"]


def test_keep_alive_loads_on_first_use_and_unloads():
    with running_server() as url:
        assert requests.get(f"{url}/api/ps").json() == {"models": []}
        preload = requests.post(f"{url}/api/embed", json={"model": "all-minilm"}).json()
        assert preload["embeddings"] == [] and preload["load_duration"] > 0
        running = requests.get(f"{url}/api/ps").json()["models"]
        assert [m["name"] for m in running] == ["all-minilm:latest"] and running[0]["expires_at"]
        again = requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": "hi", "keep_alive": 0}).json()
        assert again["load_duration"] > 0  # already loaded, yet reported on every non-empty reply, as Ollama does
        assert requests.get(f"{url}/api/ps").json() == {"models": []}  # keep_alive 0 unloads after the request
        requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": "hi", "keep_alive": "1s"})
        assert requests.get(f"{url}/api/ps").json()["models"]
        deadline = time.monotonic() + 10
        while requests.get(f"{url}/api/ps").json()["models"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert requests.get(f"{url}/api/ps").json() == {"models": []}  # idle past keep_alive


def test_concurrent_requests_each_get_their_own_vectors(live_server):
    texts = [f"sentence number {i} about {['cats', 'dogs', 'birds', 'fish'][i % 4]}" * (1 + i % 5) for i in range(24)]
    expected = {}
    for text in texts:
        reply = requests.post(f"{live_server}/api/embed", json={"model": "all-minilm", "input": text})
        expected[text] = np.array(reply.json()["embeddings"][0])
    results: dict[str, np.ndarray] = {}

    def worker(chunk):
        for text in chunk:
            reply = requests.post(f"{live_server}/api/embed", json={"model": "all-minilm", "input": [text, "pad"]})
            results[text] = np.array(reply.json()["embeddings"][0])

    threads = [threading.Thread(target=worker, args=(texts[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for text in texts:
        assert float(results[text] @ expected[text]) > 0.99999


def test_queue_full_is_a_503_with_ollamas_message():
    with running_server("--max-queue", "1", "--max-batch", "1") as url:
        statuses: list[int] = []
        bodies: list[dict] = []

        def send():
            reply = requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": [LONG] * 16})
            statuses.append(reply.status_code)
            bodies.append(reply.json())

        threads = [threading.Thread(target=send) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 200 in statuses and 503 in statuses
        busy = [b for s, b in zip(statuses, bodies, strict=True) if s == 503]
        assert busy[0] == {"error": "server busy, please try again.  maximum pending requests exceeded"}


def test_sigterm_lets_in_flight_requests_finish():
    with server_process() as (url, process):
        requests.post(f"{url}/api/embed", json={"model": "all-minilm"})  # load the model first
        outcome: dict = {}

        def slow_request():
            reply = requests.post(f"{url}/api/embed", json={"model": "all-minilm", "input": [LONG] * 48})
            outcome["status"], outcome["count"] = reply.status_code, len(reply.json()["embeddings"])

        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.3)  # the request is being embedded
        process.send_signal(signal.SIGTERM)
        thread.join(60)
        assert outcome == {"status": 200, "count": 48}
        # Stopped by a signal: 128 + its number, as shells report it (143 for SIGTERM).
        assert process.wait(30) == 128 + signal.SIGTERM
        assert "Traceback" not in server_output(process)
